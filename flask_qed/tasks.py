"""The shared Celery app and the one task per declared model.

Settings make work survive crashes: JSON only, late acknowledgement, a job
whose worker died is re-queued (``task_reject_on_worker_lost``), one message
prefetched at a time, soft and hard time limits. State lives in the job
store, so Celery results are off. A task is a thin adapter: load the job,
run the model, store the outcome; it is idempotent by job id.
"""
from __future__ import annotations

import logging
import threading
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


class JobBusy(Exception):
    """Another run holds the job (a duplicate delivery, or its holder's lease has not lapsed)."""


class ModelTask(Task):
    """Base of the declared models' tasks: a job whose task dies in a way the task
    body cannot catch (the hard time limit) is still recorded as failed."""

    runtime: Runtime

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        job_id = args[0] if args else task_id
        try:
            record = self.runtime.store.get(job_id, data=False)
            if record["status"] not in jobs.TERMINAL:
                text = "TimeLimitExceeded: the job ran past its time limit" \
                    if "TimeLimit" in type(exc).__name__ else jobs.error_text(exc)
                _fail(self.runtime.store, job_id, text)
        except (JobNotFound, StoreUnavailable) as err:
            logger.error("job %s: could not record its failure (%s): %s", job_id, exc, err)


def create_celery(runtime: Runtime | None = None) -> Celery:
    """Build the shared Celery app for ``runtime`` (by default: the environment)."""
    runtime = runtime or Runtime.load()
    s = runtime.settings
    celery = Celery("flask_qed", set_as_current=True)
    celery.conf.update(
        broker_url=s.broker_url,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=s.broker_timeout,
        broker_transport_options={
            # A broker that stops answering must give an error, not hang a request.
            "socket_timeout": s.broker_timeout, "socket_connect_timeout": s.broker_timeout,
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
    @celery.task(name=app.task_name(model), bind=True, base=ModelTask, runtime=runtime,
                 autoretry_for=(StoreUnavailable,), retry_backoff=True, retry_backoff_max=60,
                 max_retries=8)
    def run_model(task: Task, job_id: str) -> None:
        try:
            run_job(runtime, model, job_id, worker=task.request.hostname or "")
        except JobBusy:
            # Come back when the holder's lease would have lapsed; by then the job
            # is finished (nothing to do) or its holder is known to be dead.
            raise task.retry(countdown=runtime.settings.job_lease, max_retries=None) from None


def run_job(runtime: Runtime, model: Model, job_id: str, worker: str = "") -> None:
    """Run one job to SUCCESS or FAILURE; safe to run again for the same id.

    The job is claimed atomically first, so two deliveries of one job never
    run it at the same time; the claim is renewed while the science runs.
    """
    store, lease = runtime.store, runtime.settings.job_lease
    try:
        record = store.claim(job_id, lease, {"progress": 10, "started": jobs.now_iso(), "worker": worker})
    except JobNotFound:
        logger.warning("job %s: unknown or expired, nothing to run", job_id)
        return
    if record is None:
        status = store.get(job_id, data=False)["status"]
        if status in jobs.TERMINAL:
            logger.info("job %s: already %s, not run again", job_id, status)
            return
        raise JobBusy(job_id)
    if int(record["attempts"]) > MAX_ATTEMPTS:
        _fail(store, job_id, f"WorkerLost: the job stopped its worker {MAX_ATTEMPTS} times")
        return
    inputs = store.get(job_id, inputs=True, data=False)["inputs"]

    def progress(fraction: float) -> None:
        if fraction < 1.0:  # 10 % when started, 100 % only with the result
            store.update(job_id, {"progress": 10 + int(85 * fraction)})

    try:
        with _Heartbeat(store, job_id, lease):
            data = model.run(inputs, progress=progress)
    except SoftTimeLimitExceeded:
        _fail(store, job_id, "TimeLimitExceeded: the job ran past its time limit")
        return
    except StoreUnavailable:
        raise
    except (InputError, ValueError, ArithmeticError, TypeError, KeyError) as exc:
        logger.warning("job %s failed: %s", job_id, exc)
        _fail(store, job_id, jobs.error_text(exc))
        return
    except Exception as exc:  # the science must not take the worker down with it
        logger.exception("job %s failed", job_id)
        _fail(store, job_id, jobs.error_text(exc))
        return
    if store.finish(job_id, {"status": jobs.SUCCESS, "progress": 100, "finished": jobs.now_iso(),
                             "lease_until": 0, "data": data}):
        logger.info("job %s: %s.%s done", job_id, record.get("app"), model.name)
    else:
        logger.info("job %s: revoked while it ran; result dropped", job_id)


class _Heartbeat:
    """Renews a running job's claim from a background thread."""

    def __init__(self, store: Any, job_id: str, lease: float):
        self.store, self.job_id, self.lease = store, job_id, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.lease / 4):
            try:
                self.store.heartbeat(self.job_id, self.lease)
            except (StoreUnavailable, JobNotFound) as exc:
                logger.warning("job %s: heartbeat failed: %s", self.job_id, exc)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def _fail(store: Any, job_id: str, message: str) -> None:
    store.finish(job_id, {"status": jobs.FAILURE, "finished": jobs.now_iso(), "lease_until": 0,
                          "error": message}, only_if=(jobs.PENDING, jobs.STARTED))
