"""Finished-job notices: a request that waits for a job is woken, not left polling.

When a job ends (a worker stores its result or failure, or it is cancelled), the
process that ended it publishes the job id on one Redis pub/sub channel
(``qed:finished``) of the broker's Redis. Each gateway process that has a
request waiting keeps one subscription to that channel, on a background thread
(a greenlet under gevent) started with its first wait, and wakes the requests
waiting for that id. The job record stays the source of truth: a waiter reads
the store when woken, and reads it anyway at least once a second, so a notice
lost (Redis restarted, the subscription not yet made, a broker that is not
Redis) costs at most a second, never a result.

Pub/sub was chosen over a per-job key with a blocking pop (two more commands and
a key to expire per job, and a connection held per waiter) and over keyspace
notifications (a server setting that managed Redis services often refuse).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import redis

logger = logging.getLogger(__name__)

CHANNEL = "qed:finished"
# A listener's connection to a Redis that stops answering is given up after about 30 s of
# silence: probes from 15 s idle, every 5 s, 3 unanswered (Linux's options; others: the defaults).
_KEEPALIVE = {getattr(socket, name): value for name, value in
              (("TCP_KEEPIDLE", 15), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)) if hasattr(socket, name)}
_LOCK = threading.Lock()
_PUBLISHERS: dict[tuple[int, str], "_Announcer"] = {}   # (pid, url) -> its notices' connection
_LISTENERS: dict[tuple[int, str], "Listener"] = {}


def redis_url(broker_url: str) -> str | None:
    """The Redis that carries notices: the broker's, when the broker is Redis."""
    return broker_url if broker_url.startswith(("redis://", "rediss://")) else None


def announce(broker_url: str, job_id: str) -> None:
    """Tell waiting requests that ``job_id`` ended. Never raises: a lost notice costs a
    waiter at most its fallback read of the store."""
    url = redis_url(broker_url)
    if url is None:
        return
    key = (os.getpid(), url)
    announcer = _PUBLISHERS.get(key)
    if announcer is None:
        announcer = _PUBLISHERS.setdefault(key, _Announcer(url))
    try:
        announcer.publish(job_id)
    except (redis.RedisError, OSError) as exc:
        logger.debug("job %s: end not announced: %s", job_id, exc)


class _Announcer:
    """One Redis connection of this process kept for notices, a PUBLISH on it at a time.

    ``Redis.publish`` takes a connection from a pool and gives it back, through the
    client's retry wrapper and command hooks, for each notice: about 40 µs of CPU more
    than the command on a held connection (of about 85; benchmarks/bench_job_steps.py),
    once per job in the worker. A connection
    that fails is closed and made again by the next notice."""

    def __init__(self, url: str):
        pool = redis.ConnectionPool.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._connection = pool.make_connection()
        self._lock = threading.Lock()

    def publish(self, job_id: str) -> None:
        with self._lock:
            try:
                self._connection.send_command("PUBLISH", CHANNEL, job_id)
                self._connection.read_response()
            except BaseException:
                self._connection.disconnect()
                raise


class Listener:
    """One subscription per process; requests register the job ids they wait for."""

    def __init__(self, url: str):
        self.url = url
        self.connected = threading.Event()
        self._waiting: dict[str, list[threading.Event]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="qed-notices", daemon=True)
        self._thread.start()

    @contextmanager
    def watch(self, job_id: str) -> Iterator[threading.Event]:
        """An event set when a notice for ``job_id`` arrives, for the time of the block."""
        event = threading.Event()
        with self._lock:
            self._waiting.setdefault(job_id, []).append(event)
        try:
            yield event
        finally:
            with self._lock:
                events = self._waiting.get(job_id, [])
                if event in events:
                    events.remove(event)
                if not events:
                    self._waiting.pop(job_id, None)

    def _wake(self, job_id: str) -> None:
        with self._lock:
            for event in self._waiting.get(job_id, ()):
                event.set()

    def _run(self) -> None:
        # A blocking read per notice: polling with a timeout asked the socket whether it could
        # be read before each one (a select: under gevent, a switch to its hub and back), about
        # a twentieth of the gateway's CPU per job, four times the read itself. A Redis that
        # goes away closes the connection (an error at once); one that stops answering is
        # found by TCP keepalive, about half a minute of silence.
        pause = 0.5
        while True:
            pubsub = None
            try:
                client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_keepalive=True,
                                              socket_keepalive_options=_KEEPALIVE)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.connected.set()
                pause = 0.5
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message["data"]
                        self._wake(data.decode() if isinstance(data, bytes) else str(data))
                raise redis.ConnectionError("the subscription ended")
            except (redis.RedisError, OSError) as exc:
                if self.connected.is_set():
                    logger.warning("finished-job notices interrupted (%s); waiting requests read the store", exc)
                self.connected.clear()
                if pubsub is not None:  # its socket closed now, not when it is collected
                    pubsub.close()
                time.sleep(pause)
                pause = min(pause * 2, 10.0)


def listener(broker_url: str) -> Listener | None:
    """This process's listener (started on first use), or None without a Redis broker."""
    url = redis_url(broker_url)
    if url is None:
        return None
    key = (os.getpid(), url)
    found = _LISTENERS.get(key)
    if found is None:
        with _LOCK:
            found = _LISTENERS.get(key) or _LISTENERS.setdefault(key, Listener(url))
    return found
