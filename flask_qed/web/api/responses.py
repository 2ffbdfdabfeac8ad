"""A job's record and results as HTTP answers: stored data spliced in as stored,
never parsed again; large data streamed a piece at a time; CSV for tables of runs."""
from __future__ import annotations

import re
from typing import Any, Mapping

from flask import Response, request

from ... import jobs, jsonutil
from ...errors import ApiError
from ...jobs.outputs import NoSuchOutput, csv_text, read_outputs
from ...results import other_csv, packed_table, with_units
from ...tablepack import read_table
from ...stores.base import unpack
from ..flags import yes_or_no

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


def finished(record: dict[str, Any]) -> None:
    """A job without results (queued, running, failed, cancelled) is a 409 that says why."""
    if record.get("status") != jobs.SUCCESS:
        detail = f": {record['error']}" if record.get("error") else ""
        raise ApiError(409, f"job {record['job_id']} is {record.get('status')}; no results{detail}")


_FORMATS = {"json": False, "application/json": False, "csv": True, "text/csv": True}


def wants_csv(strict: bool = False) -> bool:
    """``?f=csv``, or an ``Accept`` header that prefers CSV to JSON. ``strict`` (a route
    that answers results, asked before anything is read): an ``f`` other than json or csv
    is a 400, and an ``Accept`` that takes neither (``image/png``) a 406."""
    wanted = _query("f")
    if wanted:  # (blank: not given)
        if strict and wanted.lower() not in _FORMATS:
            raise ApiError(400, f"f: {wanted[:40]!r} is neither json nor csv")
        return _FORMATS.get(wanted.lower(), False)
    return _best_of_json_or_csv(strict) == "text/csv"


def _query(name: str) -> str | None:
    """A query parameter, or None. (werkzeug's ``args.get`` raises and catches an HTTP
    exception for every name missing: most requests have no query string at all.)"""
    args = request.args
    return args.get(name) if args else None


_JSON_FIRST = frozenset(("", "*/*", "application/json"))


def _best_of_json_or_csv(strict: bool = False) -> str:
    """JSON or CSV, as the ``Accept`` header ranks them (JSON when they tie); the usual
    headers that tie or name JSON alone are not parsed. ``strict``: a header that takes
    neither is a 406 (else JSON is answered)."""
    header = request.headers.get("Accept", "")
    if header in _JSON_FIRST:
        return "application/json"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    if best is not None:
        return best
    # werkzeug matches a range with parameters (``application/json; charset=utf-8``) to no
    # offer, and drops ``*`` and a ``q`` written ``.2`` (Java's default header): read the
    # ranges alone, then.
    taken = _ranges(header)
    if taken & _TAKE_JSON:
        return "application/json"
    if taken & _TAKE_CSV:
        return "text/csv"
    if strict:
        raise ApiError(406, f"results are application/json or text/csv; Accept: {header[:80]} takes neither")
    return "application/json"


def _ranges(header: str) -> set[str]:
    """The media ranges an ``Accept`` header takes (``q`` above 0, or unreadable), bare."""
    taken = set()
    for part in header.split(",")[:50]:
        media, *params = part.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    pass
        if quality > 0:
            taken.add(media.strip().lower())
    return taken


_TAKE_JSON = frozenset({"*", "*/*", "application/*", "application/json"})
_TAKE_CSV = frozenset({"text/*", "text/csv"})


def units_asked() -> bool:
    """``?units=1``: a CSV header names each column's units, ``out_cw (ug/L)``."""
    value = _query("units")
    try:
        return bool(yes_or_no(value))
    except ValueError:
        raise ApiError(400, f"units: {str(value)[:40]!r} is neither 1 nor 0 (true or false)") from None


def results_response(record: dict[str, Any], units: Mapping[str, str] | None = None) -> Response:
    """A finished job's data alone; ``Accept: text/csv`` (or ``?f=csv``) gives its table
    (:mod:`flask_qed.results`): runs, a series, a split table or records per feature;
    with ``units``, its header names each column's units where it has any. A batch that
    skipped invalid runs says how many (``Skipped-Runs``) and links their list."""
    finished(record)
    packed = record.get("data")
    if not wants_csv():
        if packed is None:
            return Response(b"{}", mimetype="application/json")
        return Response(spliced(b"", packed, b""), mimetype="application/json")
    # A large batch's columns as the worker kept them (flask_qed.tablepack); else a table of
    # runs parsed a field at a time into compact columns (a large batch is never whole as
    # Python objects), or other results as a table where their shape makes one.
    # (read with as_stored: a result kept as its table alone has the mark for data, unread)
    table = read_table(record["table"]) if record.get("table") else None
    if table is None and packed is not None:
        table = packed_table(packed)  # column form; else another shape, read once (other_csv)
    rows = table.rows() if table is not None else other_csv(packed) if packed is not None else None
    if rows is None:
        raise ApiError(406, "these results have no table form (not runs, a series, a split table or "
                            "records per feature); ask for application/json")
    if units:
        rows = with_units(rows, units)
    name = f"{record.get('app')}-{record.get('model')}-{record['job_id']}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    skipped = len(table.skipped) if table is not None else 0  # read with the table: no second pass
    if skipped:  # the CSV holds the runs computed alone: say that others were left out, and where
        headers["Skipped-Runs"] = str(skipped)
        headers["Link"] = f'</jobs/{record["job_id"]}/skipped?f=csv>; rel="related"; type="text/csv"; ' \
                          f'title="the {skipped} runs skipped as invalid"'
    return Response(rows, mimetype="text/csv", headers=headers)


def output_response(record: dict[str, Any], name: str, units: Mapping[str, str] | None = None) -> Response:
    """One output of a finished job: its value as JSON (a column of runs keyed by run for
    a batch); ``Accept: text/csv`` (or ``?f=csv``) gives a column, a series or a table of
    rows as CSV, its header naming the output's units with ``units``. An output the data
    does not hold is a 404 that names those it does."""
    finished(record)
    outputs = read_outputs(record.get("data"), [name])
    try:
        value = outputs.one(name)
    except NoSuchOutput as exc:
        raise ApiError(404, str(exc), [{"field": "output", "value": name, "rule": "not an output of this job",
                                        "outputs": exc.available}]) from None
    if not wants_csv():
        return Response(jsonutil.dumps(value), mimetype="application/json")
    rows = csv_text(name, value, outputs.columns, outputs.index)
    if rows is None:
        raise ApiError(406, f"output {name} is not a column, series or table; ask for application/json")
    if units:
        rows = with_units(rows, units)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_",
                      f"{record.get('app')}-{record.get('model')}-{record['job_id']}-{name}.csv")
    return Response(rows, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
