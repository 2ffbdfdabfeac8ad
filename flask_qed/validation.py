"""Validation of a model's inputs against its pydantic ``Inputs``, and the errors it reports.

Every refusal is an :class:`InputError` listing {run, field, value, rule}: at most
``MAX_ERRORS`` of them (the rest are counted, so a huge invalid batch costs little), a
value out of range says why it is refused (:func:`range_reason`) and an unknown input
names the closest declared one. Batches are validated a chunk of rows at a time
(:func:`validate_chunks`); with ``skip`` their invalid runs are left out and reported
per run instead of refusing the whole batch.

Imports nothing of flask_qed: the declarations (:mod:`flask_qed.model`) and the column
handling (:mod:`flask_qed.columns`) both build on it.
"""
from __future__ import annotations

import collections
import difflib
import functools
import json
import types
import typing
from typing import Any, Callable, Iterable

from pydantic import BaseModel, TypeAdapter, ValidationError, create_model, model_validator

from .booleans import field_names, holds_bool, numbers_not_bools

__all__ = ["InputError", "MAX_ERRORS", "RUN_ERRORS", "VALIDATE_CHUNK", "short_value", "drop_blanks",
           "input_errors", "FieldError", "validate_rows", "validate_chunks", "with_cost_limit", "numbers_not_bools",
           "checked_schema"]

MAX_ERRORS = 100        # errors listed in one answer; the rest are only counted
RUN_ERRORS = 10         # errors listed per skipped run
VALIDATE_CHUNK = 1_000  # runs validated at a time: the errors of one chunk stay small


class InputError(ValueError):
    """Inputs that break a rule; ``errors`` is a list of {run, field, value, rule}."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        first = errors[0] if errors else {}
        where = f"run {first['run']}: " if first.get("run") is not None else ""
        super().__init__(f"{where}{first.get('field')}: {first.get('rule')}")


class RunCheck(dict):
    """An error (a dict like any other in :attr:`InputError.errors`) found by a model's check
    of the whole run, not by one input's own type and range: a chain's job, checked before
    its steps give their outputs, leaves these to the end."""


WRAP = 'required: wrap the values in {"inputs": {...}}'


def missing_inputs(body: Any, schema: type[BaseModel] | None) -> InputError:
    """The error for a JSON body without ``inputs``: it says to wrap the values, and names
    the model's inputs the body gave at its top level (the usual slip)."""
    known = set(_input_names(schema)) if schema is not None else set()
    given = [str(k) for k in body if k in known] if isinstance(body, dict) else []
    rule = WRAP
    if given:
        listed = ", ".join(given[:5]) + (", …" if len(given) > 5 else "")
        rule += f" ({listed} {'is an input' if len(given) == 1 else 'are inputs'} of this model, given at the top level)"
    return InputError([{"run": None, "field": "inputs", "value": None, "rule": rule}])


def short_value(value: Any) -> Any:
    """An offending value as an error shows it: itself when short and plain, else its text
    cut to 80 characters (a list or an object as JSON, ``[[0, null]]``, not Python's repr)."""
    text = repr(value)
    if len(text) <= 80 and isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, dict)):
        try:
            text = json.dumps(value, ensure_ascii=False, default=repr)
        except (ValueError, RecursionError):  # a structure json cannot write: its repr
            pass
    return text[:80]


def drop_blanks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A blank ("") or null input is an input not given: left out, so that the field's
    default applies, or it is reported missing if required."""
    out = rows
    for i, row in enumerate(rows):
        values = row.values()
        if "" in values or None in values:
            if out is rows:
                out = list(rows)
            out[i] = {k: v for k, v in row.items() if v is not None and v != ""}
    return out


def with_cost_limit(model: Any) -> type[BaseModel]:
    """``model.inputs`` with one more check, after its own: the estimated cost of the
    run is within ``model.max_cost`` (an input error, so the gateway answers 422).
    ``model`` is a :class:`~flask_qed.model.Model` (any object with its cost fields)."""
    schema, estimate, limit = model.inputs, model.estimate_cost, model.max_cost

    def check_cost(inputs: Any) -> Any:
        cost = estimate(inputs)
        if cost > limit:
            raise ValueError(f"the estimated cost of this run is {cost:,.0f} {model.cost_units}; "
                             f"model {model.name} accepts at most MAX_COST = {limit:,.0f}")
        return inputs

    return create_model(schema.__name__, __base__=schema, __module__=schema.__module__,
                        __doc__=schema.__doc__,
                        __validators__={"qed_cost_limit": model_validator(mode="after")(check_cost)})


def checked_schema(schema: type[BaseModel], rows: Any) -> type[BaseModel]:
    """The schema to validate ``rows`` with: ``schema``, or where they hold a boolean,
    :func:`numbers_not_bools` of it."""
    return numbers_not_bools(schema) if holds_bool(rows) else schema


_ADAPTERS: dict[type, TypeAdapter] = {}


def _row_adapter(schema: type[BaseModel]) -> TypeAdapter:
    if schema not in _ADAPTERS:
        _ADAPTERS[schema] = TypeAdapter(list[schema])  # type: ignore[valid-type]
    return _ADAPTERS[schema]


def validate_rows(schema: type[BaseModel], keys: list[str], rows: list[dict[str, Any]],
                  skip: bool) -> dict[str, Any]:
    """Validate rows a chunk at a time; stop listing errors after MAX_ERRORS (the rest are
    counted), so that a huge invalid batch costs little time and memory."""
    good_keys: list[str] = []
    good_rows: list[dict[str, Any]] = []

    def keep(part_keys: list[str], part: list[dict[str, Any]]) -> None:
        good_keys.extend(part_keys)
        good_rows.extend(part)

    chunks = ((keys[i:i + VALIDATE_CHUNK], rows[i:i + VALIDATE_CHUNK])
              for i in range(0, len(rows), VALIDATE_CHUNK))
    by_run = validate_chunks(schema, chunks, len(rows), skip, keep)
    validated: dict[str, Any] = {"keys": good_keys, "rows": good_rows}
    if by_run:
        validated["errors"] = by_run
    return validated


def validate_chunks(schema: type[BaseModel], chunks: Iterable[tuple[list[str], list[dict[str, Any]]]],
                    total: int, skip: bool, sink: Callable[[list[str], Any], None],
                    as_text: bool = False, bools: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Validate (keys, rows) chunks; hand each chunk's valid, normalised rows (``as_text``:
    their JSON text) to ``sink``
    (only while no error makes the batch fail). Returns the errors of skipped runs."""
    given = schema
    listed: list[dict[str, Any]] = []     # errors for a refusal
    by_run: dict[str, list[dict[str, Any]]] = {}   # errors of skipped runs
    unlisted = unchecked = 0
    done = good = 0
    for part_keys, part in chunks:
        part = drop_blanks(part)
        done += len(part)
        schema = checked_schema(given, part) if bools else given  # (False: none can be there)
        adapter = _row_adapter(schema)
        try:
            valid = adapter.validate_python(part)
        except ValidationError as exc:
            if not skip:
                room = MAX_ERRORS - len(listed)
                listed += input_errors(exc, part_keys, schema, limit=room)
                unlisted += max(0, exc.error_count() - room)
                if len(listed) >= MAX_ERRORS:
                    unchecked = total - done
                    break
                continue
            bad = _skip_invalid(exc, part, part_keys, schema, by_run)
            kept = [i for i, k in enumerate(part_keys) if k not in bad]
            if not kept:
                continue
            part, part_keys = [part[i] for i in kept], [part_keys[i] for i in kept]
            valid = adapter.validate_python(part)
        if not listed:
            # as JSON text when it is to be stored (serialised by pydantic-core in one call)
            sink(part_keys, adapter.dump_json(valid) if as_text else adapter.dump_python(valid, mode="json"))
            good += len(part_keys)
    if listed:
        if unlisted or unchecked:
            more = f"{unlisted} more errors not listed" + (
                f", and the last {unchecked} runs not checked" if unchecked else "")
            listed.append({"run": None, "field": "inputs", "value": None,
                           "rule": f"validation stopped after {MAX_ERRORS} errors: {more}"})
        raise InputError(listed)
    if by_run and not good:  # nothing left to compute
        errors = [e for run_errors in by_run.values() for e in run_errors]
        raise InputError(errors[:MAX_ERRORS] + ([{
            "run": None, "field": "inputs", "value": None,
            "rule": f"every run is invalid; {len(errors) - MAX_ERRORS} more errors not listed"}]
            if len(errors) > MAX_ERRORS else []))
    return by_run


def _skip_invalid(exc: ValidationError, part: list[dict[str, Any]], keys: list[str],
                  schema: type[BaseModel], by_run: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Record the errors of a chunk's invalid runs; return those runs. Each run lists at
    most RUN_ERRORS errors, and once MAX_ERRORS are listed in all, a run only says how
    many it has: the report stays small however many runs are invalid."""
    listed = sum(len(v) for v in by_run.values())
    counts: dict[str, int] = {}
    if listed < MAX_ERRORS:
        for err in input_errors(exc, keys, schema):
            run = err["run"]
            counts[run] = counts.get(run, 0) + 1
            found = by_run.setdefault(run, [])
            if len(found) < RUN_ERRORS and listed < MAX_ERRORS:
                found.append(err)
                listed += 1
    else:  # only count: turning every error into a dict would cost far more
        validator = schema.__pydantic_validator__
        for row, run in zip(part, keys):
            try:
                validator.validate_python(row)
            except ValidationError as row_exc:
                counts[run] = row_exc.error_count()
                by_run[run] = []
    for run, count in counts.items():
        shown = len(by_run[run])
        if count > shown:
            by_run[run].append({"run": run, "field": "inputs", "value": None,
                                "rule": f"{count - shown} {'more ' if shown else ''}errors not listed"})
    return set(counts)


class FieldError(ValueError):
    """Raised by a model's check of several inputs at once (a ``model_validator``) to name
    the input at fault: ``FieldError("l_m", "must be 3 rows of 3 numbers")``. The error then
    names that field and its value, where a plain ValueError names ``inputs`` alone."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


def input_errors(exc: ValidationError, run_keys: list[str] | None,
                 schema: type[BaseModel] | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """pydantic's errors as {run, field, value, rule}; ``run_keys`` name the runs of a
    row list (None: one run). At most ``limit`` of them. A check of the whole run names
    ``inputs`` and no value, or the input a :class:`FieldError` names, and its value."""
    errors = []
    for err in _one_branch(exc.errors(include_url=False), run_keys is not None, schema)[:limit]:
        loc = list(err["loc"])
        run = None
        if run_keys is not None and loc and isinstance(loc[0], int):
            run = run_keys[loc.pop(0)]
        given = err.get("input")
        if not loc and isinstance(given, dict):  # the whole run's check: no one value to show
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, FieldError):  # named as the run gave it (an alias, maybe)
                info = schema.model_fields.get(cause.field) if schema is not None else None
                name = next((n for n in field_names(cause.field, info) if n in given), cause.field) \
                    if info is not None else cause.field
                errors.append(RunCheck(run=run, field=name, value=short_value(given.get(name)), rule=cause.rule))
            else:
                errors.append(RunCheck(run=run, field="inputs", value=None, rule=_plain(err["msg"])))
            continue
        name = ".".join(str(p) for p in loc) or "inputs"
        rule = _plain(err["msg"])
        if err["type"] == "extra_forbidden":
            rule = _unknown_rule(name, schema)
        elif err["type"] in _RANGE_ERRORS and schema is not None:
            rule += range_reason(name, schema)
        value = None if err["type"] == "missing" else short_value(given)
        errors.append({"run": run, "field": name, "value": value, "rule": rule})
    return errors


def _plain(message: str) -> str:
    """pydantic's message of a model's own check without its "Value error, " prefix."""
    return message[len("Value error, "):] if message.startswith("Value error, ") else message


_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def _one_branch(errors: list[Any], rows: bool, schema: type[BaseModel] | None) -> list[Any]:
    """pydantic's errors with the member of a union field's type taken out of their place
    (``boundary_flow.list[constrained-float].2`` is ``boundary_flow.2``), and only the
    member the value was meant for: a number's error for a value that is not a list, the
    items' errors for a list; a value neither fits keeps the errors of both."""
    unions = _union_fields(schema) if schema is not None else frozenset()
    if not unions:
        return errors
    at = 1 if rows else 0
    out, by_field = [], collections.defaultdict(list)
    for err in errors:
        loc = err["loc"]
        if len(loc) > at + 1 and loc[at] in unions and isinstance(loc[at + 1], str):
            member = loc[at + 1]
            err = {**err, "loc": (*loc[:at + 1], *loc[at + 2:])}
            by_field[loc[:at + 1]].append((member, err))
        out.append(err)
    dropped: set[int] = set()
    for found in by_field.values():
        if len({member for member, _ in found}) < 2:
            continue
        wrong_form = set()
        for member, err in found:
            series = member.startswith(("list[", "tuple[", "set[", "frozenset["))
            whole = len(err["loc"]) == at + 1  # the field's value itself, not an item of it
            given_list = isinstance(err.get("input"), (list, tuple))
            if whole and (given_list and not series or not given_list and series and err["type"].endswith("_type")):
                wrong_form.add(id(err))
        kept = [err for _, err in found if id(err) not in wrong_form]
        if kept and not (len(kept) == 1 and len(kept[0]["loc"]) == at + 1 and kept[0]["type"].endswith("_type")):
            dropped |= wrong_form
        else:  # a value of neither form (an object for a number or a list): one error, both forms
            first, *others = [err for _, err in found]
            first["msg"] = " or ".join([first["msg"], *(e["msg"].removeprefix("Input should be ") for e in others)])
            dropped |= {id(err) for err in others}
    return [err for err in out if id(err) not in dropped]


@functools.lru_cache(maxsize=256)
def _union_fields(schema: type[BaseModel]) -> frozenset[str]:
    """The names (and aliases) of the inputs whose type is a union of two types or more,
    ``None`` aside: pydantic names the member in an error's place."""
    found = set()
    for field_name, info in schema.model_fields.items():
        annotation = info.annotation
        while typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and \
                len([a for a in typing.get_args(annotation) if a is not type(None)]) > 1:
            found.update(field_names(field_name, info))
    return frozenset(found)


@functools.lru_cache(maxsize=4096)
def range_reason(name: str, schema: type[BaseModel]) -> str:
    """Why a value out of range is refused: the field's own reason (``why`` in its
    JSON Schema extras), else what the quantity is, whose range is physical."""
    info = schema.model_fields.get(name)
    if info is None:
        return ""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if extra.get("why"):
        return f": {extra['why']}"
    what = info.description or name
    units = f" [{extra['units']}]" if extra.get("units") not in (None, "", "-") else ""
    return f": {what}{units} outside this range is physically impossible or outside the model's domain"


@functools.lru_cache(maxsize=4096)
def _unknown_rule(name: str, schema: type[BaseModel] | None) -> str:
    """An input the model does not declare, with the closest declared name; or one of a
    declared input's names beside another of them (``startDate`` and ``start_date``)."""
    if schema is not None:
        for field_name, info in schema.model_fields.items():
            names = field_names(field_name, info)
            if name in names:
                others = list(dict.fromkeys(n for n in names if n != name))
                return (f"given twice, by two of its names ({name} and {' or '.join(others)}): "
                        "give it once")
    known = _input_names(schema) if schema is not None else []
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or \
        difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown input: not an input of this model{hint}"


def _input_names(schema: type[BaseModel]) -> list[str]:
    names = []
    for field_name, info in schema.model_fields.items():
        names.append(field_name)
        if isinstance(info.alias, str):
            names.append(info.alias)
    return names
