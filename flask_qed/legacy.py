"""Job records for apps written the old way.

An old app calls ``.apply_async`` on a task of the shared Celery app and
hands the task id to its client. Celery's signals give those tasks the same
lifecycle as declared models: the record is written when the task is
published (before the old handler can answer), and the worker records
STARTED, the returned data, the error or the revocation.
"""
from __future__ import annotations

import logging
from typing import Any

from celery import signals

from . import jobs
from .model import json_safe
from .runtime import Runtime
from .stores import JobNotFound

logger = logging.getLogger(__name__)

_runtime: Runtime | None = None


def _legacy_app(task_name: str) -> str | None:
    if _runtime is None:
        return None
    app = next((a for a in _runtime.apps if a.owns_task(task_name)), None)
    return app.name if app else None


def _on_publish(sender: str | None = None, headers: dict | None = None, **_: Any) -> None:
    app = _legacy_app(sender or "")
    if app is None or not headers:
        return
    record = jobs.new_record(app, None, None, sender or "")
    _runtime.store.create(headers["id"], record)  # type: ignore[union-attr]


def _update(task_id: str | None, task: Any, fields: dict[str, Any]) -> None:
    if task_id is None or _legacy_app(getattr(task, "name", "") or "") is None:
        return
    try:
        _runtime.store.update(task_id, fields)  # type: ignore[union-attr]
    except JobNotFound:
        logger.warning("legacy task %s has no job record", task_id)


def _on_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    _update(task_id, task, {"status": jobs.STARTED, "progress": 10, "started": jobs.now_iso()})


def _on_postrun(task_id: str | None = None, task: Any = None, retval: Any = None,
                state: str | None = None, **_: Any) -> None:
    if state == "SUCCESS":
        data = json_safe(retval if isinstance(retval, dict) else {"result": retval})
        _update(task_id, task, {"status": jobs.SUCCESS, "progress": 100,
                                "finished": jobs.now_iso(), "data": data})


def _on_failure(task_id: str | None = None, exception: BaseException | None = None,
                sender: Any = None, **_: Any) -> None:
    _update(task_id, sender, {"status": jobs.FAILURE, "finished": jobs.now_iso(),
                              "error": jobs.error_text(exception or RuntimeError("failed"))})


def _on_revoked(request: Any = None, sender: Any = None, **_: Any) -> None:
    _update(getattr(request, "id", None), sender, {"status": jobs.REVOKED, "finished": jobs.now_iso()})


def connect_legacy_signals(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime
    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid="qed_publish")
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="qed_prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="qed_postrun")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="qed_failure")
    signals.task_revoked.connect(_on_revoked, weak=False, dispatch_uid="qed_revoked")
