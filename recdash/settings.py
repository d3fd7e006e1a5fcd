"""Typed settings: checks shared by every config dataclass (a model's, training's, a run's).

Configs are frozen dataclasses with a comment per field (the nanoGPT habit). Each one calls
`check_types` and `require` in `__post_init__`, so that a wrong value is refused where it is
built (on the Train page, by the CLI, or when a stored spec is read back), with the field and the
fix named, and never inside a background job. `from_dict` rebuilds a config from JSON: keys it
does not know are refused when a person typed them, and ignored with a StoredSettingWarning when
they were read back from storage (a run stored by a later or earlier version must still load).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, fields, is_dataclass
from typing import Any, TypeVar

from recdash.errors import SettingError

T = TypeVar("T")


class StoredSettingWarning(UserWarning):
    """A stored setting this version does not know was ignored."""


def unknown_keys(data: dict[str, Any], known: set[str] | list[str], what: str, where: str,
                 stored: bool, rule: str) -> dict[str, Any]:
    """`data` less the keys not in `known`: refused (SettingError) unless `stored`, in which case
    they are dropped with a StoredSettingWarning naming them.

    Args:
        data: the keys and values read.
        known: the valid keys.
        what: the config's name, for the message (e.g. "TrainConfig").
        where: what the dict came from (e.g. "run 2026...-ease-abc123"), or "".
        stored: the dict was read back from storage, not typed by a person.
        rule: what is valid, for the error.
    """
    unknown = sorted(set(data) - set(known))
    if not unknown:
        return data
    place = f" in {where}" if where else ""
    if not stored:
        field = f"{what}.{unknown[0]}" if what.isidentifier() else unknown[0]
        raise SettingError(field, data[unknown[0]], rule + place)
    warnings.warn(f"ignored the stored setting(s) {', '.join(map(repr, unknown))} of {what}{place}"
                  ": this version of recdash does not know them", StoredSettingWarning,
                  stacklevel=3)
    return {k: v for k, v in data.items() if k not in unknown}
_SIMPLE = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}


def _ok_type(value: object, annotation: str) -> bool:
    kinds = [k.strip() for k in annotation.split("|")]
    if value is None:
        return "None" in kinds
    for kind in kinds:
        if kind in _SIMPLE:
            if isinstance(value, bool) and kind != "bool":
                continue  # True is an int in Python, never a number here
            if isinstance(value, _SIMPLE[kind]):
                return not (isinstance(value, float) and not math.isfinite(value))
        elif kind.startswith("tuple[int"):
            if isinstance(value, tuple) and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value):
                return True
    return False


def check_types(config: object) -> None:
    """Raise SettingError for a field whose value is not of its annotated type.

    Understands int, float (an int is accepted), bool, str, `X | None` and `tuple[int, ...]`;
    other annotations are not checked.
    """
    for f in fields(config):  # type: ignore[arg-type]
        annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        known = any(k.strip() in _SIMPLE or k.strip() == "None" or k.strip().startswith(
            "tuple[int") for k in annotation.split("|"))
        value = getattr(config, f.name)
        if known and not _ok_type(value, annotation):
            raise SettingError(f"{type(config).__name__}.{f.name}", value,
                               f"expected {annotation.replace('None', 'nothing')}")


def require(config: object, field: str, ok: bool, rule: str) -> None:
    """Raise SettingError naming `field` of `config` unless `ok`; `rule` says what is valid."""
    if not ok:
        raise SettingError(f"{type(config).__name__}.{field}", getattr(config, field), rule)


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "",
              stored: bool = False) -> T:
    """A config of class `cls` from JSON.

    Args:
        cls: a config dataclass.
        data: its fields (missing ones take their defaults).
        where: what the dict came from, for the message (e.g. "run 2026...-ease-abc123").
        stored: read back from storage: unknown keys are ignored with a warning, not refused.

    Raises:
        SettingError: an unknown key (unless `stored`), or a value its checks refuse.
    """
    names = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    data = unknown_keys(dict(data or {}), set(names), cls.__name__, where, stored,
                        f"{cls.__name__} has no such setting; its settings are {', '.join(names)}")
    for name, f in names.items():  # JSON has no tuples
        if name in data and isinstance(data[name], list) and "tuple" in str(f.type):
            data[name] = tuple(data[name])
    return cls(**data)


def to_dict(config: object) -> dict[str, Any]:
    """A config's fields as plain JSON-ready values (tuples become lists when dumped)."""
    if not is_dataclass(config):
        raise TypeError(f"{type(config).__name__} is not a config dataclass")
    return asdict(config)  # type: ignore[arg-type]
