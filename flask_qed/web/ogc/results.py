"""A finished OGC job's outputs, as its execute request selected them and asked them
transmitted: by value, or by reference to ``/jobs/{jobID}/results/{outputID}``."""
from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from flask import Response

from ... import jsonutil
from ...jobs.outputs import outputs_of
from ...jobs.states import FAILURE
from ...jobs.steps import step_failure
from ...model import Model
from ...results import EXCEEDS
from .describe import JSON, REL
from .exceptions import OgcError


def results_of(record: dict[str, Any], model: Model | None, selected: bool = True) -> dict[str, Any]:
    """The outputs of a successful job: {output id: value}; with ``selected``, only those
    its request selected. A batch's outputs are arrays in run order (one value for one run)."""
    raw = record.get("data")
    data = jsonutil.loads(raw) if isinstance(raw, (bytes, str)) else (raw or {})
    ogc = record.get("ogc") or {}
    found = outputs_of(data)
    if model is not None and model.batch and found.columns:
        as_array = ogc.get("array", int(record.get("rows") or 1) > 1)
        keys = list(next(iter(found.values.values()), {}))
        values = {name: [col.get(k) for k in keys] for name, col in found.values.items()}
        flagged = data.get(EXCEEDS) if model.risk is not None else None
        if isinstance(flagged, dict):  # a risk model's exceedances: one more output, run by run
            values[EXCEEDS] = [flagged.get(k, []) for k in keys]
        if not as_array:
            values = {name: v[0] if v else None for name, v in values.items()}
    else:
        values = dict(data) if isinstance(data, dict) else found.values
    wanted = ogc.get("outputs") if selected else None
    if wanted:
        values = {k: values[k] for k in wanted if k in values}
    return values


def output_href(base: str, job_id: str, name: str) -> str:
    """Where one output of a job is served (what an output sent by reference points at)."""
    return f"{base}/jobs/{job_id}/results/{quote(name, safe='')}"


def results_response(record: dict[str, Any], model: Model | None, base: str, default_mode: str,
                     headers: dict[str, str] | None = None) -> Response:
    """The outputs as the request asked: ``document``, a JSON object of outputs; ``raw``,
    one output's value alone, several as multipart/related parts named by output id.
    An output asked ``transmissionMode: reference`` is a link to its own URL (document),
    an empty part with ``Content-Location`` (raw, several), or — when every output is by
    reference and the response raw — a ``204`` with a ``Link`` header for each."""
    ogc = record.get("ogc") or {}
    mode = ogc.get("response", default_mode)
    refs = set(ogc.get("references") or ())
    values = results_of(record, model)
    hrefs = {name: output_href(base, record["job_id"], name) for name in values if name in refs}
    headers = dict(headers or {})
    if mode == "document":
        body = {name: ({"href": hrefs[name], "rel": REL + "results", "type": JSON, "title": name}
                       if name in hrefs else value) for name, value in values.items()}
        return Response(jsonutil.dumps(body), mimetype=JSON, headers=headers)
    if values and len(hrefs) == len(values):
        links = [f'<{href}>; rel="{REL}results"; type="{JSON}"; title="{name}"' for name, href in hrefs.items()]
        response = Response(status=204, headers=headers)
        for link in links:
            response.headers.add("Link", link)
        return response
    if len(values) == 1:
        return Response(jsonutil.dumps(next(iter(values.values()))), mimetype=JSON, headers=headers)
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in values.items():
        head = (b"--" + boundary.encode() + b"\r\nContent-Type: application/json\r\nContent-ID: <"
                + name.encode() + b">\r\n")
        if name in hrefs:
            parts.append(head + b"Content-Location: " + hrefs[name].encode() + b"\r\n\r\n\r\n")
        else:
            parts.append(head + b"\r\n" + jsonutil.dumps(value) + b"\r\n")
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return Response(body, headers=headers, content_type=f'multipart/related; boundary="{boundary}"; '
                                                        f'type="application/json"')


_CLIENT_ERRORS = ("ValueError", "InputError", "ArithmeticError", "ZeroDivisionError", "FloatingPointError",
                  "OverflowError")


def failure(record: dict[str, Any]) -> OgcError:
    """A failed job's exception: bad values found by the science are the client's (422).
    A chain failed by a step answers as that step's own failure does (the innermost, when
    steps nest); a step cancelled or expired makes it a conflict (409), as the native API
    answers a job without results."""
    error = record.get("error") or "the job failed"
    ended, cause = step_failure(error)
    if ended is not None and ended != FAILURE:
        return OgcError(409, "job-failed", error)
    if cause.split(":", 1)[0] in _CLIENT_ERRORS:
        return OgcError(422, "invalid-input", error)
    return OgcError(500, "job-failed", error)
