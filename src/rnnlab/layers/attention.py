"""Attention: a query reads a weighted average of the encoder's states (beyond the lecture's fixed ``c``).

For every decoder step ``t`` (query ``q_t``) and source position ``s`` (key = value ``k_s``, the
encoder's output there)::

    e_ts  = score(q_t, k_s)                                 alignment scores
    α_ts  = exp(e_ts) / Σ_{s' valid} exp(e_ts')             masked softmax over the source (padding: α = 0)
    a_t   = Σ_s α_ts · k_s                                  the step's own context

| layer | score(q, k) | parameters (shapes) | paper |
|---|---|---|---|
| ``AdditiveAttention(units)`` | ``v · tanh(W_q q + W_k k + b)`` | ``query_weight (U, Dq)``, ``key_weight (U, Dk)``, ``bias (U,)``, ``v (U,)`` | Bahdanau et al. 2015 ("concat" in Luong et al.) |
| ``MultiplicativeAttention("dot")`` | ``q · k`` (needs ``Dq = Dk``) | none | Luong et al. 2015, "dot" |
| ``MultiplicativeAttention("general")`` | ``q · W k`` | ``weight (Dq, Dk)`` | Luong et al. 2015, "general" |

PyTorch (what ``tests/test_attention.py`` compares against)::

    e = torch.tanh((q @ Wq.T)[:, :, None] + (k @ Wk.T)[:, None] + b) @ v      # additive
    e = q @ k.transpose(1, 2)                   # dot;   general: e = (q @ W) @ k.transpose(1, 2)
    α = torch.softmax(e.masked_fill(~mask[:, None], -inf), -1);   a = α @ k

Shapes (B batch, T query steps, S source steps, Dq query size, Dk key size, U units):

| tensor | shape |
|---|---|
| query ``Q`` | (B, T, Dq) |
| keys ``K`` (= values) | (B, S, Dk) |
| mask | (B, S) bool, True = a real source position |
| scores ``e``, weights ``α`` | (B, T, S) |
| context ``A`` | (B, T, Dk) |

These layers take two inputs: ``forward(query, keys, mask=None, training=False)`` returns
``(context, weights)``; ``backward(d_context)`` returns ``(d_query, d_keys)`` and adds the
parameter gradients. Backward, per query step: ``dα = dA·Kᵀ``, ``dK += αᵀ·dA``,
``de = α ⊙ (dα − Σ_s α dα)`` (softmax), then through the score. Every source sequence needs at
least one valid position (an :class:`~rnnlab.errors.InputError` otherwise).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import init as initializers
from ..errors import InputError
from ..registry import register_layer
from ..validation import check_mask
from .base import Layer
from .inference import storing_for_backward

#: inference: the (B, T, S, U) tanh is made in batch chunks of about this many elements, in one
#: reused scratch that stays in the CPU cache (1 MB), and never kept whole
CHUNK_ELEMENTS = 1 << 18

SCORES = ("dot", "general")


class Attention(Layer):
    """Shared part: input checks, masked softmax, the weighted sum and their backward."""

    keeps_time = True

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.key_size: int | None = None
        self.weights: np.ndarray | None = None          # α of the last forward, (B, T, S)
        self._cache: dict[str, Any] = {}

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32,
              key_size: int | None = None) -> int:
        """``input_size``: the query size Dq; ``key_size``: Dk (default Dq). Output size: Dk."""
        super().build(input_size, rng, dtype)
        self.key_size = int(input_size if key_size is None else key_size)
        self.output_size = self.key_size
        return self.key_size

    def _check(self, query: np.ndarray, keys: np.ndarray, mask: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        if not self.built:
            raise InputError(f"{type(self).__name__}: build(query_size, rng, dtype, key_size=...) it first")
        q, k = np.asarray(query, dtype=self.dtype), np.asarray(keys, dtype=self.dtype)
        if q.ndim != 3 or q.shape[2] != self.input_size:
            raise InputError(f"{type(self).__name__}: expected the query of shape (batch, steps, {self.input_size}), "
                             f"got {q.shape}")
        if k.ndim != 3 or k.shape[2] != self.key_size or k.shape[0] != q.shape[0]:
            raise InputError(f"{type(self).__name__}: expected the keys of shape ({q.shape[0]}, source steps, "
                             f"{self.key_size}), got {k.shape}")
        return q, k, check_mask(mask, k.shape[0], k.shape[1], "attention mask")

    def scores(self, q: np.ndarray, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _checked_projection(self, kw: Any, k: np.ndarray) -> np.ndarray:
        units = getattr(self, "units", None)
        kw = np.asarray(kw)
        if units is None or kw.shape != k.shape[:2] + (units,):
            raise InputError(f"{type(self).__name__} key_projection: expected the (batch, source steps, units) "
                             f"array key_projection(keys) gives for keys {k.shape}, got {kw.shape}"
                             + ("" if units else "; only AdditiveAttention takes one"))
        return np.asarray(kw, dtype=self.dtype)

    def scores_backward(self, de: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def forward(self, query: np.ndarray, keys: np.ndarray, mask: np.ndarray | None = None,
                training: bool = False, key_projection: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(context (B, T, Dk), weights α (B, T, S))``.

        ``key_projection``: what :meth:`AdditiveAttention.key_projection` gave for these keys
        with the current weights (step-by-step decoding makes it once per decode, not per step).
        """
        q, k, mask = self._check(query, keys, mask)
        if key_projection is None:
            e = self.scores(q, k)                                      # (B, T, S)
        else:
            e = self.scores(q, k, self._checked_projection(key_projection, k))
        if mask is not None:
            e = np.where(mask[:, None, :], e, -np.inf)
        top = e.max(axis=2, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        p = np.exp(e - top)
        total = p.sum(axis=2, keepdims=True)
        alpha = p / np.where(total > 0, total, 1.0)                    # α = masked softmax
        context = alpha @ k                                            # a_t = Σ_s α_ts k_s
        self.weights = alpha
        self._cache.update(k=k, alpha=alpha)
        return context, alpha

    def backward(self, d_context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(d_query, d_keys)``; parameter gradients are added to ``grads``."""
        k, alpha = self._cache["k"], self._cache["alpha"]
        da_ctx = np.asarray(d_context, dtype=self.dtype)
        d_alpha = da_ctx @ k.transpose(0, 2, 1)                        # dα = dA·Kᵀ
        dk = alpha.transpose(0, 2, 1) @ da_ctx                         # dK = αᵀ·dA (values)
        de = alpha * (d_alpha - (alpha * d_alpha).sum(axis=2, keepdims=True))
        dq, dk_score = self.scores_backward(de)
        return dq, dk + dk_score


@register_layer
class AdditiveAttention(Attention):
    """Bahdanau's additive score ``e_ts = v · tanh(W_q q_t + W_k k_s + b)`` with ``units`` = U."""

    def __init__(self, units: int, *, name: str | None = None) -> None:
        super().__init__(name)
        if int(units) < 1:
            raise InputError(f"AdditiveAttention units: expected a positive integer, got {units}")
        self.units = int(units)

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32,
              key_size: int | None = None) -> int:
        out = super().build(input_size, rng, dtype, key_size)
        u, u_init = self.units, initializers.get("uniform")
        self.add_param("query_weight", u_init((u, self.input_size), rng, self.dtype, fan_in=self.input_size,
                                              fan_out=u, hidden=self.input_size))
        self.add_param("key_weight", u_init((u, self.key_size), rng, self.dtype, fan_in=self.key_size,
                                            fan_out=u, hidden=self.key_size))
        self.add_param("bias", np.zeros(u, dtype=self.dtype))
        self.add_param("v", u_init((u,), rng, self.dtype, fan_in=u, fan_out=1, hidden=u))
        return out

    def key_projection(self, keys: np.ndarray) -> np.ndarray:
        """``W_k k + b`` (B, S, U) for ``keys`` (B, S, Dk), to pass to :meth:`forward` while the
        weights stay unchanged (one decode: an optimizer step changes them in place)."""
        k = np.asarray(keys, dtype=self.dtype)
        if k.ndim != 3 or k.shape[2] != self.key_size:
            raise InputError(f"AdditiveAttention: expected the keys of shape (batch, source steps, "
                             f"{self.key_size}), got {k.shape}")
        kw = k.reshape(-1, self.key_size) @ self.params["key_weight"].T
        kw += self.params["bias"]
        return kw.reshape(k.shape[0], k.shape[1], self.units)

    def scores(self, q: np.ndarray, k: np.ndarray, kw: np.ndarray | None = None) -> np.ndarray:
        """The fast path of :func:`additive_scores_readable` (same numbers, to rounding).

        Each projection is one 2-D GEMM (``W_k k + b`` once per call, i.e. once per source
        sequence), the bias is added on the small (B, S, U) side, and the (B, T, S, U) tanh is
        materialised once, in place, then reduced with ``v`` by one GEMV. Inside
        :func:`~rnnlab.layers.inference.inference_mode` it is made chunk by chunk in a small
        reused scratch instead (never whole; a backward would recompute it).
        """
        p, u = self.params, self.units
        (b, t, dq), s = q.shape, k.shape[1]
        qw = (q.reshape(b * t, dq) @ p["query_weight"].T).reshape(b, t, 1, u)      # W_q q
        kw = (self.key_projection(k) if kw is None else kw).reshape(b, 1, s, u)     # W_k k + b
        self._cache.update(q=q, k_in=k, qw=qw, kw=kw)
        if storing_for_backward():
            z = np.add(qw, kw)                                                      # (B, T, S, U)
            np.tanh(z, out=z)
            self._cache["z"] = z
            return (z.reshape(-1, u) @ p["v"]).reshape(b, t, s)
        self._cache.pop("z", None)
        rows = max(1, CHUNK_ELEMENTS // (t * s * u))
        scratch = np.empty((min(rows, b), t, s, u), dtype=self.dtype)
        e = np.empty((b, t, s), dtype=self.dtype)
        for i in range(0, b, rows):
            z = scratch[:min(rows, b - i)]
            np.add(qw[i:i + rows], kw[i:i + rows], out=z)
            np.tanh(z, out=z)
            np.matmul(z.reshape(-1, u), p["v"], out=e[i:i + rows].reshape(-1))
        return e

    def scores_backward(self, de: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fast path of :func:`additive_scores_backward_readable`.

        ``1 - z²`` is written over the cached ``z`` (the forward's tanh is then gone: a second
        backward recomputes it), ``Σ_s de·(1 - z²)`` is one batched product, and only the
        (B, S, U) reduction runs over the large array.
        """
        p, g, c, u = self.params, self.grads, self._cache, self.units
        q, k = c["q"], c["k_in"]
        z = c.pop("z", None)
        if z is None:                                                   # a repeated backward
            z = np.tanh(c["qw"] + c["kw"])
        b, t, s = de.shape
        de = np.ascontiguousarray(de, dtype=self.dtype)
        g["v"] += de.reshape(-1) @ z.reshape(-1, u)                     # Σ de·z
        np.multiply(z, z, out=z)
        np.subtract(1.0, z, out=z)                                      # 1 - z² (tanh')
        dqw = np.matmul(de[:, :, None, :], z).reshape(b, t, u)          # Σ_s de·(1 - z²)
        dqw *= p["v"]
        z *= de[..., None]
        dkw = z.sum(axis=1)                                             # Σ_t de·(1 - z²)
        dkw *= p["v"]
        g["bias"] += dkw.sum(axis=(0, 1))
        dqw2, dkw2 = dqw.reshape(-1, u), dkw.reshape(-1, u)
        g["query_weight"] += dqw2.T @ q.reshape(-1, self.input_size)
        g["key_weight"] += dkw2.T @ k.reshape(-1, self.key_size)
        return ((dqw2 @ p["query_weight"]).reshape(b, t, self.input_size),
                (dkw2 @ p["key_weight"]).reshape(b, s, self.key_size))

    def get_config(self) -> dict[str, Any]:
        return {"units": self.units, "name": self.name}


@register_layer
class MultiplicativeAttention(Attention):
    """Luong's multiplicative scores: ``"dot"`` ``e_ts = q_t·k_s``, ``"general"`` ``e_ts = q_t·W k_s``."""

    def __init__(self, score: str = "general", *, name: str | None = None) -> None:
        super().__init__(name)
        if score not in SCORES:
            raise InputError(f"MultiplicativeAttention score: expected one of {SCORES}, got {score!r}")
        self.score = score

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32,
              key_size: int | None = None) -> int:
        out = super().build(input_size, rng, dtype, key_size)
        if self.score == "dot" and self.key_size != self.input_size:
            raise InputError(f"dot attention: the query size ({self.input_size}) must equal the key size "
                             f"({self.key_size}); use score=\"general\" for different sizes")
        if self.score == "general":
            self.add_param("weight", initializers.get("uniform")(
                (self.input_size, self.key_size), rng, self.dtype, fan_in=self.key_size, fan_out=self.input_size,
                hidden=self.key_size))
        return out

    def scores(self, q: np.ndarray, k: np.ndarray) -> np.ndarray:
        qw = q @ self.params["weight"] if self.score == "general" else q   # (B, T, Dk)
        self._cache.update(q=q, qw=qw, k_in=k)
        return qw @ k.transpose(0, 2, 1)

    def scores_backward(self, de: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self._cache
        dqw = de @ c["k_in"]                                           # (B, T, Dk)
        dk = de.transpose(0, 2, 1) @ c["qw"]                           # (B, S, Dk)
        if self.score == "dot":
            return dqw, dk
        self.grads["weight"] += c["q"].reshape(-1, self.input_size).T @ dqw.reshape(-1, self.key_size)
        return dqw @ self.params["weight"].T, dk

    def get_config(self) -> dict[str, Any]:
        return {"score": self.score, "name": self.name}


# -- the readable reference of the additive score (what the fast methods above must equal) -----
def additive_scores_readable(q: np.ndarray, k: np.ndarray,
                             params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``e = v · tanh(W_q q + W_k k + b)`` as written: ``(e (B, T, S), z = tanh(...) (B, T, S, U))``."""
    qw = q @ params["query_weight"].T                                  # (B, T, U)
    kw = k @ params["key_weight"].T                                    # (B, S, U)
    z = np.tanh(qw[:, :, None, :] + kw[:, None, :, :] + params["bias"])  # (B, T, S, U)
    return z @ params["v"], z


def additive_scores_backward_readable(de: np.ndarray, q: np.ndarray, k: np.ndarray, z: np.ndarray,
                                      params: dict[str, np.ndarray]
                                      ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Gradients of the additive score from ``de = ∂L/∂e``: ``(parameter grads, d_query, d_keys)``."""
    units = params["v"].shape[0]
    dz = (de[..., None] * params["v"]) * (1.0 - z * z)                 # through tanh
    dqw, dkw = dz.sum(axis=2), dz.sum(axis=1)                          # (B, T, U), (B, S, U)
    grads = {"query_weight": dqw.reshape(-1, units).T @ q.reshape(-1, q.shape[2]),
             "key_weight": dkw.reshape(-1, units).T @ k.reshape(-1, k.shape[2]),
             "bias": dz.sum(axis=(0, 1, 2)),
             "v": np.einsum("bts,btsu->u", de, z)}
    return grads, dqw @ params["query_weight"], dkw @ params["key_weight"]
