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
into the value of the ``UPLOAD_FIELD`` input).

:class:`Model` is what the framework derives everything from: the run and
description endpoints, the Celery task, validation and the JSON Schema.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, TypeAdapter, ValidationError

logger = logging.getLogger(__name__)

__all__ = ["Model", "InputError", "rows_to_columns", "columns_to_json", "json_safe"]


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
            read_upload=get("read_upload"),
        )

    # -- validation ---------------------------------------------------------
    def validate(self, inputs: Any) -> Any:
        """Validate JSON inputs (see :meth:`_validate`); a validator that crashes on odd
        input (overflow and the like) is reported as invalid input, never as a 500."""
        try:
            return self._validate(inputs)
        except InputError:
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError, RecursionError) as exc:
            logger.warning("model %s: validator crashed on input: %r", self.name, exc)
            raise InputError([{"run": None, "field": "inputs", "value": None,
                               "rule": f"could not be validated: {type(exc).__name__}: {exc}"}]) from None

    def _validate(self, inputs: Any) -> Any:
        """Validate JSON inputs; return the normalised, JSON-ready inputs.

        BATCH models take ubertool's column form, a single run or a row list
        and return a list of row dicts; others return one dict.
        Raises :class:`InputError` naming the run, field, value and rule.
        """
        if not self.batch:
            if not isinstance(inputs, dict):
                raise InputError([{"run": None, "field": "inputs", "value": _short(inputs),
                                   "rule": "must be a JSON object"}])
            try:
                return self.inputs.model_validate(inputs).model_dump(mode="json")
            except ValidationError as exc:
                raise InputError(_errors(exc, run_keys=None)) from None
        keys, rows = to_rows(inputs)
        if len(rows) > self.max_rows:
            raise InputError([{"run": None, "field": "inputs", "value": len(rows),
                               "rule": f"at most {self.max_rows} runs per job"}])
        adapter = _row_adapter(self.inputs)
        try:
            valid = adapter.validate_python(rows)
        except ValidationError as exc:
            raise InputError(_errors(exc, run_keys=keys)) from None
        return {"keys": keys, "rows": adapter.dump_python(valid, mode="json")}

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
        data: dict[str, dict[str, dict[str, Any]]] = {"inputs": {}, "outputs": {}}
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


_ADAPTERS: dict[type, TypeAdapter] = {}
_INT_KEY = re.compile(r"^-?[0-9]{1,18}$")


def _row_adapter(schema: type[BaseModel]) -> TypeAdapter:
    if schema not in _ADAPTERS:
        _ADAPTERS[schema] = TypeAdapter(list[schema])  # type: ignore[valid-type]
    return _ADAPTERS[schema]


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
    for name in names:
        values = [r.get(name) for r in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
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


def _json_values(col: Any, n: int) -> list[Any]:
    """One column as a list of JSON-safe Python values (NaN/Infinity -> None)."""
    if isinstance(col, np.ndarray) and col.dtype.kind == "f":
        col = np.broadcast_to(col, (n,)) if col.ndim == 0 or col.size == 1 else col
        if np.isfinite(col).all():
            return col.tolist()
        values = col.astype(object)
        values[~np.isfinite(col)] = None
        return values.tolist()
    if isinstance(col, np.ndarray) and col.dtype.kind in "iub":
        return (np.broadcast_to(col, (n,)) if col.size == 1 else col).tolist()
    if isinstance(col, (np.ndarray, list, tuple)):
        values = [json_safe(v) for v in (col.tolist() if isinstance(col, np.ndarray) else col)]
        return values * n if len(values) == 1 and n > 1 else values
    return [json_safe(col)] * n


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


def _errors(exc: ValidationError, run_keys: list[str] | None) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        run = None
        if run_keys is not None and loc and isinstance(loc[0], int):
            run = run_keys[loc.pop(0)]
        errors.append({
            "run": run,
            "field": ".".join(str(p) for p in loc) or "inputs",
            "value": _short(err.get("input")),
            "rule": err["msg"],
        })
    return errors
