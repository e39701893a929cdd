"""Scores and the retrieval baseline of the translation task.

**Scores** (:func:`bleu_chrf`): sacrebleu's corpus BLEU (13a tokenisation, case-sensitive) and chrF
of the detokenised outputs against the one reference of each test pair.

**Retrieval** (:class:`~rnnlab.tasks.retrieval.Retrieval`, shared with the G2P task): translate a
Chinese sentence by the English side of the training pair whose Chinese side is most similar.
"""
from __future__ import annotations

from typing import Sequence

from ...errors import InputError
from ..retrieval import Retrieval  # noqa: F401  (the task's baseline; defined with the shared tasks code)


def bleu_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """``{"bleu", "chrf"}`` (sacrebleu, 0–100) of detokenised hypotheses against one reference each."""
    try:
        import sacrebleu
    except ImportError:
        raise InputError("scoring needs sacrebleu: pip install \"sacrebleu>=2.3\" "
                         "(part of rnnlab's test extra)") from None
    if len(hypotheses) != len(references):
        raise InputError(f"bleu_chrf: {len(hypotheses)} hypotheses, {len(references)} references")
    refs = [list(references)]
    return {"bleu": float(sacrebleu.corpus_bleu(list(hypotheses), refs).score),
            "chrf": float(sacrebleu.corpus_chrf(list(hypotheses), refs).score)}
