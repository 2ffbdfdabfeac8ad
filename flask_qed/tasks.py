"""The shared Celery app and the one task per declared model.

Settings make work survive crashes: JSON only, late acknowledgement, a job
whose worker died is re-queued (``task_reject_on_worker_lost``), one message
prefetched at a time, soft and hard time limits. State lives in the job
store, so Celery results are off. A task is a thin adapter: load the job,
run the model, store the outcome; it is idempotent by job id.

Each model's task has its own soft and hard time limits (the model's
``TIME_LIMIT``, capped by ``QED_TASK_*TIME_LIMIT``). A job cancelled while it runs
is stopped twice over: the run checks the store between chunks (cooperative),
and :func:`cancel` has the worker terminate the task (SIGTERM, then SIGKILL;
see flask_qed.cancel).
Lost messages and dead workers are the reconciler's business
(flask_qed.reconciler).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded

from . import callbacks, jobs, metrics, rabbitmq
from .jobs import follow, notices, prov, steps
from .model import InputError, Model
from .plugins import App
from .runtime import Runtime, bind
from .stores import JobNotFound, StoreUnavailable
from .stores.base import unpack
from .redis_transport import TRANSPORT
from .timers import CompactTimers

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a job that kills its worker this often is failed, not retried forever
BUSY_RETRIES = 3  # a delivery finding its job held looks again this often, then leaves it to the reconciler


class JobBusy(Exception):
    """Another run holds the job: a duplicate delivery, or the re-delivery of a job whose
    pool process was just killed (its lease has not lapsed yet)."""

    def __init__(self, job_id: str, wait: float):
        super().__init__(job_id)
        self.wait = wait


class JobCancelled(Exception):
    """The job was revoked while it ran."""


def time_limits(model: Model, settings: Any) -> tuple[int, int]:
    """(soft, hard) seconds for a model's task: its own TIME_LIMIT, never past the global ones."""
    soft, hard = settings.task_soft_time_limit, settings.task_time_limit
    if model.time_limit:
        soft = min(soft, int(model.time_limit))
        hard = min(hard, soft + max(5, soft // 10))
    return soft, max(hard, soft)


class ModelTask(Task):
    """Base of the declared models' tasks: a job whose task dies in a way the task
    body cannot catch (the hard time limit) is still recorded as failed."""

    runtime: Runtime

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        job_id = args[0] if args else task_id
        try:
            record = self.runtime.store.get(job_id, data=False)
            if record["status"] not in jobs.TERMINAL:
                text = f"TimeLimitExceeded: the job ran past its time limit ({self.time_limit} s)" \
                    if "TimeLimit" in type(exc).__name__ else jobs.error_text(exc)
                _fail(self.runtime.store, job_id, text)
                notices.announce(self.runtime.settings.redis_url, job_id, record.get("notify"))
                logger.error("job %s failed: %s", job_id, text, extra={"job_id": job_id, "event": "failed"})
                settle_joiners(self.runtime, job_id)
        except (JobNotFound, StoreUnavailable) as err:
            logger.error("job %s: could not record its failure (%s): %s", job_id, exc, err)


def create_celery(runtime: Runtime | None = None) -> Celery:
    """Build the shared Celery app for ``runtime`` (by default: the environment)."""
    runtime = runtime or Runtime.load()
    s = runtime.settings
    celery = Celery("flask_qed", set_as_current=True)
    celery.conf.update(
        broker_url=s.broker_url,
        # redis:// through a transport whose connect timeout covers name resolution.
        broker_transport=TRANSPORT if s.broker_url.startswith(("redis://", "rediss://"))
        else None,
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
        task_default_queue=s.queue,
        imports=[m for app in runtime.apps for m in app.task_modules],
        worker_hijack_root_logger=False,
        worker_pool="flask_qed.pool:TaskPool",  # prefork, an ended process replaced at once
    )
    if rabbitmq.is_rabbitmq(s.broker_url):  # durable quorum queue, publisher confirms (flask_qed.rabbitmq)
        celery.conf.update(rabbitmq.celery_settings(s.queue))
    bind(celery, runtime)
    for app in runtime.apps:
        for model in app.models:
            _register(celery, runtime, app, model)
    _register_chains(celery, runtime)
    if any(app.factory for app in runtime.apps):
        from .legacy import connect_legacy_signals
        connect_legacy_signals(runtime)
    from . import cancel as _cancel_command  # noqa: F401 - registers the qed_cancel worker command
    from . import logs, preflight, reconciler
    reconciler.connect(celery)   # worker: re-publishes lost jobs
    preflight.connect_worker(celery)  # worker: stops at start if store or broker cannot work
    logs.connect(celery)
    celery.steps["worker"].add(CompactTimers)  # worker: the time limits' cancelled timers let go
    _forget_dead_pool_processes()
    return celery


def _register(celery: Celery, runtime: Runtime, app: App, model: Model) -> None:
    soft, hard = time_limits(model, runtime.settings)

    @celery.task(name=app.task_name(model), bind=True, base=ModelTask, runtime=runtime,
                 autoretry_for=(StoreUnavailable,), retry_backoff=True, retry_backoff_max=60,
                 max_retries=8, soft_time_limit=soft, time_limit=hard)
    def run_model(task: Task, job_id: str) -> None:
        try:
            outcome = run_job(runtime, model, job_id, worker=task.request.hostname or "", time_limit=soft)
        except JobBusy as busy:
            if task.request.retries >= BUSY_RETRIES:  # the holder is alive: it finishes the job
                logger.info("job %s: still held by another run; this delivery is dropped", job_id,
                            extra={"job_id": job_id, "event": "duplicate"})
                return
            # Look again when the holder's lease would have lapsed: by then the job is
            # finished (nothing to do) or its holder is known to be dead (take it over).
            raise task.retry(countdown=busy.wait, max_retries=None) from None
        if outcome is not None:  # this run ended the job: wake waiters, notify and count
            notices.announce(runtime.settings.redis_url, job_id, outcome.get("notify"))
            callbacks.job_finished(outcome)
            metrics.job_finished(outcome)
            if outcome.get("feeds"):  # a step of a chain: the job it feeds may go on now
                steps.advance(runtime, task.app, outcome["feeds"])
        settle_joiners(runtime, job_id, task.app)


def settle_joiners(runtime: Runtime, job_id: str, celery: Any = None) -> None:
    """End the jobs that joined this one (identical jobs submitted while it ran) and wake
    their waiters; a failure here is left to the reads and the reconciler (see jobs.follow)."""
    try:
        for joiner in follow.settle_followers(runtime.store, job_id):
            notices.announce(runtime.settings.redis_url, joiner["job_id"], joiner.get("notify"))
            callbacks.job_finished(joiner)
            if joiner.get("feeds") and celery is not None:  # a joined step of a chain
                steps.advance(runtime, celery, joiner["feeds"])
    except (StoreUnavailable, JobNotFound) as exc:
        logger.warning("job %s: its joiners not settled now: %s", job_id, exc)


def _register_chains(celery: Celery, runtime: Runtime) -> None:
    """The task of an outer job of a chain while its steps run (see :mod:`.jobs.chain`):
    published by the reconciler if the step that should have moved it on did not."""

    @celery.task(name=steps.ADVANCE, bind=True, autoretry_for=(StoreUnavailable,), retry_backoff=True,
                 max_retries=8)
    def advance(task: Task, job_id: str) -> None:
        steps.advance(runtime, task.app, job_id)


def run_job(runtime: Runtime, model: Model, job_id: str, worker: str = "",
            time_limit: int = 0) -> dict[str, Any] | None:
    """Run one job to SUCCESS or FAILURE; safe to run again for the same id.

    The job is claimed atomically first, so two deliveries of one job never
    run it at the same time; the claim is renewed while the science runs.
    Returns the job's record as this run left it when this run ended the job
    (SUCCESS or FAILURE), else None (nothing run, cancelled, or ended elsewhere).
    """
    # Longer than a function should be, on purpose: claim, run and store in one place,
    # so that the order which makes a run safe to repeat is read at a glance.
    store, lease = runtime.store, runtime.settings.job_lease
    try:
        # The inputs come with the claim (as stored, compressed: a batch's are read a chunk
        # at a time by Model.run_packed), in the same statement that reads the record.
        record = store.claim(job_id, lease, {"progress": 10, "started": jobs.now_iso(), "worker": worker,
                                             "host": prov.host(), "software": prov.software()}, inputs=True)
    except JobNotFound:
        logger.warning("job %s: unknown or expired, nothing to run", job_id)
        return None
    if record is None:
        current = store.get(job_id, data=False)
        if current["status"] in jobs.TERMINAL:
            logger.info("job %s: already %s, not run again", job_id, current["status"],
                        extra={"job_id": job_id, "event": "duplicate", "status": current["status"]})
            return None
        # Held by a run whose lease has not lapsed (should that run be dead, the
        # reconciler would also publish the job again once it lapses).
        wait = float(current.get("lease_until") or 0) - time.time()
        raise JobBusy(job_id, max(0.5, min(wait + 0.5, float(lease))))
    inputs = record.pop("inputs", None)
    record["job_id"] = job_id
    if int(record["attempts"]) > MAX_ATTEMPTS:
        return _fail(store, job_id, f"WorkerLost: the job stopped its worker {MAX_ATTEMPTS} times", record)
    if int(record["attempts"]) == 1:  # first start: the in-progress notification, if asked for
        callbacks.job_started(record)
    logger.info("job %s: started %s (attempt %s)", job_id, model.name, record.get("attempts"),
                extra={"job_id": job_id, "event": "started", "model": model.name, "worker": worker})

    def progress(fraction: float) -> None:
        # Between chunks: stop if the job was cancelled meanwhile (cooperative cancel).
        if revoked.is_set():
            raise JobCancelled(job_id)
        if fraction >= 1.0:  # all computed: the result is kept only if the job is still STARTED
            return
        if store.get(job_id, data=False)["status"] != jobs.STARTED:
            raise JobCancelled(job_id)
        store.update(job_id, {"progress": 10 + int(85 * fraction)})  # 100 % only with the result

    try:
        with LEASES.hold(store, job_id, lease) as revoked:
            if model.batch and isinstance(inputs, bytes):
                data = model.run_packed(inputs, progress=progress)
            else:
                data = model.run(unpack(inputs) if isinstance(inputs, bytes) else inputs, progress=progress)
            del inputs
    except JobCancelled:
        logger.info("job %s: cancelled, stopped", job_id, extra={"job_id": job_id, "event": "cancelled"})
        return None
    except SoftTimeLimitExceeded:
        limit = f" ({time_limit} s)" if time_limit else ""
        return _fail(store, job_id, f"TimeLimitExceeded: the job ran past its time limit{limit}", record)
    except StoreUnavailable:
        raise
    except (InputError, ValueError, ArithmeticError, TypeError, KeyError) as exc:
        logger.warning("job %s failed: %s", job_id, exc, extra={"job_id": job_id, "event": "failed"})
        return _fail(store, job_id, jobs.error_text(exc), record)
    except Exception as exc:  # the science must not take the worker down with it
        logger.exception("job %s failed", job_id, extra={"job_id": job_id, "event": "failed"})
        return _fail(store, job_id, jobs.error_text(exc), record)
    done = {"status": jobs.SUCCESS, "progress": 100, "finished": jobs.now_iso(), "lease_until": 0}
    # A large batch's results as columns too (flask_qed.tablepack): its CSV is written from them.
    table = getattr(data, "table", None)
    if store.finish(job_id, {**done, "data": data, **({"table": table} if table is not None else {})}):
        logger.info("job %s: %s.%s done", job_id, record.get("app"), model.name,
                    extra={"job_id": job_id, "event": "succeeded", "model": model.name})
        return {**record, **done}
    logger.info("job %s: revoked while it ran; result dropped", job_id,
                extra={"job_id": job_id, "event": "cancelled"})
    return None


class Leases:
    """Renews the claims of the jobs a process is running, from one background thread
    per process (started on first use, again after a fork), and notes a revocation.

    The thread wakes every ``min(lease / 4, 5)`` seconds and renews each claim held
    at least that long, so a claim is renewed within half its lease. Holding and
    releasing a job is two dictionary writes: a job shorter than that period costs
    no store write, no thread start and no wake-up.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[Any, float, threading.Event, float]] = {}
        self._lock = threading.Lock()
        self._pid = 0
        self._period = 5.0
        self._wake = threading.Event()

    @contextmanager
    def hold(self, store: Any, job_id: str, lease: float) -> Iterator[threading.Event]:
        revoked = threading.Event()
        period = min(lease / 4, 5.0)
        with self._lock:
            self._held[job_id] = (store, lease, revoked, time.monotonic() + period)
            if self._pid != os.getpid():  # none yet in this process (or one inherited by a fork)
                self._pid, self._period, self._wake = os.getpid(), period, threading.Event()
                threading.Thread(target=self._renew, args=(self._wake,), name="qed-leases", daemon=True).start()
            elif period < self._period:  # a shorter lease than any before: wake sooner from now on
                self._period = period
                self._wake.set()
        try:
            yield revoked
        finally:
            with self._lock:
                self._held.pop(job_id, None)

    def _renew(self, wake: threading.Event) -> None:
        while True:
            wake.wait(self._period)
            wake.clear()
            now = time.monotonic()
            with self._lock:
                due = [(job_id, store, lease, revoked) for job_id, (store, lease, revoked, at)
                       in self._held.items() if at <= now]
                for job_id, store, lease, revoked in due:
                    self._held[job_id] = (store, lease, revoked, now + min(lease / 4, 5.0))
            for job_id, store, lease, revoked in due:
                try:
                    if store.heartbeat(job_id, lease) != jobs.STARTED:
                        revoked.set()
                except (StoreUnavailable, JobNotFound) as exc:
                    logger.warning("job %s: heartbeat failed: %s", job_id, exc)


LEASES = Leases()


def _fail(store: Any, job_id: str, message: str, record: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Record a failure; the record as left (``record`` updated) if this call ended the job."""
    fields = {"status": jobs.FAILURE, "finished": jobs.now_iso(), "lease_until": 0, "error": message}
    if store.finish(job_id, fields, only_if=(jobs.PENDING, jobs.STARTED)) and record is not None:
        return {**record, **fields}
    return None


def _forget_dead_pool_processes() -> None:
    """With shared metrics (PROMETHEUS_MULTIPROC_DIR), a pool process that ends
    takes its live series with it."""
    from celery.signals import worker_process_shutdown

    def forget(pid: int | None = None, **_: Any) -> None:
        import os
        metrics.mark_process_dead(pid or os.getpid())
    worker_process_shutdown.connect(forget, weak=False, dispatch_uid="qed_metrics_dead")
