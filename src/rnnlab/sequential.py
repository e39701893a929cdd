"""``Sequential``: a stack of layers — the :class:`~rnnlab.Model` for the lecture's networks.

>>> import numpy as np, rnnlab
>>> model = rnnlab.Sequential([rnnlab.SimpleRNN(8), rnnlab.Dense(1)], seed=0)
>>> _ = model.compile(loss="mse", optimizer="adam", metrics=["r2"])
>>> x = np.random.default_rng(0).random((64, 2, 1)).astype(np.float32)
>>> history = model.fit(x, x[:, 0], epochs=2, batch_size=16, verbose=0)
>>> model.predict(x).shape
(64, 1)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import InputError
from .layers.base import Layer
from .model import Model
from .registry import layer_from_config, layer_to_config
from .validation import as_float_array, check_mask


class Sequential(Model):
    """Layers applied in order; the last one outputs logits, the loss applies the output function.

    Args:
        layers: the layers, first to last.
        input_size: feature size of the input; if omitted the model is built on the first data.
        seed: seeds weight initialisation, shuffling and dropout (same seed, same numbers).
        dtype: ``"float32"`` (default) or ``"float64"`` (gradient checks).
    """

    def __init__(self, layers: Sequence[Layer], input_size: int | None = None, seed: int = 0,
                 dtype: str | np.dtype = "float32") -> None:
        super().__init__(seed=seed, dtype=dtype)
        if not layers:
            raise InputError("Sequential: expected at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise InputError(f"Sequential: item {i} is a {type(layer).__name__}, not an rnnlab layer")
        self.layers = list(layers)
        self.input_size: int | None = None
        if input_size is not None:
            self.build(input_size)

    # -- construction ---------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.input_size is not None

    @property
    def takes_ids(self) -> bool:
        """True when the first layer reads integer token ids (an Embedding)."""
        return getattr(self.layers[0], "takes_ids", False)

    def build(self, input_size: int) -> "Sequential":
        init_rng = np.random.default_rng(self.seed)
        size = int(input_size)
        self.input_size = size
        below_has_params = False
        for i, layer in enumerate(self.layers):
            if layer.name is None:
                layer.name = f"{i}"
            size = layer.build(size, init_rng, self.dtype)
            # dX of a layer is only used by parameters below it: the first layer on raw features
            # (or after OneHot / Dropout) skips that product; after an Embedding it is needed
            layer.needs_input_grad = below_has_params
            below_has_params = below_has_params or bool(layer.named_params())
        return self

    def get_config(self) -> dict[str, Any]:
        return {"layers": [layer_to_config(l) for l in self.layers], "input_size": self.input_size,
                "seed": self.seed, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Sequential":
        config = dict(config)
        layers = [layer_from_config(spec, f"layer {i}") for i, spec in enumerate(config.pop("layers"))]
        return cls(layers, **config)

    # -- input checks (before any work starts) --------------------------------------------------
    def check_inputs(self, x: Any, mask: Any = None, name: str = "x") -> tuple[np.ndarray, np.ndarray | None]:
        if self.takes_ids:
            arr = np.asarray(x)
            if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
                raise InputError(f"{name}: an Embedding model expects integer ids of shape (batch, time), "
                                 f"got shape {arr.shape}, dtype {arr.dtype}")
            if arr.size == 0:
                raise InputError(f"{name}: the array is empty (shape {arr.shape})")
            if not self.built:
                self.build(1)
        else:
            arr = as_float_array(x, name, self.dtype)
            if arr.ndim != 3:
                raise InputError(f"{name}: expected shape (batch, time, features), got {arr.shape}"
                                 + (" — add a feature axis: x[..., None]" if arr.ndim == 2 else ""))
            if not self.built:
                self.build(arr.shape[2])
            if arr.shape[2] != self.input_size:
                raise InputError(f"{name}: expected {self.input_size} features per step (the model was built "
                                 f"for that), got {arr.shape[2]} (shape {arr.shape})")
        return arr, check_mask(mask, arr.shape[0], arr.shape[1], f"{name} mask" if name != "x" else "mask")

    # -- computation ----------------------------------------------------------------------------
    def forward(self, x: np.ndarray, mask: np.ndarray | None = None,
                training: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits of the last layer (before the output function) and their mask."""
        for layer in self.layers:
            x = layer.forward(x, mask=mask, training=training)
            mask = layer.output_mask(mask)
        return x, mask

    def output_mask(self, mask: np.ndarray | None) -> np.ndarray | None:
        for layer in self.layers:
            mask = layer.output_mask(mask)
        return mask

    def backward(self, d_outputs: np.ndarray) -> None:
        """BPTT top to bottom; stops where a layer returns None (no input gradient: an Embedding,
        or a layer with ``needs_input_grad`` False — nothing below it has parameters)."""
        d = d_outputs
        for layer in reversed(self.layers):
            d = layer.backward(d)
            if d is None:
                break
