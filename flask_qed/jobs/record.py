"""The job record: what the store holds about a job, the record written at submission,
and the view a client is shown."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict

from .states import PENDING


class JobRecord(TypedDict, total=False):
    """A job as the store holds it (``data`` and ``inputs`` only when asked for)."""

    job_id: str
    app: str
    model: str | None
    version: str | None
    task: str
    status: str
    progress: int
    created: str           # ISO 8601, UTC, milliseconds, "Z"
    started: str | None
    finished: str | None
    attempts: int
    error: str | None
    queued_at: float       # epoch seconds: when last handed to the broker
    owner: str | None
    label: str             # the client's name for the job (flask_qed.jobs.label); not an input
    rows: int
    inputs: Any
    data: Any
    subscriber: dict[str, str]
    callback_base: str
    ogc: dict[str, Any]
    lease_until: float
    fingerprint: str       # what makes two runs identical (flask_qed.jobs.fingerprint)
    uploads: dict[str, str]  # form field → SHA-256 of the uploaded file
    cached_from: str | None  # the job whose result this one took (a cache hit, or a join)
    origin: dict[str, Any]  # that job's run, as RUN_FACTS of it
    host: str              # the host of the worker that ran it
    software: dict[str, str]  # versions of what ran it (flask_qed.jobs.prov.software)
    waits_for: dict[str, dict[str, str]] | None   # a chain's outer job: input -> step job and output
    steps: dict[str, str]                          # ... once its steps ended: input -> step job
    feeds: str                                     # a step: the job its output goes into


PUBLIC_FIELDS = ("job_id", "label", "app", "model", "version", "status", "progress", "created",
                 "started", "finished", "attempts", "error", "cached_from", "waits_for", "steps", "feeds", "data")
_SHOWN_WHEN_SET = ("label", "error", "cached_from", "waits_for", "steps", "feeds")
# What a job that took another's result keeps of that job's run (its provenance).
RUN_FACTS = ("job_id", "status", "error", "worker", "host", "software", "started", "finished", "attempts")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_created_lock = threading.Lock()
_last_created: list[datetime] = []


def created_iso() -> str:
    """``now_iso`` for a job's ``created``, strictly increasing within a process: two jobs
    made in one millisecond get successive milliseconds, so the listing (newest first,
    by ``created`` then id) keeps the order in which one gateway process took them."""
    stamp = datetime.now(timezone.utc)
    now = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
    with _created_lock:
        if _last_created and now <= _last_created[0]:
            now = _last_created[0] + timedelta(milliseconds=1)
        _last_created[:] = [now]
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_record(app: str, model: str | None, version: str | None, task: str) -> JobRecord:
    """The record written before the submit response returns. ``queued_at`` (epoch
    seconds) is when the job was last handed to the broker: the reconciler publishes
    a job again when it has waited too long since then (see flask_qed.reconciler)."""
    return {"app": app, "model": model, "version": version, "task": task, "status": PENDING,
            "progress": 0, "created": created_iso(), "started": None, "finished": None,
            "attempts": 0, "error": None, "queued_at": time.time()}


def public(record: dict[str, Any]) -> dict[str, Any]:
    """What a client sees: the record without internals; ``id`` kept for old clients;
    ``runs``: how many runs it holds."""
    view = {k: record[k] for k in PUBLIC_FIELDS if k in record}
    view["id"] = record["job_id"]
    if record.get("rows") is not None:
        view["runs"] = int(record["rows"])  # how many runs the job holds (a batch's rows)
    for name in _SHOWN_WHEN_SET:
        if view.get(name) is None:
            view.pop(name, None)
    return view


def run_facts(record: dict[str, Any]) -> dict[str, Any]:
    """What a job taking ``record``'s result keeps of its run (:data:`RUN_FACTS`)."""
    return {k: record[k] for k in RUN_FACTS if record.get(k) is not None}


def error_text(exc: BaseException) -> str:
    """A failure's message for the record: the error, never a traceback dump."""
    message = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:2000]
