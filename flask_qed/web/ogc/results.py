"""A finished OGC job's outputs, as its execute request selected them."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from ... import jsonutil
from ...model import Model
from ...results import is_tabular
from .exceptions import OgcError

JSON = "application/json"


def results_of(record: dict[str, Any], model: Model | None) -> dict[str, Any]:
    """The outputs of a successful job: {output id: value}, as its request selected."""
    raw = record.get("data")
    data = jsonutil.loads(raw) if isinstance(raw, (bytes, str)) else (raw or {})
    ogc = record.get("ogc") or {}
    if model is not None and model.batch and is_tabular(data):
        as_array = ogc.get("array", int(record.get("rows") or 1) > 1)
        columns = data["outputs"]
        keys = list(next(iter(columns.values()), {}))
        values = {name: [col.get(k) for k in keys] for name, col in columns.items()}
        if not as_array:
            values = {name: v[0] if v else None for name, v in values.items()}
    else:
        values = dict(data) if isinstance(data, dict) else {"result": data}
    wanted = ogc.get("outputs")
    if wanted:
        values = {k: values[k] for k in wanted if k in values}
    return values


def results_response(values: dict[str, Any], mode: str, headers: dict[str, str] | None = None) -> Response:
    """``document``: a JSON object of outputs; ``raw``: one output's value alone, several
    as multipart/related parts named by output id."""
    if mode == "document":
        return Response(jsonutil.dumps(values), mimetype=JSON, headers=headers)
    if len(values) == 1:
        return Response(jsonutil.dumps(next(iter(values.values()))), mimetype=JSON, headers=headers)
    boundary = uuid.uuid4().hex
    parts = [b"--" + boundary.encode() + b"\r\nContent-Type: application/json\r\nContent-ID: <"
             + name.encode() + b">\r\n\r\n" + jsonutil.dumps(value) + b"\r\n" for name, value in values.items()]
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return Response(body, headers=headers, content_type=f'multipart/related; boundary="{boundary}"; '
                                                        f'type="application/json"')


def failure(record: dict[str, Any]) -> OgcError:
    """A failed job's exception: bad values found by the science are the client's (422)."""
    error = record.get("error") or "the job failed"
    if error.split(":", 1)[0] in ("ValueError", "InputError", "ArithmeticError", "ZeroDivisionError",
                                  "FloatingPointError", "OverflowError"):
        return OgcError(422, "invalid-input", error)
    return OgcError(500, "job-failed", error)
