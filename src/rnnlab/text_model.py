"""``TextModel``: a :class:`~rnnlab.Sequential` over token ids that carries its :class:`Vocabulary`.

The vocabulary is saved inside the model folder (``extras/vocabulary.json``) and comes back with
``rnnlab.load``, so a saved language model turns text into ids and generated ids into text on
its own. :func:`language_model` builds the usual stack — token input (embedding or the
lecture's one-hot), ``layers`` recurrent layers returning every step, a dense layer with one
logit per token — trained with softmax cross-entropy on the next token at every step.

>>> from rnnlab.data.text import Vocabulary
>>> from rnnlab.text_model import language_model
>>> vocab = Vocabulary.from_text("hello", specials=())
>>> model = language_model(vocab, "rnn", 8, embedding_dim=None, seed=0)   # one-hot input
>>> [type(l).__name__ for l in model.layers]
['OneHot', 'SimpleRNN', 'Dense']
>>> len(model.sample("h", length=4, seed=1)[0])        # the prime and 4 generated characters
5
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .builders import stacked_rnn
from .data.text import VOCAB_FILE, Vocabulary
from .errors import InputError, ModelFileError
from .generation import Constraints, Sampling, SequenceStepper, generate
from .layers.base import Layer
from .layers.dense import Dense
from .layers.embedding import Embedding
from .layers.onehot import OneHot
from .sequential import Sequential


class TextModel(Sequential):
    """Layers over token ids ``(batch, time)``, and the vocabulary those ids come from.

    Args:
        layers: the layers (the first reads ids: :class:`Embedding` or :class:`OneHot`).
        vocab: the vocabulary (saved and loaded with the model).
        seed, dtype: as for :class:`~rnnlab.Sequential`.
    """

    def __init__(self, layers: Sequence[Layer], vocab: Vocabulary | None = None, input_size: int | None = None,
                 seed: int = 0, dtype: str | np.dtype = "float32") -> None:
        super().__init__(layers, input_size=input_size, seed=seed, dtype=dtype)
        if not getattr(self.layers[0], "takes_ids", False):
            raise InputError(f"TextModel: the first layer must read token ids (Embedding or OneHot), "
                             f"got {type(self.layers[0]).__name__}")
        self.vocab = vocab
        if vocab is not None:
            self._check_vocab(vocab)
        if not self.built:
            self.build(1)

    def _check_vocab(self, vocab: Vocabulary) -> None:
        if not isinstance(vocab, Vocabulary):
            raise InputError(f"TextModel: vocab must be a Vocabulary, got {type(vocab).__name__}")
        size = getattr(self.layers[0], "vocab_size", None)
        if size is not None and size != len(vocab):
            raise InputError(f"TextModel: the input layer reads {size} ids, the vocabulary has {len(vocab)} tokens")

    # -- the vocabulary travels with the model ------------------------------------------------
    def save_extras(self, folder: Path) -> None:
        if self.vocab is None:
            raise ModelFileError("TextModel.save: the model has no vocabulary to save (set model.vocab)")
        folder.mkdir(parents=True, exist_ok=True)
        self.vocab.save(folder / VOCAB_FILE)

    def load_extras(self, folder: Path) -> None:
        vocab = Vocabulary.load(folder / VOCAB_FILE)
        try:
            self._check_vocab(vocab)
        except InputError as exc:
            raise ModelFileError(f"{folder / VOCAB_FILE}: {exc}") from None
        self.vocab = vocab

    def _need_vocab(self) -> Vocabulary:
        if self.vocab is None:
            raise InputError("this TextModel has no vocabulary: pass vocab=... or set model.vocab")
        return self.vocab

    # -- text ---------------------------------------------------------------------------------------
    def generate_ids(self, prime_ids: np.ndarray, length: int, *, sampling: Sampling = Sampling(),
                     seed: int | np.random.Generator | None = 0, constraints: Constraints | None = None,
                     stop_id: int | None = None) -> np.ndarray:
        """Read ``prime_ids`` ``(batch, T)``, then generate ``length`` ids per row (see
        :func:`rnnlab.generation.generate`)."""
        with SequenceStepper(self) as run:
            first = run.start(prime_ids)
            return generate(run.step, first, length, sampling=sampling, rng=seed, constraints=constraints,
                            stop_id=stop_id)

    def sample(self, prime: str | Sequence[str], length: int = 200, *, sampling: Sampling = Sampling(),
               seed: int | np.random.Generator | None = 0, constraints: Constraints | None = None,
               include_prime: bool = True) -> list[str]:
        """Text continuing ``prime`` (one string, or several primes of the same token length).

        With a <bos> symbol in the vocabulary the model reads it first (as in training with
        ``bos=True``); generation stops at <eos> when the vocabulary has one.
        """
        vocab = self._need_vocab()
        primes = [prime] if isinstance(prime, str) else list(prime)
        ids = [vocab.encode(p) for p in primes]
        if vocab.bos_id is not None:
            ids = [np.r_[vocab.bos_id, i] for i in ids]
        if not ids or any(len(i) == 0 for i in ids):
            raise InputError("prime: give at least one token of text to start from (or a vocabulary with <bos>)")
        if len({len(i) for i in ids}) != 1:
            raise InputError(f"prime: several primes must have the same number of tokens, got {[len(i) for i in ids]}")
        out = self.generate_ids(np.stack(ids), length, sampling=sampling, seed=seed, constraints=constraints,
                                stop_id=vocab.eos_id)
        texts = [vocab.decode(row) for row in out]
        return [p + t for p, t in zip(primes, texts)] if include_prime else texts

    def token_log_probs(self, ids: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """log p(ids[:, t+1] | ids[:, ≤t]) for every step: ``(batch, T-1)`` float64 (no state carried in)."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 2 or ids.shape[1] < 2:
            raise InputError(f"ids: expected shape (batch, time ≥ 2), got {ids.shape}")
        z = self.predict(ids[:, :-1], batch_size=batch_size, logits=True).astype(np.float64)
        z -= z.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        return np.take_along_axis(logp, ids[:, 1:, None], axis=-1)[..., 0]


def language_model(vocab: Vocabulary, cell: str = "lstm", hidden: int = 256, *, layers: int = 1,
                   embedding_dim: int | None = 64, dropout: float = 0.0, stateful: bool = False,
                   bidirectional: bool = False, seed: int = 0, dtype: str = "float32", **layer_kw: Any) -> TextModel:
    """Token input → ``layers`` recurrent layers (every step) → ``Dense(len(vocab))`` logits.

    ``embedding_dim=None`` feeds one-hot vectors (the lecture's ``x_t``); otherwise an
    :class:`Embedding` of that size. ``stateful=True`` carries states between batches (truncated
    BPTT over a long text). ``bidirectional`` suits equal-length tagging (couplets), not generation.
    """
    n = len(vocab)
    first: Layer = OneHot(n) if embedding_dim is None else Embedding(n, int(embedding_dim))
    if stateful:
        layer_kw["stateful"] = True
    stack = stacked_rnn(cell, hidden, layers=layers, bidirectional=bidirectional, dropout=dropout,
                        return_sequences=True, seed=seed, **layer_kw)
    return TextModel([first] + stack.layers + [Dense(n)], vocab=vocab, seed=seed, dtype=dtype)
