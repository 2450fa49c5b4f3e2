"""One validator for every config dataclass: the constraints are declared on the fields.

    fps: float = field(default=30.0, metadata={"above": 0})
    block_size: int = field(default=5, metadata={"min": 1, "odd": True})
    depth_range_m: tuple[float, float] = field(default=(0.1, 10.0), metadata={"min": 0, "ordered": True})
    marker: str = field(default="dot", metadata={"choices": ("dot", "ring")})

Field metadata keys (each applies to every number of a tuple or list; ``None`` passes):

- ``min`` / ``max``: inclusive bounds; ``above`` / ``below``: exclusive bounds;
- ``odd``: an odd integer; ``ordered``: a ``(lo, hi)`` tuple with ``lo < hi`` (``"<="`` allows equal);
- ``above_field``: the name of another field of the config whose value this one must exceed
  (``max_depth_m`` above ``min_depth_m``: the two ends of a range given as two options);
- ``choices``: the allowed values;
- ``finite``: float values are finite unless a field says ``finite: False``.

A config calls ``check_fields(self)`` from ``__post_init__`` (or inherits ``Checked``), so the CLI,
``--config`` files and the Python API get the same checks. A subclass that gives a field a new
default keeps the constraints its base class declared. A broken constraint raises
``FieldValueError`` naming the field and saying what to give instead; the CLI names the flag.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from numbers import Real
from typing import Any, Iterable, Mapping

from .exits import FieldValueError

#: the metadata of a fraction: 0 to 1
FRACTION = {"min": 0, "max": 1}
#: the metadata keys this module checks (options.py writes them into each option's --help: constraint_text)
CONSTRAINT_KEYS = ("min", "max", "above", "below", "odd", "ordered", "choices", "finite", "above_field")


class Checked:
    """Mixin for config dataclasses: ``__post_init__`` checks every field's declared constraints."""

    def __post_init__(self) -> None:
        check_fields(self)


def check_fields(config: Any) -> None:
    """Raise FieldValueError for the first field of ``config`` that breaks its declared constraint."""
    for f in dataclasses.fields(config):
        rules = field_constraints(type(config), f.name)
        value = getattr(config, f.name)
        check_value(f.name, value, rules)
        if "above_field" in rules:
            _check_above_field(config, f.name, value, rules["above_field"])


@functools.cache
def field_constraints(cls: type, name: str) -> dict[str, Any]:
    """The constraints of field ``name`` of ``cls`` (base classes' first, the subclass's own on top),
    with ``finite`` on for float fields unless turned off."""
    declared: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        own = getattr(klass, "__dataclass_fields__", {}).get(name)
        if own is not None:
            declared.update({key: own.metadata[key] for key in CONSTRAINT_KEYS if key in own.metadata})
    if _holds_float(_hints(cls).get(name)):
        declared.setdefault("finite", True)
    return declared


def check_value(name: str, value: Any, rules: Mapping[str, Any]) -> None:
    """Check one field's value against its constraints; FieldValueError names ``name``."""
    if value is None or not rules:
        return
    if "ordered" in rules and rules["ordered"]:
        _check_ordered(name, value, rules["ordered"])
    for item in _items(value):
        _check_item(name, item, rules)


def _check_item(name: str, item: Any, rules: Mapping[str, Any]) -> None:
    if "choices" in rules and item not in rules["choices"]:
        raise FieldValueError(name, f"{item!r} is not one of the choices",
                              f"choose one of {', '.join(map(str, rules['choices']))}")
    if not isinstance(item, Real) or isinstance(item, bool):
        return
    if rules.get("finite") and not math.isfinite(item):
        raise FieldValueError(name, f"{item} is not a finite number", "give a finite number" + _range_text(rules))
    for key, broken, word in (("min", lambda v, b: v < b, ">="), ("max", lambda v, b: v > b, "<="),
                              ("above", lambda v, b: v <= b, ">"), ("below", lambda v, b: v >= b, "<")):
        if key in rules and broken(item, rules[key]):
            raise FieldValueError(name, f"{item} is out of range", "give a number" + _range_text(rules))
    if rules.get("odd") and (int(item) != item or int(item) % 2 == 0):
        raise FieldValueError(name, f"{item} is not an odd integer", "give an odd number like 3, 5 or 7")


def _check_above_field(config: Any, name: str, value: Any, other: str) -> None:
    low = getattr(config, other)
    if value is not None and low is not None and not value > low:
        raise FieldValueError(name, f"the range {low} .. {value} is inverted or empty",
                              f"give a maximum above the minimum {low}", other=other)


def _check_ordered(name: str, value: Any, how: Any) -> None:
    lo, hi = value
    if lo is None or hi is None:
        return
    if lo > hi or (lo == hi and how != "<="):
        relation = "<=" if how == "<=" else "<"
        raise FieldValueError(name, f"the range {lo},{hi} is inverted or empty",
                              f"give LOW,HIGH with LOW {relation} HIGH")


def _range_text(rules: Mapping[str, Any]) -> str:
    words = _bounds(rules)
    return f" {' and '.join(words)}" if words else ""


def _bounds(rules: Mapping[str, Any]) -> list[str]:
    """``[">= 0", "< 1"]``: the declared bounds, lower first."""
    return [f"{sign} {rules[key]}" for key, sign in (("min", ">="), ("above", ">"), ("max", "<="), ("below", "<"))
            if key in rules]


def constraint_text(rules: Mapping[str, Any], other: str | None = None) -> str:
    """The declared constraints in a few words, for ``--help``: ``0 .. 1``, ``> 0``, ``odd, >= 1``,
    ``LOW < HIGH``, ``a|b|c``; empty when there are none (finiteness goes without saying).
    ``other``: how the user names the field that ``above_field`` refers to (its flag)."""
    words = []
    if "choices" in rules:
        words.append("|".join(map(str, rules["choices"])))
    if rules.get("odd"):
        words.append("odd")
    if "min" in rules and "max" in rules and not {"above", "below"} & rules.keys():
        words.append(f"{rules['min']} .. {rules['max']}")
    else:
        words += _bounds(rules)
    if rules.get("ordered"):
        words.append(f"LOW {'<=' if rules['ordered'] == '<=' else '<'} HIGH")
    if "above_field" in rules:
        words.append(f"> {other or rules['above_field']}")
    return ", ".join(words)


def _items(value: Any) -> Iterable[Any]:
    if isinstance(value, (tuple, list, set, frozenset)):
        return value
    if isinstance(value, Mapping):
        return value.values()
    return (value,)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):     # an annotation that only resolves under TYPE_CHECKING
        return {}


def _holds_float(annotation: Any) -> bool:
    if annotation is float:
        return True
    return any(_holds_float(arg) for arg in typing.get_args(annotation) if arg is not Ellipsis)
