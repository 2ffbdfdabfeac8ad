"""Job records for apps written the old way.

An old app calls ``.apply_async`` on a task of the shared Celery app and
hands the task id to its client. Celery's signals give those tasks the same
lifecycle as declared models: the record is written when the task is
published (before the old handler can answer), and the worker records
STARTED, the returned data, the error or the revocation.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable

from celery import signals
from flask import g, has_request_context, request

from . import jobs
from .model import json_safe
from .runtime import Runtime
from .stores import JobNotFound, StoreUnavailable

logger = logging.getLogger(__name__)

_runtime: Runtime | None = None


def _legacy_app(task_name: str) -> str | None:
    if _runtime is None:
        return None
    app = next((a for a in _runtime.apps if a.owns_task(task_name)), None)
    return app.name if app else None


def _on_publish(sender: str | None = None, headers: dict | None = None, **_: Any) -> None:
    """Write the job record before the task is queued (and so before the old handler answers).

    Celery logs and swallows a signal handler's exception, so a failure is noted
    on the request (``g``); :func:`guard_legacy_app` then answers 503 instead of
    the handler's 202, and the worker writes the record when the job starts.
    """
    app = _legacy_app(sender or "")
    if app is None or not headers or headers.get("retries"):
        return  # a retry re-publishes a job whose record exists
    record = jobs.new_record(app, None, None, sender or "")
    if has_request_context():  # the job belongs to the client whose request queued it
        record["owner"] = request.environ.get("qed.client")
    try:
        _runtime.store.create(headers["id"], record)  # type: ignore[union-attr]
    except ValueError:
        return  # already recorded
    except StoreUnavailable as exc:
        logger.error("legacy task %s: no job record: %s", headers["id"], exc)
        if has_request_context():
            g.qed_store_error = exc
        return
    if has_request_context():
        g.setdefault("qed_unqueued", set()).add(headers["id"])


def _on_published(headers: dict | None = None, **_: Any) -> None:
    if headers and has_request_context():
        g.get("qed_unqueued", set()).discard(headers.get("id"))


def guard_legacy_app(app: Any, error_response: Callable[..., Any]) -> None:
    """Give an old-way Flask app the job guarantees: a job whose record could not be
    written is answered 503, and one that could not be queued is recorded as failed."""

    @app.after_request
    def _store_failed(response: Any) -> Any:
        if g.get("qed_store_error") is not None:
            return error_response(503, "the job store is unavailable, try again later")
        return response

    @app.teardown_request
    def _not_queued(exc: BaseException | None) -> None:
        for job_id in list(g.get("qed_unqueued", ())):
            try:
                _runtime.store.update(job_id, {"status": jobs.FAILURE, "finished": jobs.now_iso(),  # type: ignore[union-attr]
                                               "error": "the job queue was unavailable; submit again"})
            except (StoreUnavailable, JobNotFound) as err:
                logger.error("legacy job %s: could not record that it was not queued: %s", job_id, err)


def _update(task_id: str | None, task: Any, fields: dict[str, Any]) -> None:
    name = getattr(task, "name", "") or ""
    app = _legacy_app(name)
    if task_id is None or app is None:
        return
    store = _runtime.store  # type: ignore[union-attr]
    try:
        store.update(task_id, fields)
    except JobNotFound:  # its record could not be written when it was queued
        store.create(task_id, {**jobs.new_record(app, None, None, name), **fields})


def _on_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    _update(task_id, task, {"status": jobs.STARTED, "progress": 10, "started": jobs.now_iso()})


def _on_postrun(task_id: str | None = None, task: Any = None, retval: Any = None,
                state: str | None = None, **_: Any) -> None:
    if state == "SUCCESS":
        if isinstance(retval, (str, bytes)):  # old apps often returned JSON text
            try:
                retval = json.loads(retval)
            except ValueError:
                pass
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
    # Named in flask_qed.brokers.OWN_RECEIVERS: nothing to do for the jobs service's own jobs.
    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid="qed_publish")
    signals.after_task_publish.connect(_on_published, weak=False, dispatch_uid="qed_published")
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="qed_prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="qed_postrun")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="qed_failure")
    signals.task_revoked.connect(_on_revoked, weak=False, dispatch_uid="qed_revoked")
