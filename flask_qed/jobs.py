"""The job lifecycle: states, the record written at submission, and its public view."""
from __future__ import annotations

import time
from typing import Any

from .stores.base import utcnow

PENDING, STARTED, SUCCESS, FAILURE, REVOKED = "PENDING", "STARTED", "SUCCESS", "FAILURE", "REVOKED"
TERMINAL = frozenset({SUCCESS, FAILURE, REVOKED})

PUBLIC_FIELDS = ("job_id", "app", "model", "version", "status", "progress", "created",
                 "started", "finished", "attempts", "error", "data")


def now_iso() -> str:
    return utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_record(app: str, model: str | None, version: str | None, task: str) -> dict[str, Any]:
    """The record written before the submit response returns. ``queued_at`` (epoch
    seconds) is when the job was last handed to the broker: the reconciler publishes
    a job again when it has waited too long since then (see flask_qed.reconciler)."""
    return {"app": app, "model": model, "version": version, "task": task, "status": PENDING,
            "progress": 0, "created": now_iso(), "started": None, "finished": None,
            "attempts": 0, "error": None, "queued_at": time.time()}


def public(record: dict[str, Any]) -> dict[str, Any]:
    """What a client sees: the record without internals; ``id`` kept for old clients."""
    view = {k: record[k] for k in PUBLIC_FIELDS if k in record}
    view["id"] = record["job_id"]
    if view.get("error") is None:
        view.pop("error", None)
    return view


def error_text(exc: BaseException) -> str:
    """A failure's message for the record: the error, never a traceback dump."""
    message = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:2000]
