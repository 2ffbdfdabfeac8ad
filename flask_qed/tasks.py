"""The shared Celery app and the one task per declared model.

Settings make work survive crashes: JSON only, late acknowledgement, a job
whose worker died is re-queued (``task_reject_on_worker_lost``), one message
prefetched at a time, soft and hard time limits. State lives in the job
store, so Celery results are off. A task is a thin adapter: load the job,
run the model, store the outcome; it is idempotent by job id.
"""
from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded

from . import jobs
from .model import InputError, Model
from .plugins import App
from .runtime import Runtime
from .stores import JobNotFound, StoreUnavailable

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a job that kills its worker this often is failed, not retried forever


def create_celery(runtime: Runtime | None = None) -> Celery:
    """Build the shared Celery app for ``runtime`` (by default: the environment)."""
    runtime = runtime or Runtime.load()
    s = runtime.settings
    celery = Celery("flask_qed", set_as_current=True)
    celery.conf.update(
        broker_url=s.broker_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": s.visibility_timeout,
            # Sweep for jobs of dead workers often enough to honour the timeout
            # (kombu's default sweep runs only every ~100 s).
            "unacked_restore_interval": max(1, min(10, s.visibility_timeout // 3)),
            "unacked_restore_throttle": 1,
        },
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_soft_time_limit=s.task_soft_time_limit, task_time_limit=s.task_time_limit,
        task_ignore_result=True, result_backend=None,
        task_default_queue="flask_qed",
        imports=[m for app in runtime.apps for m in app.task_modules],
        worker_hijack_root_logger=False,
    )
    celery.qed = runtime  # type: ignore[attr-defined]
    for app in runtime.apps:
        for model in app.models:
            _register(celery, runtime, app, model)
    if any(app.factory for app in runtime.apps):
        from .legacy import connect_legacy_signals
        connect_legacy_signals(runtime)
    return celery


def _register(celery: Celery, runtime: Runtime, app: App, model: Model) -> None:
    @celery.task(name=app.task_name(model), bind=True, autoretry_for=(StoreUnavailable,),
                 retry_backoff=True, retry_backoff_max=60, max_retries=8)
    def run_model(task: Task, job_id: str) -> None:
        run_job(runtime, model, job_id, worker=task.request.hostname or "")


def run_job(runtime: Runtime, model: Model, job_id: str, worker: str = "") -> None:
    """Run one job to SUCCESS or FAILURE; safe to run again for the same id."""
    store = runtime.store
    try:
        record = store.get(job_id, inputs=True, data=False)
    except JobNotFound:
        logger.warning("job %s: unknown or expired, nothing to run", job_id)
        return
    if record["status"] in jobs.TERMINAL:
        logger.info("job %s: already %s, not run again", job_id, record["status"])
        return
    attempts = int(record.get("attempts") or 0) + 1
    if attempts > MAX_ATTEMPTS:
        store.update(job_id, {"status": jobs.FAILURE, "finished": jobs.now_iso(),
                              "error": f"WorkerLost: the job stopped its worker {MAX_ATTEMPTS} times"})
        return
    store.update(job_id, {"status": jobs.STARTED, "progress": 10, "started": jobs.now_iso(),
                          "attempts": attempts, "worker": worker})
    def progress(fraction: float) -> None:
        if fraction < 1.0:  # 10 % when started, 100 % only with the result
            store.update(job_id, {"progress": 10 + int(85 * fraction)})

    try:
        data = model.run(record["inputs"], progress=progress)
    except SoftTimeLimitExceeded:
        _fail(store, job_id, "TimeLimitExceeded: the job ran past its time limit")
        return
    except (InputError, ValueError, ArithmeticError, TypeError, KeyError) as exc:
        logger.warning("job %s failed: %s", job_id, exc)
        _fail(store, job_id, jobs.error_text(exc))
        return
    except Exception as exc:  # the science must not take the worker down with it
        logger.exception("job %s failed", job_id)
        _fail(store, job_id, jobs.error_text(exc))
        return
    store.update(job_id, {"status": jobs.SUCCESS, "progress": 100, "finished": jobs.now_iso(),
                          "data": data})
    logger.info("job %s: %s.%s done", job_id, record.get("app"), model.name)


def _fail(store: Any, job_id: str, message: str) -> None:
    store.update(job_id, {"status": jobs.FAILURE, "finished": jobs.now_iso(), "error": message})
