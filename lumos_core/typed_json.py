"""JSON data checked against a frozen dataclass's field types, then made into one.

For messages that cross a process boundary (``worker_protocol``): every field present unless it
has a default, none unknown, each of its declared type (``str``, ``int`` but not ``bool``,
``float`` taking whole numbers too, ``X | None``, ``Literal`` strings, ``tuple[X, ...]`` from a
list, ``dict``, ``Any``, a nested dataclass); the first thing wrong is named in a ``ShapeError``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union


class ShapeError(ValueError):
    """The data does not fit the dataclass; says where (``kind.field[index]``) and how."""


_Check = Callable[[Any, str], Any]  # (value, where) → the value as the field holds it
_readers: dict[type[Any], dict[str, tuple[_Check, bool]]] = {}


def build(kind: type[Any], data: dict[str, Any], where: str) -> Any:
    """``kind(**data)`` once ``data`` fits its fields (``where`` names it in errors)."""
    readers = _readers.get(kind) or _fields_of(kind)
    unknown = data.keys() - readers.keys()
    if unknown:
        raise ShapeError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    values = {}
    for name, (check, required) in readers.items():
        if name in data:
            values[name] = check(data[name], f"{where}.{name}")
        elif required:
            raise ShapeError(f"{where}: missing field {name!r}")
    return kind(**values)


def _fields_of(kind: type[Any]) -> dict[str, tuple[_Check, bool]]:
    hints = typing.get_type_hints(kind)
    readers = {
        f.name: (
            _checker(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(kind)
    }
    _readers[kind] = readers
    return readers


def _checker(hint: Any) -> _Check:
    if hint is Any:
        return lambda value, where: value
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [_checker(a) for a in typing.get_args(hint)]
        return lambda value, where: _first_fitting(options, value, where)
    if origin is Literal:
        allowed = typing.get_args(hint)
        return lambda value, where: _one_of(allowed, value, where)
    if origin is tuple:
        item = _checker(typing.get_args(hint)[0])
        return lambda value, where: tuple(
            item(v, f"{where}[{i}]") for i, v in enumerate(_typed(value, list, where))
        )
    if origin is dict:
        return lambda value, where: _typed(value, dict, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        nested: type[Any] = hint
        return lambda value, where: build(nested, dict(_typed(value, dict, where)), where)
    if hint is type(None):
        return lambda value, where: _typed(value, type(None), where)
    if hint is float:
        return lambda value, where: float(_typed(value, (int, float), where))
    return lambda value, where: _typed(value, hint, where)


def _typed(value: Any, expected: type[Any] | tuple[type[Any], ...], where: str) -> Any:
    if isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool):
        return value
    raise ShapeError(f"{where}: {type(value).__name__} where {_named(expected)} belongs")


def _one_of(allowed: tuple[Any, ...], value: Any, where: str) -> Any:
    if value in allowed and isinstance(value, str):
        return value
    raise ShapeError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")


def _named(expected: type[Any] | tuple[type[Any], ...]) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def _first_fitting(options: list[_Check], value: Any, where: str) -> Any:
    for check in options:
        try:
            return check(value, where)
        except ShapeError:
            continue
    raise ShapeError(f"{where}: {type(value).__name__} does not fit")
