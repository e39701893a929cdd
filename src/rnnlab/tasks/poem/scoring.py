"""How the poem model and its baselines are scored: nats per target character, on exactly the same
targets — every character of a poem's text (punctuation included) and its ``<eos>``.

The model: log-softmax of its logits at every real (unmasked) target, computed a few poems at a
time (the whole validation or test set at once would be a ``poems × 65 × vocabulary`` array of
gigabytes). :class:`ValidationLoss` logs that as ``val_loss`` after every epoch.

The n-gram baselines count on the training poems only, laid out as one stream
``<bos> poem <eos> <bos> poem <eos> …`` with ``n - 1`` ``<bos>`` before each poem for an n-gram;
a test poem is scored in the same layout, at the positions that are the model's targets (all
but the ``<bos>``). Every context an n-gram sees then lies inside its own poem (or is
``<bos>``): the first character is predicted from ``<bos>`` alone, never from the poem before it.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...callbacks import Callback
from ...data.text import Vocabulary
from ...ngram import KneserNey, unigram_log_probs


def target_log_probs(model, x: np.ndarray, y: np.ndarray, mask: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """log p(target) in nats at every True of ``mask``, in row-major order (poem by poem): 1-D float64.

    Poems are scored shortest first, ``batch_size`` at a time, each batch cut to its longest poem.
    """
    x, y, mask = np.asarray(x), np.asarray(y), np.asarray(mask, dtype=bool)
    lengths = mask.sum(axis=1)
    out = np.zeros(mask.shape, dtype=np.float64)
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        T = int(lengths[rows].max())
        if T == 0:
            continue
        z = model.predict(x[rows, :T], mask=mask[rows, :T], logits=True, batch_size=len(rows))
        top = z.max(axis=-1, keepdims=True)
        log_norm = np.log(np.exp(z - top).sum(axis=-1, dtype=np.float64)) + top[..., 0]
        picked = np.take_along_axis(z, y[rows, :T, None], axis=-1)[..., 0].astype(np.float64)
        out[rows, :T] = picked - log_norm
    return out[mask]


def mean_nats(model, x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    """Mean nats per target character (the masked cross-entropy, computed in small batches)."""
    return float(-target_log_probs(model, x, y, mask).mean())


class ValidationLoss(Callback):
    """Adds ``val_loss`` (mean nats per validation target) to each epoch's logs; put it before an
    :class:`~rnnlab.callbacks.EarlyStopping` that monitors it."""

    def __init__(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> None:
        self.x, self.y, self.mask = x, y, mask

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        logs["val_loss"] = mean_nats(self.model, self.x, self.y, self.mask)


def poem_stream(vocab: Vocabulary, texts: Sequence[str], context: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``context`` × ``<bos>``, then text, then ``<eos>``, for every text, one after the other; and
    the mask of the positions the language model predicts (every position but the ``<bos>``)."""
    lead = np.full(max(int(context), 1) - 1, vocab.bos_id, dtype=np.int64)
    pieces = [np.r_[lead, vocab.encode(t, bos=True, eos=True)] for t in texts]
    ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    return ids, ids != vocab.bos_id


def ngram_baselines(vocab: Vocabulary, texts: dict[str, Sequence[str]], max_order: int = 3) -> dict[str, Any]:
    """Add-one unigram and interpolated Kneser–Ney n-grams (n = 2 … ``max_order``), counted on
    ``texts["train"]``, scored on ``texts["val"]`` and ``texts["test"]``: nats per target, perplexity."""
    V = len(vocab)
    train_ids, train_targets = poem_stream(vocab, texts["train"])
    streams = {part: poem_stream(vocab, texts[part]) for part in ("val", "test")}
    log_probs: dict[str, dict[str, np.ndarray]] = {"unigram_add_one": {}}
    for part, (ids, targets) in streams.items():
        log_probs["unigram_add_one"][part] = unigram_log_probs(train_ids[train_targets], ids[targets], V)
    for n in range(2, max_order + 1):
        kn = KneserNey(n, V).fit(poem_stream(vocab, texts["train"], n - 1)[0])
        log_probs[f"kneser_ney_{n}gram"] = {}
        for part in ("val", "test"):
            ids, targets = poem_stream(vocab, texts[part], n - 1)
            log_probs[f"kneser_ney_{n}gram"][part] = kn.log_probs(ids)[targets]
    out: dict[str, Any] = {}
    for name, parts in log_probs.items():
        out[name] = {}
        for part, lp in parts.items():
            nats = float(-lp.mean())
            out[name].update({f"{part}_nats": nats, f"{part}_perplexity": float(np.exp(nats))})
    grams = [k for k in out if k.startswith("kneser")]
    if grams:
        best = min(grams, key=lambda k: out[k]["val_nats"])
        out["best_ngram_by_validation"] = {"name": best, **out[best]}
    out["targets_scored"] = {part: int(targets.sum()) for part, (_, targets) in streams.items()}
    return out
