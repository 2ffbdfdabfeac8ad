"""Finished-job notices: a request that waits for a job is woken, not left polling.

When a job ends (a worker stores its result or failure, or it is cancelled), the
process that ended it publishes the job id on Redis pub/sub, on the broker's
Redis. Each gateway process that has a request waiting keeps one subscription, on
a background thread (a greenlet under gevent) started with its first wait, and
wakes the requests waiting for that id. The job record stays the source of truth:
a waiter reads the store when woken, and reads it anyway at least once a second,
so a notice lost (Redis restarted, the subscription not yet made, a broker that is
not Redis) costs at most a second, never a result.

A notice goes where its waiter is. A submission that waits for its own result (the
common case: ``Prefer: wait``, OGC synchronous execution, the REST contract's wait)
writes its process's address in the job's record (``notify``), and the job's end
is published on that process's channel alone (``qed:finished:<address>``): every
other gateway process is spared reading and parsing it, a cost that grew with their
number. A job without an address (submitted without waiting) is published on the
shared channel (``qed:finished``), which every listener hears. A process that waits
for a job addressed to another (a long poll of someone else's submission) hears
every process's channel (a pattern subscription) for as long as it has such a wait.

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
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Iterator

import redis

logger = logging.getLogger(__name__)

CHANNEL = "qed:finished"           # jobs without an address: every listener hears them
PATTERN = CHANNEL + ":*"           # every process's own channel
_ADDRESS: list[tuple[int, str]] = []  # (pid, this process's address)
# A listener's connection to a Redis that stops answering is given up after about 30 s of
# silence: probes from 15 s idle, every 5 s, 3 unanswered (Linux's options; others: the defaults).
_KEEPALIVE = {getattr(socket, name): value for name, value in
              (("TCP_KEEPIDLE", 15), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)) if hasattr(socket, name)}
_LOCK = threading.Lock()
_ADDRESS_LOCK = threading.Lock()
_PUBLISHERS: dict[tuple[int, str], "_Announcer"] = {}   # (pid, url) -> its notices' connection
_LISTENERS: dict[tuple[int, str], "Listener"] = {}
KEPT = 4096  # ids a listener remembers: notices no request waited for, jobs it expects


def redis_url(url: str | None) -> str | None:
    """The Redis that carries notices (``QED_REDIS_URL``: the broker's when the broker is
    Redis), or None when there is none: waits then read the store."""
    return url if url and url.startswith(("redis://", "rediss://")) else None


def address() -> str:
    """This process's address for notices (made once per process, new after a fork)."""
    pid = os.getpid()
    if not _ADDRESS or _ADDRESS[-1][0] != pid:
        with _ADDRESS_LOCK:
            if not _ADDRESS or _ADDRESS[-1][0] != pid:
                _ADDRESS.append((pid, uuid.uuid4().hex[:16]))
    return _ADDRESS[-1][1]


def channel(notify: Any) -> str:
    """Where a job's end is published: the channel of the process its record names
    (``notify``), else the shared one."""
    return f"{CHANNEL}:{notify}" if isinstance(notify, str) and notify else CHANNEL


def announce(redis_at: str | None, job_id: str, notify: Any = None) -> None:
    """Tell waiting requests that ``job_id`` ended (``notify``: the address its record
    holds, if any). Never raises: a lost notice costs a waiter at most its fallback read
    of the store. ``redis_at``: the settings' ``redis_url``."""
    url = redis_url(redis_at)
    if url is None:
        return
    key = (os.getpid(), url)
    announcer = _PUBLISHERS.get(key)
    if announcer is None:
        announcer = _PUBLISHERS.setdefault(key, _Announcer(url))
    try:
        announcer.publish(channel(notify), job_id)
    except (redis.RedisError, OSError) as exc:
        logger.debug("job %s: end not announced: %s", job_id, exc)


class _Announcer:
    """One Redis connection of this process kept for notices, a PUBLISH on it at a time.

    ``Redis.publish`` takes a connection from a pool and gives it back, through the
    client's retry wrapper and command hooks, for each notice: about 40 µs of CPU more
    than the command on a held connection (of about 85; benchmarks/bench_job_steps.py),
    once per job in the worker. A connection
    that fails is closed and made again by a notice ``PAUSE`` seconds later: the notices
    in between are dropped at once (their waiters read the store within a second), so
    that a Redis that does not answer costs each job no connect timeout (a Redis beside
    RabbitMQ can be down while jobs still flow)."""

    PAUSE = 5.0

    def __init__(self, url: str):
        pool = redis.ConnectionPool.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._connection = pool.make_connection()
        self._lock = threading.Lock()
        self._failed_at = -self.PAUSE  # time.monotonic() of the last failure

    def publish(self, to: str, job_id: str) -> None:
        with self._lock:
            if time.monotonic() - self._failed_at < self.PAUSE:
                raise redis.ConnectionError("notices paused after a failure")
            try:
                self._connection.send_command("PUBLISH", to, job_id)
                self._connection.read_response()
            except BaseException:
                self._connection.disconnect()
                self._failed_at = time.monotonic()
                raise


class Listener:
    """One subscription per process; requests register the job ids they wait for.

    It hears the shared channel and this process's own; while a request waits for a job
    addressed to another process (:meth:`hearing_all`), every process's channel too."""

    def __init__(self, url: str):
        self.url = url
        self.address = address()
        self.connected = threading.Event()
        self._waiting: dict[str, list[threading.Event]] = {}
        self._lock = threading.Lock()
        # Waits for jobs addressed to other processes, and the pattern subscriptions they
        # asked for (sent, and confirmed by Redis, in order), under one condition.
        self._cond = threading.Condition(threading.Lock())
        self._all_wanted = 0
        self._patterns_sent = self._patterns_confirmed = 0  # on the current connection
        self._conn: Any = None  # the subscribed connection, while it works
        # Subscriptions confirmed so far: every notice published while it stays the same, the
        # connection up, was heard. The notices heard that no request waited for (newest
        # last), and the jobs this process queued for a request of its own to wait for, with
        # the subscription they were queued under; at most KEPT of each.
        self._epoch = 0
        self._unclaimed: OrderedDict[str, None] = OrderedDict()
        self._expected: OrderedDict[str, int] = OrderedDict()
        self._thread = threading.Thread(target=self._run, name="qed-notices", daemon=True)
        self._thread.start()

    @contextmanager
    def watch(self, job_id: str) -> Iterator[threading.Event]:
        """An event set when a notice for ``job_id`` arrives, for the time of the block."""
        event = threading.Event()
        with self._lock:
            self._waiting.setdefault(job_id, []).append(event)
            if self._unclaimed.pop(job_id, False) is None:  # its notice came before the watch
                event.set()
        try:
            yield event
        finally:
            with self._lock:
                events = self._waiting.get(job_id, [])
                if event in events:
                    events.remove(event)
                if not events:
                    self._waiting.pop(job_id, None)

    def expect(self, job_id: str, notify: Any) -> None:
        """``job_id`` is about to be queued (its record's ``notify`` given) for a request of
        this process to wait for (called before the message is sent). Kept only if its
        notice will come here unasked (:meth:`hears`)."""
        if self.connected.is_set() and self.hears(notify):
            with self._lock:
                self._expected[job_id] = self._epoch
                if len(self._expected) > KEPT:
                    self._expected.popitem(last=False)

    def expected(self, job_id: str) -> bool:
        """Whether ``job_id`` was :meth:`expect`-ed and every notice since has been heard (the
        subscription unbroken): then, once a :meth:`watch` of it is set, its notice cannot be
        missed, and its record need not be read before the notice comes. Asked once."""
        with self._lock:
            epoch = self._expected.pop(job_id, None)
            return epoch is not None and epoch == self._epoch and self.connected.is_set()

    def hears(self, notify: Any) -> bool:
        """Whether a notice published for a record with this ``notify`` reaches this
        listener without :meth:`hearing_all`."""
        return channel(notify) in (CHANNEL, channel(self.address))

    @contextmanager
    def hearing_all(self, timeout: float = 1.0) -> Iterator[bool]:
        """For the time of the block, hear every process's channel; True inside it once
        Redis has confirmed the subscription (within ``timeout`` s), so that a read of the
        store made after it misses no notice."""
        try:
            with self._cond:
                self._all_wanted += 1
                if self._all_wanted == 1:
                    self._send("PSUBSCRIBE", PATTERN)
                # Every PSUBSCRIBE sent on the current connection confirmed: the pattern is
                # heard now (none is taken back while a wait wants it).
                heard = self._cond.wait_for(
                    lambda: self._conn is not None and 0 < self._patterns_sent <= self._patterns_confirmed,
                    timeout)
            yield bool(heard)
        finally:
            with self._cond:
                self._all_wanted -= 1
                if self._all_wanted == 0:
                    self._send("PUNSUBSCRIBE", PATTERN)

    def _send(self, *command: str) -> None:
        """A command on the subscribed connection, from a request (called holding ``_cond``).
        Written on its socket as it is: a connection whose socket is gone is left to the
        reading thread, which connects and subscribes again as needed (redis-py's own send
        would connect again here, in the request, holding the lock)."""
        conn = self._conn
        sock = getattr(conn, "_sock", None)
        if sock is None:
            return
        try:
            sock.sendall(b"".join(conn.pack_command(*command)))
        except Exception as exc:  # noqa: BLE001 - the reader sees a broken connection too
            logger.debug("notices: %s not sent: %s", command[0], exc)
            return
        if command[0] == "PSUBSCRIBE":
            self._patterns_sent += 1

    def _wake(self, job_id: str) -> None:
        with self._lock:
            events = self._waiting.get(job_id)
            if events:
                for event in events:
                    event.set()
            else:
                self._unclaimed[job_id] = None
                if len(self._unclaimed) > KEPT:
                    self._unclaimed.popitem(last=False)

    def _run(self) -> None:
        # A blocking read per notice, on a connection of its own (no client, no pool, no
        # PubSub object): polling with a timeout asked the socket whether it could be read
        # before each one (a select: under gevent, a switch to its hub and back), about a
        # twentieth of the gateway's CPU per job, four times the read itself. A Redis that
        # goes away closes the connection (an error at once); one that stops answering is
        # found by TCP keepalive, about half a minute of silence.
        pause = 0.5
        # RESP2: a notice is a plain reply (RESP3's push replies go to a handler instead); no
        # read timeout: the read blocks until a notice comes; no health checks (a PING and its
        # reply from a request's send). Set over whatever the broker's URL says.
        pool = redis.ConnectionPool.from_url(self.url)
        options = {**pool.connection_kwargs, "protocol": 2, "socket_timeout": None, "socket_connect_timeout": 2,
                   "health_check_interval": 0, "socket_keepalive": True, "socket_keepalive_options": _KEEPALIVE}
        while True:
            conn = None
            try:
                conn = pool.connection_class(**options)
                conn.connect()
                with self._cond:
                    conn.send_command("SUBSCRIBE", CHANNEL, channel(self.address))
                    self._conn = conn
                    self._patterns_sent = self._patterns_confirmed = 0
                    if self._all_wanted:
                        self._send("PSUBSCRIBE", PATTERN)
                while True:
                    reply = conn.read_response()
                    kind = reply[0]
                    if kind == b"message":
                        self._wake(reply[2].decode())
                    elif kind == b"pmessage":
                        self._wake(reply[3].decode())
                    elif kind == b"subscribe":
                        if reply[1] != CHANNEL.encode():  # the second of the two: both are heard
                            with self._lock:
                                self._epoch += 1
                            self.connected.set()
                            pause = 0.5
                    elif kind == b"psubscribe":
                        with self._cond:
                            self._patterns_confirmed += 1
                            self._cond.notify_all()
            except Exception as exc:  # noqa: BLE001 - the listener must outlive any failure
                if self.connected.is_set():
                    logger.warning("finished-job notices interrupted (%s); waiting requests read the store", exc)
                with self._lock:
                    self.connected.clear()
                with self._cond:
                    self._conn = None
                if conn is not None:  # its socket closed now, not when it is collected
                    conn.disconnect()
                time.sleep(pause)
                pause = min(pause * 2, 10.0)


def expect(redis_at: str | None, job_id: str, notify: Any) -> None:
    """This process is about to queue ``job_id`` for a request of its own to wait for
    (:meth:`Listener.expect`)."""
    ears = listener(redis_at)
    if ears is not None:
        ears.expect(job_id, notify)


def listener(redis_at: str | None) -> Listener | None:
    """This process's listener (started on first use), or None without a Redis to hear on
    (``redis_at``: the settings' ``redis_url``)."""
    url = redis_url(redis_at)
    if url is None:
        return None
    key = (os.getpid(), url)
    found = _LISTENERS.get(key)
    if found is None:
        with _LOCK:
            found = _LISTENERS.get(key) or _LISTENERS.setdefault(key, Listener(url))
    return found
