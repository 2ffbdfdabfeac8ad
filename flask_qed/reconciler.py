"""The reconciler: the job store, not the broker, decides what still has to run.

A message can be lost (a broker restarted without persistence, a publish that
failed half-way) and a worker can die with a job in hand. Redis would hand such
a job out again only after the visibility timeout (longer than the longest
job: an hour or more). The reconciler closes that gap: every
``QED_SWEEP_INTERVAL`` seconds it asks the store for

* jobs still PENDING ``QED_PENDING_GRACE`` seconds after they were last queued,
* jobs STARTED whose holder stopped renewing its lease (its worker died),

and publishes each of them again. The atomic claim (``store.claim``) makes a
duplicate message harmless: a second delivery of a running or finished job does
nothing. Copies are still kept few: while the broker's queue holds messages (a
healthy backlog, not a lost one), a PENDING job is published again only after
``BACKLOG_FACTOR`` × the grace; and a job published again waits twice as long
before the next time (``queued_at`` moves forward). A job that joined an identical
one (:mod:`flask_qed.jobs.follow`) is never published while that one runs: the sweep
settles it instead, and publishes it only once released to run on its own.

Where it runs: a thread in the main process of every Celery worker, started by
the ``worker_ready`` signal. No extra service has to be deployed (Celery beat
would be one more process that must be kept alive, and one that, if it died,
would silently stop the reconciling), and there is a reconciler wherever there
is something able to run the jobs. At most one sweeps at a time: the sweeper
holds a lock in Redis (``QED_REDIS_URL``, the broker's when it is Redis; ``SET NX PX``,
renewed at each sweep, so it passes to another worker within a few sweeps of its holder's
death). With RabbitMQ as the broker and no Redis set, every worker sweeps, which is safe,
merely redundant.

The sweeper also keeps the embedded store: at most once every ``PURGE_EVERY`` seconds,
on a sweep, it deletes the jobs that have expired
(:meth:`~flask_qed.stores.JobStore.purge_expired`; MongoDB's TTL index does that on its
own). A purge of many jobs takes a while (30,000 jobs, a minute's worth at 500 a second,
about half a second in chunks), so no request waits for it: the gateway's writes never
purge. A sweep spends at most ``PURGE_BUDGET`` seconds on it and a stopping worker none
(the rest waits for the next sweep); where every worker sweeps (RabbitMQ without a
Redis), every worker purges, which is safe. Where no worker runs for long, ``qed purge``
(from cron) does it.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from celery import Celery

from .jobs import follow
from .jobs.states import ACTIVE
from . import rabbitmq
from .runtime import runtime_of
from .stores import JobNotFound, StoreUnavailable

logger = logging.getLogger(__name__)

LOCK_KEY = "flask_qed:reconciler"
MAX_BACKOFF = 16     # a job is published again at most every 16 × grace seconds
BACKLOG_FACTOR = 10  # with messages waiting in the queue, PENDING jobs get 10 × the grace
PURGE_EVERY = 60.0   # seconds from the end of a whole purge of the expired jobs to the next
PURGE_BUDGET = 5.0   # seconds a sweep may spend purging (the rest at the next sweep)


class Reconciler:
    def __init__(self, celery: Celery):
        self.celery = celery
        self.runtime = runtime_of(celery)
        self.settings = self.runtime.settings
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._redis: dict[str, Any] = {}  # url -> client
        self._purged_at: float | None = None  # time.monotonic() of the last purge

    # -- the lock ------------------------------------------------------------------------
    def _client(self, url: str | None) -> Any:
        """A Redis client of ``url`` (kept), or None when ``url`` is not a Redis."""
        if not url or not url.startswith(("redis://", "rediss://")):
            return None
        if url not in self._redis:
            import redis
            timeout = float(self.settings.broker_timeout)
            self._redis[url] = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return self._redis[url]

    def _lock_client(self) -> Any:
        """The Redis of the sweeper's lock (``QED_REDIS_URL``), or None: every worker sweeps."""
        return self._client(self.settings.redis_url)

    def acquire(self) -> bool:
        """Whether this process is the sweeper for the next interval (takes or renews the lock).

        When the lock's Redis is not the broker (RabbitMQ with ``QED_REDIS_URL``) and does
        not answer, the jobs can still be queued: every worker sweeps meanwhile, as with
        RabbitMQ alone (safe, redundant). With a Redis broker, the broker is down too."""
        import redis
        client = self._lock_client()
        if client is None:
            return True
        ttl_ms = int(self.settings.sweep_interval * 3 * 1000)
        try:
            # Renew only a lock this process holds; take it only when nobody holds it.
            renewed = client.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then "
                "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end",
                1, LOCK_KEY, self.token, ttl_ms)
            return bool(renewed) or bool(client.set(LOCK_KEY, self.token, nx=True, px=ttl_ms))
        except redis.RedisError as exc:  # unreachable, or answering errors (out of memory, read-only)
            if self.settings.broker_url.startswith(("redis://", "rediss://")):
                raise  # the broker is a Redis: likely down as well, and a sweep could not publish
            logger.warning("reconciler: the sweeper's lock cannot be reached (%s); sweeping without it", exc)
            return True

    def release(self) -> None:
        client = self._lock_client()
        if client is not None:
            try:
                client.eval("if redis.call('get', KEYS[1]) == ARGV[1] then "
                            "return redis.call('del', KEYS[1]) else return 0 end", 1, LOCK_KEY, self.token)
            except Exception as exc:  # noqa: BLE001 - the lock expires by itself
                logger.debug("reconciler: lock not released: %s", exc)

    def queued_messages(self) -> int:
        """Messages waiting in the broker's queue (Redis or RabbitMQ), or 0 when it cannot tell."""
        queue = self.celery.conf.task_default_queue
        try:
            if rabbitmq.is_rabbitmq(self.settings.broker_url):
                return rabbitmq.queue_depth(self.celery, queue)
            client = self._client(self.settings.broker_url)
            return int(client.llen(queue)) if client is not None else 0
        except Exception:  # noqa: BLE001 - unknown: behave as if the queue were empty
            return 0

    # -- the sweep -----------------------------------------------------------------------
    def sweep(self) -> int:
        """Publish the stale jobs again once; return how many were published."""
        store, grace = self.runtime.store, self.settings.pending_grace
        now = time.time()
        published = 0
        backlog = None
        for record in store.stale_jobs(now, grace):
            job_id, task = record["job_id"], record.get("task")
            if not task or task not in self.celery.tasks:
                continue  # a job of an app this worker does not serve: another worker's sweep
            if follow.joining(record):  # a joiner: ended, released to run, or still waiting
                try:
                    record = follow.settle(store, record) or record
                except JobNotFound:
                    continue
                if follow.joining(record) or record.get("status") not in ACTIVE:
                    continue
            if record.get("status") == "PENDING":
                if backlog is None:
                    backlog = self.queued_messages() > 0
                if backlog and float(record.get("queued_at") or 0) > now - grace * BACKLOG_FACTOR:
                    continue  # most likely still waiting in that queue
            requeues = int(record.get("requeues") or 0)
            backoff = grace * min(2 ** requeues, MAX_BACKOFF)
            try:  # note it first: a crash between the two steps delays the job, never floods
                store.update(job_id, {"queued_at": now + backoff - grace, "requeues": requeues + 1})
            except JobNotFound:
                continue
            self.celery.send_task(task, args=[job_id], task_id=job_id)
            published += 1
            logger.warning("job %s: %s for too long, published again (%d)", job_id, record.get("status"),
                           requeues + 1, extra={"job_id": job_id, "event": "requeued",
                                                "status": record.get("status")})
        return published

    def purge(self) -> int:
        """Delete the expired jobs if the last whole purge ended ``PURGE_EVERY`` seconds ago or
        more (the first sweep purges); how many went. A purge stops when the worker stops or
        after ``PURGE_BUDGET`` seconds (so that the sweeps, and the sweeper's lock, go on); the
        next sweep takes up the rest."""
        store = self.runtime.store
        started = time.monotonic()
        if store.expires_itself or (self._purged_at is not None and started - self._purged_at < PURGE_EVERY):
            return 0
        deadline = started + PURGE_BUDGET
        count = store.purge_expired(until=lambda: self._stop.is_set() or time.monotonic() > deadline)
        if time.monotonic() <= deadline and not self._stop.is_set():
            self._purged_at = time.monotonic()
        return count

    def _housekeep(self) -> None:
        """:meth:`purge`, its failure logged on its own line (a failed sweep's error, if
        any, still reaches the loop's log)."""
        try:
            self.purge()
        except Exception as exc:  # noqa: BLE001 - housekeeping: tried again at the next sweep
            logger.warning("reconciler: purge of expired jobs failed, tried again at the next sweep: %s: %s",
                           type(exc).__name__, exc)

    def run(self) -> None:
        interval = self.settings.sweep_interval
        while not self._stop.wait(interval):
            try:
                if self.acquire():
                    try:
                        self.sweep()
                    finally:  # housekeeping, whether the sweep went well or not
                        self._housekeep()
            except StoreUnavailable as exc:
                logger.warning("reconciler: store unavailable, next sweep in %d s: %s", interval, exc)
            except Exception as exc:  # noqa: BLE001 - a broker outage must not end the loop
                logger.warning("reconciler: sweep failed, next in %d s: %s: %s", interval,
                               type(exc).__name__, exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="qed-reconciler", daemon=True)
        self._thread.start()
        logger.info("reconciler: sweeping every %d s (grace %d s, lease %d s)", self.settings.sweep_interval,
                    self.settings.pending_grace, self.settings.job_lease)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.release()


_running: Reconciler | None = None


def connect(celery: Celery) -> None:
    """Start a reconciler in each worker's main process when it is ready."""
    from celery import signals

    def on_ready(sender: Any = None, **_: Any) -> None:
        global _running
        if _running is None:
            _running = Reconciler(celery)
            _running.start()

    def on_shutdown(**_: Any) -> None:
        global _running
        if _running is not None:
            _running.stop()
            _running = None

    signals.worker_ready.connect(on_ready, weak=False, dispatch_uid="qed_reconciler_start")
    signals.worker_shutdown.connect(on_shutdown, weak=False, dispatch_uid="qed_reconciler_stop")
