"""Booleans refused where a number is meant.

pydantic's lax mode takes a JSON ``true`` for a number (``"mai": true`` would run as
1.0): a client's slip, never a quantity. :func:`numbers_not_bools` makes a schema that
refuses them in its numeric inputs and in the items of its series of numbers, at any
depth; :func:`holds_bool` is the one pass over a chunk's values in C that tells whether
a chunk needs it, so that the usual batch pays nothing more (:mod:`flask_qed.validation`
uses both)."""
from __future__ import annotations

import collections.abc
import itertools
import types
import typing
from typing import Any, Iterator

from pydantic import AliasChoices, AliasPath, BaseModel, ValidationError, create_model, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["holds_bool", "numbers_not_bools", "field_names"]


_WRAPPERS = (typing.Union, types.UnionType, typing.Annotated)


def _takes(annotation: Any, kind: type) -> bool:
    """Whether a field's type admits ``kind`` as its value (through unions, Optional and
    Annotated; not a list's or a mapping's items)."""
    if annotation is kind:
        return True
    if typing.get_origin(annotation) not in _WRAPPERS:
        return False
    return any(_takes(arg, kind) for arg in typing.get_args(annotation))


def field_names(field_name: str, info: Any) -> list[str]:
    """The keys a field is given by: its name and its aliases."""
    names = [field_name]
    for alias in (info.alias, info.validation_alias):
        if isinstance(alias, str):
            names.append(alias)
        elif isinstance(alias, AliasChoices):
            names += [c for c in alias.choices if isinstance(c, str)]
        elif isinstance(alias, AliasPath) and len(alias.path) == 1 and isinstance(alias.path[0], str):
            names.append(alias.path[0])
    return names


def _number_not_bool(annotation: Any) -> bool:
    return (_takes(annotation, float) or _takes(annotation, int)) and not _takes(annotation, bool)


def _items(annotation: Any) -> list[Any]:
    """The item types of a list, tuple or set a field's type admits (through unions)."""
    found: list[Any] = []
    origin = typing.get_origin(annotation)
    if origin in _WRAPPERS:
        for arg in typing.get_args(annotation):
            found += _items(arg)
    elif origin in _SEQUENCES:
        found += [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
    return found


def _series_of_numbers(annotation: Any) -> bool:
    """Whether a field's type admits a series whose items, or their items at any depth, are
    numbers a boolean cannot also be."""
    return any(_number_not_bool(item) or _series_of_numbers(item) for item in _items(annotation))


def _list_holds_bool(value: list[Any]) -> bool:
    """Whether a list, or a list within it at any depth, holds a boolean."""
    types_ = set(map(type, value))
    return bool in types_ or (list in types_ and any(_list_holds_bool(v) for v in value if type(v) is list))


def _bools_in(value: list[Any], place: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], bool]]:
    """The booleans of a list and of the lists within it, each with its place."""
    for i, item in enumerate(value):
        if type(item) is bool:
            yield (*place, i), item
        elif type(item) is list:
            yield from _bools_in(item, (*place, i))


_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence)
_LISTED = 10  # booleans listed per input in a series


def numbers_not_bools(schema: type[BaseModel]) -> type[BaseModel]:
    """``schema`` with its numeric inputs, and the items of its series of numbers,
    refusing ``true`` and ``false``.

    pydantic's lax mode takes a JSON boolean for a number (``"mai": true`` would run as
    1.0): a client's slip, never a quantity. Numbers written as text stay accepted (EPA's
    clients and CSV cells send them so). Validation uses this schema only for the rows
    that hold a boolean (:func:`holds_bool`, one pass over their values in C, and over
    the items of those that are lists), so the usual batch pays nothing more. ``schema``
    is returned as it is when none of its inputs is a number, or a series of numbers,
    that a boolean cannot also be. A series of series (a matrix) is looked into at every
    depth, its items named by place (``l_m.1.0``)."""
    if schema in _REFUSING or schema in _REFUSING.values():
        return _REFUSING.get(schema, schema)
    numeric, series = set(), set()
    for field_name, info in schema.model_fields.items():
        if _number_not_bool(info.annotation):  # a number, or (both) a number or a series of them
            numeric.update(field_names(field_name, info))
        if _series_of_numbers(info.annotation):
            series.update(field_names(field_name, info))
    if not numeric and not series:
        _REFUSING[schema] = schema
        return schema

    def refused(value: bool, loc: tuple[Any, ...]) -> InitErrorDetails:
        return InitErrorDetails(type=PydanticCustomError(
            "number_not_boolean", "Input should be a number, not {value}",
            {"value": "true" if value else "false"}), loc=loc, input=value)

    def refuse_bools(data: Any) -> Any:
        if type(data) is not dict or not holds_bool(data):
            return data
        errors = []
        for key, value in data.items():
            if type(value) is bool and key in numeric:
                errors.append(refused(value, (key,)))
            if type(value) is list and key in series and _list_holds_bool(value):
                errors += [refused(item, (key, *place)) for place, item in _bools_in(value)][:_LISTED]
        if errors:
            raise ValidationError.from_exception_data(schema.__name__, errors + others(data, errors))
        return data

    def others(data: dict[str, Any], refusals: list[InitErrorDetails]) -> list[InitErrorDetails]:
        """The row's errors in its other inputs, as the schema alone finds them, so that one
        answer lists them all (a check of the whole row, which read the booleans as numbers,
        is left out)."""
        refused_at = {error["loc"][0] for error in refusals}
        try:
            schema.model_validate(data)
        except ValidationError as exc:
            return [InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e["input"])
                    for e in exc.errors(include_url=False) if e["loc"] and e["loc"][0] not in refused_at]
        return []

    _REFUSING[schema] = create_model(
        schema.__name__, __base__=schema, __module__=schema.__module__, __doc__=schema.__doc__,
        __validators__={"qed_numbers_not_bools": model_validator(mode="before")(refuse_bools)})
    return _REFUSING[schema]


_REFUSING: dict[type[BaseModel], type[BaseModel]] = {}  # a schema -> itself refusing booleans as numbers


def holds_bool(rows: Any) -> bool:
    """Whether any value of these rows (a dict, or a list of them), or any item of a value
    that is a list (at any depth), is a boolean."""
    if type(rows) is dict:
        rows = (rows,)
    try:
        types_ = set(map(type, itertools.chain.from_iterable(map(dict.values, rows))))
    except TypeError:  # a row that is not an object (validation says so): the others
        return holds_bool([row for row in rows if type(row) is dict])
    if bool in types_:
        return True
    return list in types_ and any(type(value) is list and _list_holds_bool(value)
                                  for row in rows for value in row.values())
