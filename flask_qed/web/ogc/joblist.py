"""``GET /ogcapi/jobs``: the job list with OGC's filters (processID, status, type,
datetime, minDuration, maxDuration), read through :mod:`flask_qed.jobs.listing`."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlencode

from flask import request

from ... import jobs
from ...jobs import listing
from ...jobs.status import NATIVE, process_id, status_info
from ...model import Model
from ...plugins import App
from ...runtime import Runtime
from ..security import caller_of
from .args import int_arg, multi
from .describe import JSON
from .exceptions import OgcError
from .openapi30 import MAX_LIMIT


def job_list_page(runtime: Runtime, processes: dict[str, tuple[App, Model]], root: str) -> dict[str, Any]:
    """Jobs newest first: with keys on, the caller's own (``admin``: all); filtered by
    processID, status, type, datetime (created), minDuration/maxDuration (s)."""
    limit = int_arg("limit", 10, 1, MAX_LIMIT)
    pids = set(multi("processID"))
    statuses = multi("status")
    bad = [s for s in statuses if s not in NATIVE]
    if bad:
        raise OgcError(400, "invalid-query-parameter-value",
                       f"status {bad[0]!r} is not one of {', '.join(NATIVE)}")
    wanted_status = {NATIVE[s] for s in statuses}
    start, end = _interval(request.args.get("datetime"))
    keep = _filter(processes, pids, wanted_status, start, end,
                   int_arg("minDuration", -1, 0, None), int_arg("maxDuration", -1, 0, None))
    app = model = None
    if len(pids) == 1 and next(iter(pids)) in processes:
        one_app, one_model = processes[next(iter(pids))]
        app, model = one_app.name, one_model.name
    since = listing.iso(datetime.fromtimestamp(start, timezone.utc)) if start is not None else None
    found: list[dict[str, Any]] = []
    cursor = None
    types = set(multi("type"))
    if not types or "process" in types:
        try:
            found, cursor = listing.page(
                runtime.store, limit, request.args.get("next") or None, keep=keep, cursor_name="next",
                owner=caller_of(request.environ).list_owner(), app=app, model=model,
                status=next(iter(wanted_status)) if len(wanted_status) == 1 else None, since=since)
        except listing.QueryError as exc:
            raise OgcError(400, "invalid-query-parameter-value", str(exc)) from None
    links = [{"href": request.url, "rel": "self", "type": JSON, "title": "this document"}]
    if cursor is not None:
        query = [(k, v) for k, v in request.args.items(multi=True) if k != "next"]
        links.append({"href": f"{root}/jobs?{urlencode(query + [('next', cursor)])}", "rel": "next",
                      "type": JSON, "title": "next page"})
    return {"jobs": [status_info(r, root) for r in found], "links": links}


def _filter(processes: dict[str, Any], pids: set[str], statuses: set[str], start: float | None,
            end: float | None, min_d: int, max_d: int) -> Callable[[dict[str, Any]], bool]:
    now = time.time()

    def keep(record: dict[str, Any]) -> bool:
        task = process_id(record)
        if task not in processes or (pids and task not in pids):
            return False
        if statuses and record.get("status") not in statuses:
            return False
        created = _seconds(record.get("created"))
        if end is not None and (created is None or created > end + 0.0005):
            return False
        if start is not None and (created is None or created < start - 0.0005):
            return False
        if min_d >= 0 or max_d >= 0:
            started = _seconds(record.get("started"))
            finished = _seconds(record.get("finished")) if record.get("status") in jobs.TERMINAL else now
            if started is None or finished is None:
                return False
            duration = finished - started
            if (min_d >= 0 and duration < min_d) or (max_d >= 0 and duration > max_d):
                return False
        return True
    return keep


def _moment(text: str) -> float:
    try:
        return listing.parse_time(text).timestamp()
    except listing.QueryError:
        raise OgcError(400, "invalid-query-parameter-value",
                       f"datetime must be RFC 3339 times, got {text[:40]!r}") from None


def _seconds(stamp: str | None) -> float | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else None


def _interval(text: str | None) -> tuple[float | None, float | None]:
    if not text:
        return None, None
    if "/" not in text:
        moment = _moment(text)
        return moment, moment
    start, _, end = text.partition("/")
    return (None if start in ("", "..") else _moment(start)), (None if end in ("", "..") else _moment(end))
