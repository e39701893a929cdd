"""Task configurations: one dataclass per task, read by the command line, never an argparse object.

A task declares its options once, as a dataclass whose fields carry their help text::

    @dataclass
    class EchoConfig(TaskConfig):
        epochs: int = option(60, "training epochs")
        samples: int = option(2000, "training sequences")
        cell: str = option("rnn", "recurrent cell", choices=CELL_CHOICES)

The command line turns every field into ``--field-name`` (booleans into a flag), and turns the
parsed values back into the dataclass; a value out of range (``minimum``: by default 1 for the
counts every task shares, :data:`COUNT_FIELDS`, and 0 for ``seed``) is a usage error naming only
that option, like argparse's own; the training code only ever sees the dataclass. A run
folder stores it as JSON (``config.json``) so that ``--resume`` rebuilds the same run.

>>> from dataclasses import dataclass
>>> @dataclass
... class Demo(TaskConfig):
...     steps: int = option(10, "sequence length")
>>> cfg = Demo(seed=3)
>>> config_to_dict(cfg)["steps"], config_from_dict(Demo, {"steps": 4}).steps
(10, 4)
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import InputError

C = TypeVar("C", bound="TaskConfig")

#: integer fields that count something, so must be at least 1 unless a field says otherwise
COUNT_FIELDS = frozenset({"epochs", "batch_size", "hidden", "layers", "embedding", "samples", "steps",
                          "threads", "jobs", "repeats", "beam", "examples"})
_AUTO = object()


def option(default: Any, help: str, *,
           choices: typing.Sequence[Any] | typing.Callable[[], typing.Sequence[Any]] | None = None,
           none: str = "none", minimum: Any = _AUTO) -> Any:
    """A config field with its default, its help text and (optionally) its allowed values
    (a sequence, or a function returning one, such as :data:`CELL_CHOICES`). ``none`` says in the
    help what a default of None means (e.g. ``"per model"``, ``"all"``). ``minimum``: the smallest
    allowed number (default: 1 for the names in :data:`COUNT_FIELDS`, 0 for ``seed``; None: any)."""
    meta = {"help": help, "none": none, "choices": choices if choices is None or callable(choices) else tuple(choices),
            "minimum": minimum}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _recurrent_choices() -> tuple[str, ...]:
    from .. import layers  # noqa: F401  (importing the layers registers them)
    from ..registry import recurrent_names
    return recurrent_names()


@dataclass
class TaskConfig:
    """Options every task has; a task's config subclasses it and may redeclare a default."""
    seed: int = option(0, "random seed: same seed, same numbers")


def _field_type(cls: type, f: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(cls)
    tp = hints[f.name]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)) \
        and len(args) == 1 else tp


def _minimum(f: dataclasses.Field) -> Any:
    m = f.metadata.get("minimum", _AUTO)
    if m is _AUTO:
        return 1 if f.name in COUNT_FIELDS else 0 if f.name == "seed" else None
    return m


def _check_value(flag: str, value: Any, minimum: Any) -> str | None:
    """Why ``value`` is not allowed for ``flag`` (None: it is)."""
    if minimum is None or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value < minimum:
        kind = "an integer" if isinstance(value, int) else "a number"
        return f"{flag}: expected {kind} >= {minimum}, got {value!r}"
    return None


def _typed(tp: type, flag: str, minimum: Any) -> typing.Callable[[str], Any]:
    """An argparse ``type``: convert, then check the minimum (an error names only this option)."""
    def convert(text: str) -> Any:
        try:
            value = tp(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if tp is int else 'a number'}, "
                                             f"got {text!r}") from None
        if (why := _check_value(flag, value, minimum)) is not None:
            raise argparse.ArgumentTypeError(why.split(": ", 1)[1])
        return value
    convert.__name__ = tp.__name__
    return convert


def _choices(f: dataclasses.Field) -> tuple[Any, ...] | None:
    choices = f.metadata.get("choices")
    return tuple(choices()) if callable(choices) else choices


def add_config_arguments(parser: argparse.ArgumentParser, cls: type[TaskConfig]) -> None:
    """Add ``--name`` for every field of ``cls`` (defaults shown in the help)."""
    for f in dataclasses.fields(cls):
        tp = _field_type(cls, f)
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_text = f.metadata.get("help", "")
        choices = _choices(f)
        if tp is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=f"{help_text} (default {'on' if default else 'off'})")
            continue
        shown = f.metadata.get("none", "none") if default is None else default
        conv = _typed(tp, flag, _minimum(f)) if tp in (int, float) else (tp if tp is str else str)
        parser.add_argument(flag, dest=f.name, type=conv, default=None,
                            choices=choices, help=f"{help_text} (default {shown})")


def config_from_args(cls: type[C], ns: argparse.Namespace, base: C | None = None) -> C:
    """The config with the options given on the command line; the others from ``base`` or defaults."""
    given = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls)
             if getattr(ns, f.name, None) is not None}
    cfg = dataclasses.replace(base, **given) if base is not None else cls(**given)
    check_config(cfg)
    return cfg


def check_config(cfg: TaskConfig) -> None:
    """Reject values outside a field's choices or below its minimum (the CLI does this too; the API
    must as well)."""
    for f in dataclasses.fields(cfg):
        choices = _choices(f)
        value = getattr(cfg, f.name)
        flag = f"--{f.name.replace('_', '-')}"
        if choices is not None and value is not None and value not in choices:
            raise InputError(f"{flag}: expected one of {list(choices)}, got {value!r}")
        if (why := _check_value(flag, value, _minimum(f))) is not None:
            raise InputError(why)


def config_to_dict(cfg: TaskConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def config_from_dict(cls: type[C], values: dict[str, Any], where: str = "config") -> C:
    """Rebuild a config saved with :func:`config_to_dict`; unknown keys are an error naming ``where``."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise InputError(f"{where}: unknown option(s) {unknown} for {cls.__name__}; known: {sorted(names)}")
    cfg = cls(**values)
    check_config(cfg)
    return cfg


#: ``choices=CELL_CHOICES``: the registered recurrent layers' short names (``rnn, lstm, gru, ...``).
CELL_CHOICES = _recurrent_choices
