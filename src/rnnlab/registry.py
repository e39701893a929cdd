"""The one registry: layer classes and model classes by name, recurrent layers by short name.

Everything that needs "the list of layers" reads it here — the layer factory
(:func:`make_recurrent`), :class:`~rnnlab.layers.Bidirectional`, the command line's ``--cell``
choices, the benchmarks and :func:`rnnlab.load`. Nothing is rebuilt by ``eval`` or pickle: a
saved architecture names a registered class and its constructor's keyword arguments.

A class registers itself where it is defined (this module imports nothing of rnnlab's but the
errors, so any module can use it without an import cycle)::

    @register_layer(short="lstm")        # a recurrent layer: also `make_recurrent("lstm", ...)`
    class LSTM(Recurrent): ...

    @register_layer
    class Dense(Layer): ...

Model classes (subclasses of :class:`rnnlab.Model`) register automatically. rnnlab's own
classes are named by their class name (``"LSTM"``, ``"Sequential"``); classes defined elsewhere
by module and qualified name (``"my_project.models.EncoderDecoder"``), so two classes of the same
name in different modules never collide.

>>> import rnnlab
>>> from rnnlab import registry
>>> registry.recurrent_names()
('rnn', 'lstm', 'gru', 'indrnn')
>>> type(registry.make_recurrent("gru", 8)).__name__
'GRU'
"""
from __future__ import annotations

import importlib

from typing import Any, Callable, TypeVar

from .errors import InputError, ModelFileError

T = TypeVar("T", bound=type)

_LAYERS: dict[str, type] = {}        # class name -> layer class
_SHORT: dict[str, str] = {}          # short name ("lstm") -> class name ("LSTM"), recurrent layers
_MODELS: dict[str, type] = {}        # class name -> model class


def class_key(cls: type) -> str:
    """The name a class is saved and loaded by: ``"LSTM"`` for the library's own (imported with
    ``rnnlab``), ``"module.Qualname"`` else — also for the tasks' own models (``rnnlab.tasks...``),
    whose module :func:`model_class` imports when a file names it."""
    own = (cls.__module__ == "rnnlab" or cls.__module__.startswith("rnnlab.")) \
        and not cls.__module__.startswith("rnnlab.tasks.")
    return cls.__name__ if own and "<locals>" not in cls.__qualname__ else f"{cls.__module__}.{cls.__qualname__}"


def _import_own_module(name: str) -> None:
    """Import the module of ``"rnnlab....Qualname"`` (rnnlab's own modules only: a file never
    makes rnnlab import anything else)."""
    module = name.rpartition(".")[0]
    if module == "rnnlab" or module.startswith("rnnlab."):
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def register_layer(cls: T | None = None, *, short: str | None = None) -> T | Callable[[T], T]:
    """Class decorator: make a layer class loadable by name (and by ``short`` name if recurrent)."""
    def deco(c: T) -> T:
        _LAYERS[class_key(c)] = c
        if short is not None:
            _SHORT[short] = class_key(c)
        return c
    return deco(cls) if cls is not None else deco


def register_model(cls: T) -> T:
    """Make a model class loadable by name (:class:`rnnlab.Model` subclasses do this themselves)."""
    _MODELS[class_key(cls)] = cls
    return cls


def layer_class(name: str) -> type:
    if name not in _LAYERS:
        _import_own_module(name)
    try:
        return _LAYERS[name]
    except KeyError:
        raise ModelFileError(f"unknown layer class {name!r}; known: {sorted(_LAYERS)}") from None


def model_class(name: str) -> type:
    if name not in _MODELS:
        _import_own_module(name)
        tasks_own = [k for k in _MODELS if k.startswith("rnnlab.tasks.") and k.endswith("." + name)]
        if "." not in name and len(tasks_own) == 1:      # saved before task models had full names
            name = tasks_own[0]
    try:
        return _MODELS[name]
    except KeyError:
        raise ModelFileError(f"unknown model class {name!r}; known: {sorted(_MODELS)} (a model class of "
                             "your own must be defined — imported — before rnnlab.load can rebuild it)") from None


def layer_names() -> tuple[str, ...]:
    return tuple(sorted(_LAYERS))


def recurrent_names() -> tuple[str, ...]:
    """Short names of the recurrent layers, in registration order: ``('rnn', 'lstm', 'gru', ...)``."""
    return tuple(_SHORT)


def recurrent_class(short: str) -> type:
    if short not in _SHORT:
        raise InputError(f"cell: expected one of {recurrent_names()}, got {short!r}")
    return _LAYERS[_SHORT[short]]


def short_name(layer_or_class: Any) -> str:
    """``LSTM`` (class or instance) -> ``"lstm"``."""
    cls = layer_or_class if isinstance(layer_or_class, type) else type(layer_or_class)
    for short, name in _SHORT.items():
        if name == class_key(cls):
            return short
    raise InputError(f"{cls.__name__} is not a registered recurrent layer; known: {recurrent_names()}")


def make_recurrent(cell: str, hidden: int, **kw: Any):
    """A recurrent layer by short name: ``rnn`` → SimpleRNN, ``lstm`` → LSTM, ``gru`` → GRU, ..."""
    return recurrent_class(cell)(hidden, **kw)


def layer_to_config(layer) -> dict[str, Any]:
    return {"class": class_key(type(layer)), "config": layer.get_config()}


def layer_from_config(spec: Any, where: str = "layer config") -> Any:
    """Rebuild a layer from ``{"class": ..., "config": {...}}``; errors name ``where`` (e.g. the file)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str) or \
            not isinstance(spec.get("config", {}), dict):
        raise ModelFileError(f"{where}: expected a layer entry {{'class': name, 'config': {{...}}}}, got {spec!r}")
    try:
        cls = layer_class(spec["class"])
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    try:
        return cls(**spec.get("config", {}))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: cannot build {spec['class']} from {spec.get('config')!r}: {exc}") from None
