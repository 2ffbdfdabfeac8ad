"""Batch inputs and results as columns: the three input forms turned into runs, and
runs held compactly a column at a time.

A batch arrives in ubertool's column form (``{"field": {"0": v, ...}}``), as one run
(``{"field": v}``) or as a list of runs; :func:`to_rows` turns any of them into
(run keys, row dicts). A large body is held as :class:`Columns` instead (each
:class:`Column` a float64 array where the values are numbers), handed out as row chunks,
so that 100,000 runs never exist as millions of Python objects at once.
:func:`rows_to_columns` gives the science its numpy columns.
"""
from __future__ import annotations

import csv
import io
import math
import re
from itertools import repeat
from operator import is_, itemgetter
from typing import Any, Iterator

import numpy as np
import orjson

from .validation import InputError, short_value

__all__ = ["Column", "Columns", "to_rows", "rows_to_columns"]

_INT_KEY = re.compile(r"^-?[0-9]{1,18}$")
_MISSING = object()  # a run that a column does not give


_TEXT = frozenset({str, type(None)})


class Column:
    """One column of values, compact: float64 values (with masks of which were integers
    and which null) when every value is a number or null, else a list (equal strings
    shared)."""
    __slots__ = ("values", "is_int", "is_null", "may_hold_bool")

    def __init__(self, values: list[Any]):
        self.values: Any = values
        self.is_int: np.ndarray | None = None
        self.is_null: np.ndarray | None = None
        types = set(map(type, values))
        self.may_hold_bool = bool in types or list in types  # (in a list's items, for validation)
        numbers = types - {type(None)}
        if numbers and numbers <= {int, float}:
            is_null = None
            if len(numbers) < len(types):
                is_null = np.array(list(map(is_, values, repeat(None))), dtype=bool)
                values = [math.nan if v is None else v for v in values]
            try:
                array = np.array(values, dtype=np.float64)
            except OverflowError:
                return
            if int in types:
                is_int = np.array(list(map(is_, map(type, values), repeat(int))), dtype=bool)
                if not (np.abs(array[is_int]) <= 2 ** 53).all():
                    return  # not exact as a float: kept as it is
                self.is_int = is_int
            self.values, self.is_null = array, is_null
        elif str in types:
            shared: dict[str, str] = {}
            if types <= _TEXT:  # each equal text one object, a cell at a time in C
                self.values = list(map(shared.setdefault, values, values))
            else:
                self.values = [shared.setdefault(v, v) if type(v) is str else v for v in values]

    def __len__(self) -> int:
        return len(self.values)

    def slice(self, start: int, stop: int) -> list[Any]:
        if isinstance(self.values, list):
            return self.values[start:stop]
        out = self.values[start:stop].tolist()
        if self.is_int is not None:
            for i in np.flatnonzero(self.is_int[start:stop]).tolist():
                out[i] = int(out[i])
        if self.is_null is not None:
            for i in np.flatnonzero(self.is_null[start:stop]).tolist():
                out[i] = None
        return out


class Columns:
    """Batch inputs in column form, held a column at a time in compact arrays: the same
    runs as :func:`to_rows` gives, handed out as row chunks."""

    def __init__(self, keys: list[str], columns: list[tuple[str, Any]], rows: list[dict[str, Any]] | None = None):
        self.keys, self.columns, self.rows = keys, columns, rows
        self.count = len(rows) if rows is not None else len(keys)

    @classmethod
    def from_json(cls, inputs: Any) -> "Columns":
        """From parsed JSON inputs (any of the three forms)."""
        keys, rows = to_rows(inputs)
        return cls(keys, [], rows)

    @classmethod
    def from_lazy(cls, lazy: Any) -> Any:
        """From a :class:`~flask_qed.jsonutil.Lazy` ``inputs``: column form is read a column
        at a time; other forms are parsed as they are (plain JSON, for :func:`to_rows`)."""
        if not lazy.is_object:
            return [value for _, value in lazy.items()]
        parsed: list[tuple[str, Any]] = []
        ref: list[str] | None = None
        aligned = True
        scalars: dict[str, Any] = {}
        for name, value in lazy.items():
            if isinstance(value, dict):
                col_keys = list(value)
                if ref is None:
                    ref = col_keys
                elif col_keys != ref:
                    aligned = False
                if col_keys is ref or col_keys == ref:
                    parsed.append((name, (None, Column(list(value.values())))))
                else:
                    parsed.append((name, (col_keys, list(value.values()))))
            else:
                scalars[name] = value
                parsed.append((name, ("scalar", value)))
        if ref is None:  # a single run
            return scalars
        if aligned and ref:
            keys = sorted(ref, key=_run_order)
            if keys == ref:
                return cls(keys, [(n, c[1] if c[0] is None else c) for n, c in parsed])
        return cls._aligned(parsed, ref)

    @classmethod
    def _aligned(cls, parsed: list[tuple[str, Any]], ref: list[str]) -> "Columns":
        """Columns with different runs, or runs out of order: each aligned on the union."""
        union: dict[str, None] = {}
        for _, (col_keys, _) in parsed:
            if col_keys != "scalar":
                union.update(dict.fromkeys(ref if col_keys is None else col_keys))
        keys = sorted(union, key=_run_order)
        if not keys:
            first = next(n for n, c in parsed if c[0] != "scalar")
            raise InputError([{"run": None, "field": first, "value": {},
                               "rule": 'no runs given: column form is {"field": {"0": value, ...}}'}])
        where = {k: i for i, k in enumerate(keys)}
        columns: list[tuple[str, Any]] = []
        for name, (col_keys, values) in parsed:
            if col_keys == "scalar":
                columns.append((name, ("scalar", values)))
                continue
            if col_keys is None:
                col_keys, values = ref, values.slice(0, len(ref))
            full = [_MISSING] * len(keys)
            for k, v in zip(col_keys, values):
                full[where[k]] = v
            columns.append((name, Column(full)))
        return cls(keys, columns)

    @property
    def may_hold_bool(self) -> bool:
        """False when no run's value, nor an item of a value that is a list, can be a
        boolean: validation then need not look (:func:`flask_qed.booleans.holds_bool`)."""
        if self.rows is not None:
            return True
        return any(type(col[1]) in (bool, list) if isinstance(col, tuple) else col.may_hold_bool
                   for _, col in self.columns)

    def chunks(self, size: int) -> Iterator[tuple[list[str], list[dict[str, Any]]]]:
        """(run keys, row dicts) of ``size`` runs at a time."""
        if self.rows is not None:
            for start in range(0, len(self.rows), size):
                yield self.keys[start:start + size], self.rows[start:start + size]
            return
        for start in range(0, len(self.keys), size):
            part_keys = self.keys[start:start + size]
            rows: list[dict[str, Any]] = [{} for _ in part_keys]
            for name, col in self.columns:
                if isinstance(col, tuple):  # a scalar column applies to every run
                    for row in rows:
                        row[name] = col[1]
                    continue
                for row, value in zip(rows, col.slice(start, start + size)):
                    if value is not _MISSING:
                        row[name] = value
            yield part_keys, rows


def to_rows(inputs: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Accept column form, single-run form or row-list form; return (run keys, rows)."""
    if isinstance(inputs, list):
        if not inputs:
            raise InputError([{"run": None, "field": "inputs", "value": [], "rule": "no runs given"}])
        bad = [i for i, r in enumerate(inputs) if not isinstance(r, dict)]
        if bad:
            raise InputError([{"run": str(bad[0]), "field": "inputs", "value": short_value(inputs[bad[0]]),
                               "rule": "each run must be a JSON object"}])
        return [str(i) for i in range(len(inputs))], inputs
    if not isinstance(inputs, dict) or not inputs:
        raise InputError([{"run": None, "field": "inputs", "value": short_value(inputs),
                           "rule": "must be a non-empty JSON object or list of runs"}])
    dict_cols = [k for k, v in inputs.items() if isinstance(v, dict)]
    if not dict_cols:
        return ["0"], [dict(inputs)]
    seen: dict[str, None] = {}  # insertion-ordered set of run keys
    for col in dict_cols:
        seen.update(dict.fromkeys(str(k) for k in inputs[col]))
    keys = sorted(seen, key=_run_order)
    if not keys:
        raise InputError([{"run": None, "field": dict_cols[0], "value": {},
                           "rule": 'no runs given: column form is {"field": {"0": value, ...}}'}])
    rows: list[dict[str, Any]] = [{} for _ in keys]
    missing = object()
    for col, val in inputs.items():
        if isinstance(val, dict):
            if not all(isinstance(k, str) for k in val):
                val = {str(k): v for k, v in val.items()}
            for row, key in zip(rows, keys):
                value = val.get(key, missing)
                if value is not missing:
                    row[col] = value
        else:  # a scalar column applies to every run
            for row in rows:
                row[col] = val
    return keys, rows


def _run_order(key: str) -> tuple[int, int, str]:
    """Numeric run keys in numeric order ("2" before "10"), then the others."""
    return (0, int(key), "") if _INT_KEY.match(key) else (1, 0, key)


def rows_to_columns(rows: list[dict[str, Any]], integers: set[str] | None = None) -> dict[str, np.ndarray]:
    """Row dicts -> columns; numbers become float64 arrays, the rest object arrays. The
    names of the columns whose values are all integers (an integer input, once validated),
    exact as float64, are added to ``integers`` when it is given: the science computes
    with floats, and a run's inputs are given back as they were given (``10``, not ``10.0``)."""
    names = list(rows[0]) if rows else []
    cols: dict[str, np.ndarray] = {}
    try:  # rows written by the validator all have the same fields: transpose them in C
        by_field = list(zip(*map(itemgetter(*names), rows))) if len(names) > 1 else None
    except KeyError:
        by_field = None
    for i, name in enumerate(names):
        values = list(by_field[i]) if by_field is not None else [r.get(name) for r in rows]
        kinds = set(map(type, values))  # JSON gives exact types: one pass in C instead of a check per value
        if kinds <= _NUMBERS or (not kinds <= _JSON_TYPES and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
            cols[name] = np.asarray(values, dtype=np.float64)
            if integers is not None and kinds == _INTEGERS and values \
                    and float(np.abs(cols[name]).max()) <= 2 ** 53:
                integers.add(name)
        else:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            cols[name] = arr
    return cols


_NUMBERS = frozenset({int, float})
_INTEGERS = frozenset({int})
_JSON_TYPES = frozenset({int, float, str, bool, type(None), list, dict})


def columns_from_csv(text: str) -> Columns:
    """Batch inputs from CSV text: a header row of input names, then one run per line
    (runs keyed "0", "1", … in line order; blank lines, before the header too, are
    skipped). Cells stay text, as a JSON body's numeric text does: validation reads
    numbers from them, and a blank cell is "not given"."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next((row for row in reader if row and any(cell.strip() for cell in row)), None)
    if not header:
        raise InputError([{"run": None, "field": "inputs", "value": None,
                           "rule": "a CSV body starts with a header row of input names"}])
    names = [name.strip() for name in header]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError([{"run": None, "field": twice[0], "value": None,
                           "rule": "each input is named once in the header row"}])
    rows: list[list[str]] = []
    for row in reader:
        if row and any(cell.strip() for cell in row):
            if len(row) != len(names):
                raise InputError([{"run": str(len(rows)), "field": "inputs", "value": len(row),
                                   "rule": f"every line holds {len(names)} cells, as the header row does "
                                           f"(line {reader.line_num} holds {len(row)})"}])
            rows.append(row)
    if not rows:
        raise InputError([{"run": None, "field": "inputs", "value": None,
                           "rule": "no runs given: one line per run after the header row"}])
    values = list(zip(*rows))
    return Columns([str(i) for i in range(len(rows))],
                   [(name, Column(_csv_cells(col))) for name, col in zip(names, values)])


_INTEGER = re.compile(r"^[+-]?[0-9]{1,15}$")
_LARGEST_INTEGER = 10 ** 15  # integers of 16 digits or more are read as floats, as below


def _numbers_at_once(cells: tuple[str, ...]) -> list[Any] | None:
    """A column whose every cell is a JSON number, parsed by orjson in one call (about
    ten times the per-cell loop of :func:`_csv_cells`, with the same values: orjson
    reads a JSON number's text as ``int`` and ``float`` do); None for anything else
    (a blank cell, ``+1``, ``.5``, ``007``, ``nan``, an integer of 16 digits or more),
    which the loop reads."""
    try:
        values = orjson.loads("[" + ",".join(cells) + "]")
    except orjson.JSONDecodeError:
        return None
    types = set(map(type, values))
    if len(values) != len(cells) or not types <= {int, float}:
        return None  # a quoted cell holding a comma, or a cell holding JSON that is no number
    if int in types and (max(values) >= _LARGEST_INTEGER or min(values) <= -_LARGEST_INTEGER):
        return None  # (a float this large sends the column to the loop too: the same values)
    return values


def _csv_cells(cells: tuple[str, ...]) -> list[Any]:
    """A CSV column's cells as a JSON body would carry them: a column of numbers (blank
    cells aside) as numbers, so that they are kept as one compact array and validated
    as numbers; anything else stays text, for validation to read as it reads text."""
    at_once = _numbers_at_once(cells)
    if at_once is not None:
        return at_once
    out: list[Any] = []
    for cell in cells:
        text = cell.strip()
        if not text:
            out.append("")
        elif _INTEGER.match(text):
            out.append(int(text))
        else:
            try:
                value = float(text)
            except ValueError:
                return list(cells)
            if not math.isfinite(value):
                return list(cells)
            out.append(value)
    return out
