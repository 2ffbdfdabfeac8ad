"""A job's record and results as HTTP answers: stored data spliced in as stored,
never parsed again; large data streamed a piece at a time; CSV for tables of runs."""
from __future__ import annotations

from typing import Any

from flask import Response, request

from ... import jobs, jsonutil
from ...errors import ApiError
from ...results import packed_table
from ...stores.base import unpack

STREAM_OVER = 1 << 20  # bytes of stored (compressed) data past which an answer is streamed


def job_response(record: dict[str, Any]) -> Response:
    """The public record; stored result data (``packed``) is spliced in as stored, never
    re-parsed; large data is decompressed and sent a piece at a time."""
    packed = record.pop("data", None)
    body = jsonutil.dumps(jobs.public(record))
    if packed is None:
        return Response(body, mimetype="application/json")
    return Response(spliced(body[:-1] + b',"data":', packed, b"}"), mimetype="application/json")


def spliced(head: bytes, packed: bytes, tail: bytes) -> Any:
    """``head`` + the JSON text of ``packed`` + ``tail``: whole when small, else a stream."""
    if len(packed) <= STREAM_OVER:
        return [head + unpack(packed, raw=True) + tail]

    def stream() -> Any:
        yield head
        yield from jsonutil.unpacked_pieces(packed)
        yield tail
    return stream()


def results_response(record: dict[str, Any]) -> Response:
    """A finished job's data alone; ``Accept: text/csv`` (or ``?f=csv``) gives a table
    of runs for results in column form."""
    if record.get("status") != jobs.SUCCESS:
        detail = f": {record['error']}" if record.get("error") else ""
        raise ApiError(409, f"job {record['job_id']} is {record.get('status')}; no results{detail}")
    packed = record.get("data")
    wanted = request.args.get("f") or request.accept_mimetypes.best_match(
        ["application/json", "text/csv"], default="application/json")
    if wanted not in ("csv", "text/csv"):
        if packed is None:
            return Response(b"{}", mimetype="application/json")
        return Response(spliced(b"", packed, b""), mimetype="application/json")
    # Parsed a field at a time into compact columns: a large batch is never whole as Python objects.
    table = packed_table(packed) if packed is not None else None
    if table is None:
        raise ApiError(406, "these results are not a table of runs; ask for application/json")
    name = f"{record.get('app')}-{record.get('model')}-{record['job_id']}.csv"
    return Response(table.rows(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
