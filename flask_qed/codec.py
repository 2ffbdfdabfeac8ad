"""JSON-safe values: what the science returns, made ready for JSON.

NaN and infinities become null and numpy scalars and arrays become Python values
(:func:`json_safe`); result columns become ubertool's column form
``{"field": {"0": v, ...}}``, as Python values (:func:`columns_to_json`) or, for a
numeric column, straight as JSON text (:func:`members_text`).

The lowest of the model modules: it imports nothing of flask_qed, so that the JSON
text layer (:mod:`flask_qed.jsonutil`) and the declarations can both use it.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import orjson

__all__ = ["json_safe", "columns_to_json", "numeric_column", "members_text"]


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


def numeric_column(col: Any, n: int) -> bool:
    """Whether ``col`` is one float64, integer or boolean value per run, as numpy holds them
    (float32 is left out: orjson would write its own shorter digits, not those of the float64
    the other path makes of it)."""
    return (isinstance(col, np.ndarray) and col.shape == (n,) and n > 16
            and (col.dtype == np.float64 or col.dtype.kind in "iub"))


def members_text(col: np.ndarray, names: list[bytes]) -> bytes:
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


_SAFE_AS_IS = frozenset({str, int, bool, type(None)})  # JSON-safe values that json_safe keeps
