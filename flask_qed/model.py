"""Model declarations: the one place a model is described.

A science module declares a model with plain module attributes, so that the
science layer never imports the framework::

    NAME = "rice"                      # route, task and store name
    TITLE = "Rice model"
    DESCRIPTION = "Screening-level water concentration in rice paddies."
    VERSION = "1.0"
    BATCH = True                       # rows are vectorised (PRAM); False: one input object (HMS)
    Inputs = <pydantic BaseModel>      # one run's inputs, with units/ranges in Field()
    OUTPUTS = {"out_cw": {"description": "...", "units": "ug/L"}}
    def compute(columns): ...          # BATCH: dict[str, ndarray] -> dict[str, array-like]
                                       # not BATCH: dict -> dict (JSON-ready data)

Optional: ``ALIASES`` (extra paths under the app prefix), ``MAX_ROWS``,
``read_upload(data: bytes, filename: str) -> dict`` (turn an uploaded file
into the value of the ``UPLOAD_FIELD`` input), and the cost model:

    TIME_LIMIT = 120                   # s: past it the job fails with TimeLimitExceeded
                                       # (default DEFAULT_TIME_LIMIT; capped by QED_TASK_TIME_LIMIT)
    MAX_COST = 1_000_000               # largest estimated cost the gateway accepts (422 above)
    COST_UNITS = "values"              # what the cost counts, for the 422 message
    def estimate_cost(inputs): ...     # not BATCH: the validated Inputs -> a number
                                       # BATCH: cost is rows × outputs (MAX_COST lowers MAX_ROWS)

:class:`Model` is what the framework derives everything from: the run and
description endpoints, the Celery task, validation and the JSON Schema.
"""
from __future__ import annotations

import difflib
from contextlib import contextmanager
import functools
import logging
import math
from operator import itemgetter
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError, create_model, model_validator

logger = logging.getLogger(__name__)

__all__ = ["Model", "InputError", "Columns", "rows_to_columns", "columns_to_json", "json_safe"]


class InputError(ValueError):
    """Inputs that break a rule; ``errors`` is a list of {run, field, value, rule}."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        first = errors[0] if errors else {}
        where = f"run {first['run']}: " if first.get("run") is not None else ""
        super().__init__(f"{where}{first.get('field')}: {first.get('rule')}")


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    description: str
    version: str
    inputs: type[BaseModel]
    compute: Callable[[Any], Any]
    outputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    batch: bool = True
    aliases: Sequence[str] = ()
    max_rows: int = 100_000
    chunk_rows: int = 5_000
    upload_field: str | None = None
    read_upload: Callable[[bytes, str], Any] | None = None
    example: Mapping[str, Any] | None = None  # inputs that run: the web form's prefill
    # Cost model: the gateway refuses (422, naming the limit) a run whose estimate
    # is over max_cost; a run past time_limit seconds fails with TimeLimitExceeded.
    time_limit: int | None = None
    max_cost: float | None = None
    estimate_cost: Callable[[Any], float] | None = None
    cost_units: str = "units"

    def __post_init__(self) -> None:
        if self.max_cost is None:
            return
        if self.batch:  # cost = rows × outputs: the limit is a number of rows
            rows = int(self.max_cost // max(1, len(self.outputs)))
            object.__setattr__(self, "max_rows", max(1, min(self.max_rows, rows)))
        elif self.estimate_cost is not None:
            object.__setattr__(self, "inputs", with_cost_limit(self))

    @classmethod
    def from_module(cls, module: ModuleType) -> "Model":
        """Build the declaration from a science module's attributes."""
        get = lambda name, default=None: getattr(module, name, default)  # noqa: E731
        return cls(
            name=module.NAME, title=get("TITLE", module.NAME),
            description=get("DESCRIPTION", (module.__doc__ or "").strip()),
            version=str(get("VERSION", "1.0")), inputs=module.Inputs,
            compute=module.compute, outputs=get("OUTPUTS", {}),
            batch=get("BATCH", True), aliases=tuple(get("ALIASES", ())),
            max_rows=get("MAX_ROWS", 100_000), upload_field=get("UPLOAD_FIELD"),
            read_upload=get("read_upload"), example=get("EXAMPLE"),
            time_limit=get("TIME_LIMIT", DEFAULT_TIME_LIMIT), max_cost=get("MAX_COST"),
            estimate_cost=get("estimate_cost"), cost_units=get("COST_UNITS", "units"),
        )

    # -- validation ---------------------------------------------------------
    def validate(self, inputs: Any, on_invalid: str = "fail") -> Any:
        """Validate JSON inputs (see :meth:`_validate`); a validator that crashes on odd
        input (overflow and the like) is reported as invalid input, never as a 500.

        ``on_invalid="skip"`` (batches): invalid runs are left out and reported per run
        under ``errors`` instead of refusing the whole batch."""
        if on_invalid not in ON_INVALID:
            raise InputError([{"run": None, "field": "on_invalid", "value": _short(on_invalid),
                               "rule": f"must be one of {', '.join(ON_INVALID)}"}])
        with self._crash_is_input_error():
            return self._validate(inputs, skip=on_invalid == "skip")

    @contextmanager
    def _crash_is_input_error(self) -> Iterator[None]:
        """A validator that crashes on odd input (a bug, or input no rule foresaw) gives a
        422 that says so, never a 500."""
        try:
            yield
        except InputError:
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError, RecursionError) as exc:
            logger.warning("model %s: validator crashed on input: %r", self.name, exc)
            raise InputError([{"run": None, "field": "inputs", "value": None,
                               "rule": f"could not be validated: {type(exc).__name__}: {exc}"}]) from None

    def _validate(self, inputs: Any, skip: bool = False) -> Any:
        """Validate JSON inputs; return the normalised, JSON-ready inputs.

        BATCH models take ubertool's column form, a single run or a row list
        and return ``{"keys", "rows"}`` (plus ``"errors"`` of skipped runs).
        A blank ("" or null) is an input not given. Raises :class:`InputError`
        naming the run, field, value and rule (at most ``MAX_ERRORS`` of them).
        """
        if not self.batch:
            if not isinstance(inputs, dict):
                raise InputError([{"run": None, "field": "inputs", "value": _short(inputs),
                                   "rule": "must be a JSON object"}])
            try:
                return self.inputs.model_validate(inputs).model_dump(mode="json")
            except ValidationError as exc:
                raise InputError(_errors(exc, None, self.inputs)[:MAX_ERRORS]) from None
        keys, rows = to_rows(inputs)
        if len(rows) > self.max_rows:
            raise InputError([{"run": None, "field": "inputs", "value": len(rows),
                               "rule": f"at most {self.max_rows} runs per job"}])
        return _validate_rows(self.inputs, keys, drop_blanks(rows), skip)

    def run(self, validated: Any, progress: Callable[[float], None] | None = None) -> Any:
        """Run the science on validated inputs; return JSON-ready data.

        Large batches run in chunks of ``chunk_rows``: memory stays bounded and
        ``progress`` (if given) hears the fraction done after each chunk.
        """
        if not self.batch:
            return json_safe(self.compute(validated))
        # ``validated`` is what validate() returned (possibly through a JSON
        # store): rows already checked, parsed and completed with defaults.
        keys, rows = validated["keys"], validated["rows"]
        data: dict[str, dict[str, Any]] = {"inputs": {}, "outputs": {}}
        if validated.get("errors"):  # runs skipped as invalid (on_invalid="skip")
            data["errors"] = validated["errors"]
        for start in range(0, len(rows), self.chunk_rows):
            part_keys = keys[start:start + self.chunk_rows]
            columns = rows_to_columns(rows[start:start + self.chunk_rows])
            outputs = self.compute(columns)
            for section, cols in (("inputs", columns), ("outputs", outputs)):
                for name, values in columns_to_json(cols, part_keys).items():
                    data[section].setdefault(name, {}).update(values)
            if progress is not None:
                progress(min(1.0, (start + self.chunk_rows) / len(rows)))
        return data

    # -- bounded memory: large batches as chunks, never whole as Python objects ----------
    def validate_packed(self, inputs: Any, on_invalid: str = "fail") -> tuple[Any, int]:
        """Validate like :meth:`validate`; return (the inputs to store, runs).

        For a batch the stored inputs are packed JSON (:class:`~flask_qed.jsonutil.Packed`)
        in chunks of validated rows, one chunk a line, which :meth:`run_packed` reads a
        chunk at a time. ``inputs`` may be :class:`Columns` (a body parsed column by column)."""
        if not self.batch:
            return self.validate(inputs, on_invalid), 1
        if on_invalid not in ON_INVALID:
            return self.validate(inputs, on_invalid), 0  # raises InputError
        from .jsonutil import PackedWriter, dumps
        with self._crash_is_input_error():
            columns = inputs if isinstance(inputs, Columns) else Columns.from_json(inputs)
            if columns.count > self.max_rows:
                raise InputError([{"run": None, "field": "inputs", "value": columns.count,
                                   "rule": f"at most {self.max_rows} runs per job"}])
            out = PackedWriter()
            out.write(b'{"format":"%s","total":%d,"chunks":[\n' % (CHUNKED.encode(), columns.count))
            good = [0]

            def sink(keys: list[str], rows: bytes) -> None:  # rows: their JSON text
                out.write((b"," if good[0] else b"") + b'{"keys":' + dumps(keys) + b',"rows":' + rows
                          + b"}\n")
                good[0] += len(keys)

            by_run = _validate_chunks(self.inputs, columns.chunks(VALIDATE_CHUNK), columns.count,
                                      on_invalid == "skip", sink, as_text=True)
            out.write(b'],"count":%d' % good[0] + (b',"errors":' + dumps(by_run) if by_run else b"") + b"}")
            return out.close(), good[0]

    def run_packed(self, packed: bytes, progress: Callable[[float], None] | None = None) -> Any:
        """:meth:`run` on inputs stored by :meth:`validate_packed`, a chunk at a time: the
        result is written as packed JSON as it is computed (each field's values kept
        compressed until the whole document is assembled), in exactly the form
        :meth:`run` returns. Inputs stored otherwise are run by :meth:`run`."""
        from .jsonutil import PackedJoin, PieceWriter, dumps, loads, unpacked_lines
        lines = unpacked_lines(packed)
        head = next(lines, b"")
        found = _HEAD.match(head)
        if found is None:
            import zlib
            return self.run(loads(zlib.decompress(packed)), progress=progress)
        total = max(1, int(found.group(1)))
        # One chunk: its fields are small, kept as text (compressing each costs more than it saves).
        one_chunk = total <= self.chunk_rows
        fields: dict[str, dict[str, Any]] = {"inputs": {}, "outputs": {}}
        tail: dict[str, Any] = {}
        keys: list[str] = []
        rows: list[dict[str, Any]] = []
        done = 0

        def compute() -> None:
            nonlocal done
            columns = rows_to_columns(rows)
            outputs = self.compute(columns)
            rows.clear()
            names: list[bytes] | None = None  # each run's ',"key":' (the first without ','), once a chunk
            for section, cols in (("inputs", columns), ("outputs", outputs)):
                writers = fields[section]
                for name, col in cols.items():  # one field at a time: few Python objects at once
                    if _numeric_column(col, len(keys)):
                        names = names or [(b"," if i else b"") + dumps(key) + b":" for i, key in enumerate(keys)]
                        text = _members_text(col, names)
                    else:
                        text = dumps(columns_to_json({name: col}, keys)[name])[1:-1]
                    writer = writers.get(name)
                    if writer is None:
                        writer = writers[name] = _TextWriter() if one_chunk else PieceWriter()
                    else:
                        writer.write(b",")
                    writer.write(text)
            done += len(keys)
            keys.clear()
            rows.clear()
            if progress is not None:
                progress(min(1.0, done / total))

        for line in lines:
            if line.startswith(b"]"):
                tail = loads(b"{" + line[2:])
                break
            chunk = loads(line[1:] if line.startswith(b",") else line)
            keys.extend(chunk["keys"])
            rows.extend(chunk["rows"])
            if len(rows) >= self.chunk_rows:
                compute()
        if rows:
            compute()
        # The fields' compressed text is joined as it is: never decompressed and compressed again.
        out = PackedJoin()
        glue = [b"{"]
        for s, section in enumerate(("inputs", "outputs")):
            glue.append((b"," if s else b"") + dumps(section) + b":{")
            writers = fields[section]
            for i, name in enumerate(list(writers)):
                glue.append((b"," if i else b"") + dumps(name) + b":{")
                writer = writers.pop(name)
                if one_chunk:
                    glue.append(writer.close())
                else:
                    out.text(b"".join(glue))
                    glue = []
                    out.piece(writer.close())
                glue.append(b"}")
            glue.append(b"}")
        if tail.get("errors"):
            glue.append(b',"errors":' + dumps(tail["errors"]))
        glue.append(b"}")
        out.text(b"".join(glue))
        return out.close()

    def describe(self) -> dict[str, Any]:
        """The description endpoint's body."""
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "version": self.version, "batch": self.batch,
            "inputs": self.inputs.model_json_schema(),
            "outputs": {k: dict(v) for k, v in self.outputs.items()},
            "max_rows": self.max_rows if self.batch else None,
            "upload_field": self.upload_field,
        }


ON_INVALID = ("fail", "skip")
CHUNKED = "qed-chunks-1"  # the layout of inputs stored by Model.validate_packed
_HEAD = re.compile(rb'^\{"format":"qed-chunks-1","total":([0-9]+),"chunks":\[$')
MAX_ERRORS = 100        # errors listed in one answer; the rest are only counted
RUN_ERRORS = 10         # errors listed per skipped run
VALIDATE_CHUNK = 1_000  # runs validated at a time: the errors of one chunk stay small
DEFAULT_TIME_LIMIT = 300  # s, for a declared model that names none


def with_cost_limit(model: "Model") -> type[BaseModel]:
    """``model.inputs`` with one more check, after its own: the estimated cost of the
    run is within ``model.max_cost`` (an input error, so the gateway answers 422)."""
    schema, estimate, limit = model.inputs, model.estimate_cost, model.max_cost

    def check_cost(inputs: Any) -> Any:
        cost = estimate(inputs)  # type: ignore[misc]
        if cost > limit:  # type: ignore[operator]
            raise ValueError(f"the estimated cost of this run is {cost:,.0f} {model.cost_units}; "
                             f"model {model.name} accepts at most MAX_COST = {limit:,.0f}")
        return inputs

    return create_model(schema.__name__, __base__=schema, __module__=schema.__module__,
                        __doc__=schema.__doc__,
                        __validators__={"qed_cost_limit": model_validator(mode="after")(check_cost)})


_ADAPTERS: dict[type, TypeAdapter] = {}
_INT_KEY = re.compile(r"^-?[0-9]{1,18}$")


def _row_adapter(schema: type[BaseModel]) -> TypeAdapter:
    if schema not in _ADAPTERS:
        _ADAPTERS[schema] = TypeAdapter(list[schema])  # type: ignore[valid-type]
    return _ADAPTERS[schema]


class _TextWriter:
    """:class:`~flask_qed.jsonutil.PackedWriter`'s interface, uncompressed (small fields)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, text: bytes) -> None:
        self._parts.append(text)

    def close(self) -> bytes:
        return b"".join(self._parts)


_MISSING = object()  # a run that a column does not give


class _Column:
    """One column of values, compact: float64 values (with masks of which were integers
    and which null) when every value is a number or null, else a list (equal strings
    shared)."""
    __slots__ = ("values", "is_int", "is_null")

    def __init__(self, values: list[Any]):
        self.values: Any = values
        self.is_int: np.ndarray | None = None
        self.is_null: np.ndarray | None = None
        types = set(map(type, values))
        numbers = types - {type(None)}
        if numbers and numbers <= {int, float}:
            is_null = None
            if len(numbers) < len(types):
                is_null = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
                values = [math.nan if v is None else v for v in values]
            try:
                array = np.array(values, dtype=np.float64)
            except OverflowError:
                return
            if int in types:
                is_int = np.fromiter((type(v) is int for v in values), dtype=bool, count=len(values))
                if not (np.abs(array[is_int]) <= 2 ** 53).all():
                    return  # not exact as a float: kept as it is
                self.is_int = is_int
            self.values, self.is_null = array, is_null
        elif str in types:
            shared: dict[str, str] = {}
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
                    parsed.append((name, (None, _Column(list(value.values())))))
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
        # Columns with different runs, or runs out of order: align each on the union.
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
            columns.append((name, _Column(full)))
        return cls(keys, columns)

    def chunks(self, size: int) -> Any:
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
            raise InputError([{"run": str(bad[0]), "field": "inputs", "value": _short(inputs[bad[0]]),
                               "rule": "each run must be a JSON object"}])
        return [str(i) for i in range(len(inputs))], inputs
    if not isinstance(inputs, dict) or not inputs:
        raise InputError([{"run": None, "field": "inputs", "value": _short(inputs),
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


def rows_to_columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Row dicts -> columns; numbers become float64 arrays, the rest object arrays."""
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
        else:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            cols[name] = arr
    return cols


def columns_to_json(columns: Mapping[str, Any], keys: list[str]) -> dict[str, dict[str, Any]]:
    """Columns -> ubertool's column form ``{"field": {"0": v, ...}}``, JSON-safe."""
    out: dict[str, dict[str, Any]] = {}
    n = len(keys)
    for name, col in columns.items():
        values = _json_values(col, n)
        if len(values) != n:
            raise ValueError(f"output {name} has {len(values)} values for {n} runs")
        out[name] = dict(zip(keys, values))
    return out


def _numeric_column(col: Any, n: int) -> bool:
    """Whether ``col`` is one float64, integer or boolean value per run, as numpy holds them
    (float32 is left out: orjson would write its own shorter digits, not those of the float64
    the other path makes of it)."""
    return (isinstance(col, np.ndarray) and col.shape == (n,) and n > 16
            and (col.dtype == np.float64 or col.dtype.kind in "iub"))


def _members_text(col: np.ndarray, names: list[bytes]) -> bytes:
    """``"key":value`` pairs of one numeric column, comma-separated: the text orjson
    writes for ``dict(zip(keys, _json_values(col, n)))`` (NaN and infinities as null),
    made from the array in one call instead of a float object and a dict entry a run."""
    values = orjson.dumps(np.ascontiguousarray(col), option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
    parts = names + values  # then interleaved: name, value, name, value ...
    parts[0::2], parts[1::2] = names, values
    return b"".join(parts)


def _json_values(col: Any, n: int) -> list[Any]:
    """One column as a list of JSON-safe Python values (NaN/Infinity -> None)."""
    if isinstance(col, np.ndarray) and col.dtype.kind == "f":
        if col.shape != (n,) and (col.ndim == 0 or col.size == 1):
            col = np.broadcast_to(col, (n,))
        if n <= 16 and col.ndim == 1:  # a few runs: Python's own checks cost less than two numpy calls
            values = col.tolist()
            return values if all(map(math.isfinite, values)) else [v if math.isfinite(v) else None
                                                                    for v in values]
        if np.isfinite(col).all():
            return col.tolist()
        values = col.astype(object)
        values[~np.isfinite(col)] = None
        return values.tolist()
    if isinstance(col, np.ndarray) and col.dtype.kind in "iub":
        return (np.broadcast_to(col, (n,)) if col.size == 1 and col.shape != (n,) else col).tolist()
    if isinstance(col, (np.ndarray, list, tuple)):
        values = col.tolist() if isinstance(col, np.ndarray) else list(col)
        if not set(map(type, values)) <= _SAFE_AS_IS:  # floats (NaN) or numpy values in it
            values = [json_safe(v) for v in values]
        return values * n if len(values) == 1 and n > 1 else values
    return [json_safe(col)] * n


_NUMBERS = frozenset({int, float})
_JSON_TYPES = frozenset({int, float, str, bool, type(None), list, dict})
_SAFE_AS_IS = frozenset({str, int, bool, type(None)})  # JSON-safe values that json_safe keeps


def json_safe(value: Any) -> Any:
    """Replace NaN/Infinity by None and numpy scalars/arrays by Python values."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 and isinstance(value, (str, int, float, bool, type(None))) else text[:80]


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


def _validate_rows(schema: type[BaseModel], keys: list[str], rows: list[dict[str, Any]],
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
    by_run = _validate_chunks(schema, chunks, len(rows), skip, keep)
    validated: dict[str, Any] = {"keys": good_keys, "rows": good_rows}
    if by_run:
        validated["errors"] = by_run
    return validated


def _validate_chunks(schema: type[BaseModel], chunks: Any, total: int, skip: bool,
                     sink: Callable[[list[str], Any], None],
                     as_text: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Validate (keys, rows) chunks; hand each chunk's valid, normalised rows (``as_text``:
    their JSON text) to ``sink``
    (only while no error makes the batch fail). Returns the errors of skipped runs."""
    adapter = _row_adapter(schema)
    listed: list[dict[str, Any]] = []     # errors for a refusal
    by_run: dict[str, list[dict[str, Any]]] = {}   # errors of skipped runs
    unlisted = unchecked = 0
    done = good = 0
    for part_keys, part in chunks:
        part = drop_blanks(part)
        done += len(part)
        try:
            valid = adapter.validate_python(part)
        except ValidationError as exc:
            if not skip:
                room = MAX_ERRORS - len(listed)
                listed += _errors(exc, part_keys, schema, limit=room)
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
        for err in _errors(exc, keys, schema):
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


def _errors(exc: ValidationError, run_keys: list[str] | None,
            schema: type[BaseModel] | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors(include_url=False, include_context=False)[:limit]:
        loc = list(err["loc"])
        run = None
        if run_keys is not None and loc and isinstance(loc[0], int):
            run = run_keys[loc.pop(0)]
        name = ".".join(str(p) for p in loc) or "inputs"
        rule = err["msg"]
        if err["type"] == "extra_forbidden":
            rule = _unknown_rule(name, schema)
        elif err["type"] in _RANGE_ERRORS and schema is not None:
            rule += _range_reason(name, schema)
        value = None if err["type"] == "missing" else _short(err.get("input"))
        errors.append({"run": run, "field": name, "value": value, "rule": rule})
    return errors


_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


@functools.lru_cache(maxsize=4096)
def _range_reason(name: str, schema: type[BaseModel]) -> str:
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
    """An input the model does not declare, with the closest declared name."""
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
