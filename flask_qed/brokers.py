"""The Redis broker transport, with a connect timeout that covers name resolution.

redis-py's ``socket_connect_timeout`` starts after ``getaddrinfo``; a DNS server
that does not answer then holds a request for the resolver's own timeouts
(5 s × attempts × search domains: 10–40 s) although ``QED_BROKER_TIMEOUT`` is
5 s. Here the broker's host is resolved in a helper thread that is waited for
at most the connect timeout; a failure is remembered for a few seconds, so the
publisher's retries fail at once instead of waiting again.

A channel also keeps one Redis client for its publishes and acknowledgements
instead of building one per message (see :meth:`Channel.conn_or_acquire`).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import weakref
import time
from contextlib import contextmanager
from typing import Any, Iterator

import redis
from celery import signals
from kombu.serialization import dumps
from kombu.transport import redis as kombu_redis
from kombu.utils import json as kombu_json

NEGATIVE_TTL = 10.0   # s a failed resolution is remembered
POSITIVE_TTL = 60.0   # s a successful one is
logger = logging.getLogger(__name__)

_cache: dict[tuple[str, int], tuple[float, BaseException | None]] = {}
_lock = threading.Lock()


def resolve(host: str, port: int, timeout: float) -> None:
    """Raise ``redis.ConnectionError`` unless ``host`` resolves within ``timeout`` s."""
    key = (host, int(port or 0))
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        if cached[1] is not None:
            raise redis.ConnectionError(str(cached[1]))
        return
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=work, name=f"resolve-{host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        error: BaseException | None = TimeoutError(f"cannot resolve the broker host {host!r} within {timeout:g} s")
    else:
        error = outcome[0] and OSError(f"cannot resolve the broker host {host!r}: {outcome[0]}")
    with _lock:
        _cache[key] = (time.monotonic() + (NEGATIVE_TTL if error else POSITIVE_TTL), error)
    if error is not None:
        raise redis.ConnectionError(str(error))


class TimedConnection(redis.Connection):
    def _connect(self) -> Any:
        resolve(self.host, self.port, float(self.socket_connect_timeout or 5))
        return super()._connect()


class TimedSSLConnection(redis.SSLConnection):
    def _connect(self) -> Any:
        resolve(self.host, self.port, float(self.socket_connect_timeout or 5))
        return super()._connect()


class Channel(kombu_redis.Channel):
    connection_class = TimedConnection
    connection_class_ssl = TimedSSLConnection
    _reused_client: Any = None
    _held: Any = None        # the connection this channel queues messages on (see _put)
    _held_pid = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._held_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        """Queue a message with one ``LPUSH`` on a connection the channel keeps for it.

        Through the client, each message took a connection from the pool and gave it back:
        the pool checks that a connection it lends has nothing left to read, a ``select``
        that costs a greenlet switch to gevent's hub in the gateway, plus the client's retry
        wrapper; about a fifth of the gateway's publish. Batches and queues with an expiry
        go kombu's way."""
        if kwargs.get("_publish_batch") is not None or (self._expires and queue in self._expires):
            super()._put(queue, message, **kwargs)
            return
        key = self._q_for_pri(queue, self._get_message_priority(message, reverse=False))
        body = kombu_json.dumps(message)
        with self._held_lock:
            held = self._held
            if held is None or self._held_pid != os.getpid():  # new, or inherited through fork
                held = self._held = self.pool.connection_class(**self.pool.connection_kwargs)
                self._held_pid = os.getpid()
            try:
                held.send_command("LPUSH", key, body)
                held.read_response()
            except BaseException:
                held.disconnect()  # made again by the next message; the caller sees the error
                self._held = None
                raise

    def close(self) -> None:
        with self._held_lock:
            held, self._held = self._held, None
        if held is not None and self._held_pid == os.getpid():
            held.disconnect()
        super().close()

    @property
    def pool(self) -> Any:
        """kombu's, made again on first use after its connection was lost. When the
        connection is gone altogether (a worker closing it after the broker went away, while
        a finished task is still acked), kombu fails with an ``AttributeError``, which the
        worker's consumer does not expect and dies of (``Unrecoverable error``, every queued
        job left to another worker): raised here as the connection error it is, which the
        consumer logs before it connects again."""
        try:
            return super().pool
        except AttributeError as exc:
            if getattr(self.connection, "client", None) is not None:
                raise
            raise redis.ConnectionError("the broker connection is closed") from exc

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """kombu builds a new ``redis.Redis`` around the channel's connection pool for
        every publish, ack and unacked-message record; one per pool does the same work
        (a client holds no connection of its own: each command borrows one from the pool)."""
        if client:
            yield client
            return
        reused = self._reused_client
        if reused is None or reused.connection_pool is not self.pool:  # a new pool after a reconnect
            reused = self._reused_client = self._create_client()
        yield reused


class Transport(kombu_redis.Transport):
    Channel = Channel


class Publisher:
    """Queues a job's task message straight onto the broker's channel.

    ``Celery.send_task`` goes through routing, a producer pool, kombu's
    ``Producer.publish`` and its retry wrapper for every message: about three
    quarters of a publish's CPU, and a fifth of the gateway's per job. A job's
    message always has one shape (one task, one argument: the job id, to the
    default queue), so here Celery builds it (``amqp.as_task_v2``), kombu
    serialises it, and the channel's ``basic_publish`` queues it, on a channel taken
    from a small pool (one per publish in flight: threads under gthread, greenlets
    under gevent, where a thread-local channel would be one per request). The message is the one ``send_task`` writes (tested against it),
    and the publish signals are sent as ``send_task`` sends them. Brokers other
    than this module's Redis transport, and routed tasks, go through ``send_task``.
    """

    def __init__(self, celery: Any, retry_policy: dict[str, float] | None = None, direct: bool = True) -> None:
        self.celery = celery
        self.queue = celery.conf.task_default_queue
        self.retry_policy = dict(retry_policy or RETRY_POLICY)
        p = self.retry_policy
        # kombu's ensure(): wait interval_start, then interval_step more each time, at most interval_max
        self.retry_delays = [min(p["interval_start"] + i * p["interval_step"], p["interval_max"])
                             for i in range(int(p["max_retries"]))]
        self._idle: list[tuple[int, Any, Any]] = []  # (pid, connection, channel), last used on top
        self._idle_lock = threading.Lock()
        # What a lost broker raises: kombu's and redis-py's connection errors, and sockets'.
        self.errors: tuple[type[BaseException], ...] = (OSError, redis.RedisError, *_kombu_errors())
        conf = celery.conf
        self.direct = direct and (conf.broker_transport == f"{__name__}:Transport" and not conf.task_routes
                       and conf.task_serializer == "json" and int(conf.task_protocol or 2) == 2)

    def publish(self, task: str, job_id: str) -> None:
        """Queue ``task(job_id)`` with ``job_id`` as its task id; raise when the broker
        cannot take it after the retries."""
        argsrepr = f"['{job_id}']"  # what Celery would compute, without saferepr's cost
        if not self.direct:
            self.celery.send_task(task, args=[job_id], task_id=job_id, retry=True, retry_policy=self.retry_policy)
            return
        message = self.celery.amqp.as_task_v2(job_id, task, args=[job_id], kwargs={}, argsrepr=argsrepr,
                                              kwargsrepr="{}", ignore_result=None,
                                              reply_to=self.celery.thread_oid)
        content_type, content_encoding, body = dumps(message.body, serializer="json")
        properties = dict(message.properties, delivery_mode=2)
        details = {"body": message.body, "exchange": "", "routing_key": self.queue,
                   "headers": message.headers, "properties": properties}
        signals.before_task_publish.send(sender=task, declare=[], retry_policy=self.retry_policy, **details)
        for attempt in range(len(self.retry_delays) + 1):
            held = None
            try:
                held = self._take()
                envelope = held[2].prepare_message(body, 0, content_type, content_encoding,
                                                   message.headers, dict(properties))
                held[2].basic_publish(envelope, exchange="", routing_key=self.queue)
                self._give_back(held)
                break
            except self.errors:
                if held is not None:
                    self._close(held)
                self._drop_idle()  # the others reach the same broker: likely broken as well
                if attempt == len(self.retry_delays):
                    raise
                time.sleep(self.retry_delays[attempt])
        signals.after_task_publish.send(sender=task, **details)

    def _take(self) -> tuple[int, Any, Any]:
        """An idle channel of this process, else a new one."""
        pid = os.getpid()
        with self._idle_lock:
            while self._idle:
                held = self._idle.pop()
                if held[0] == pid:
                    return held
                # Inherited through fork: its socket is the parent's; dropped, not closed.
        connection = self.celery.connection_for_write()
        # The channel is made as the transport's establish_connection makes it (a ping
        # to Redis), once: kombu's Connection would retry on its own, 2 s apart, within
        # each of publish()'s tries.
        transport = connection.transport
        try:
            channel = transport.create_channel(transport)
            # As a process's first send_task does: the queue and its binding exist
            # before anything is queued, whichever of the gateway and the worker starts first.
            self.celery.amqp.queues[self.queue].bind(channel).declare()
        except BaseException:
            self._close((pid, connection, None))
            raise
        return pid, connection, channel

    def _give_back(self, held: tuple[int, Any, Any]) -> None:
        with self._idle_lock:
            self._idle.append(held)

    def _drop_idle(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for held in idle:
            if held[0] == os.getpid():
                self._close(held)

    @staticmethod
    def _close(held: tuple[int, Any, Any]) -> None:
        for done in (held[2], held[1]):
            if done is not None:
                try:
                    done.close()
                except Exception:  # noqa: BLE001 - closing what is broken may fail as well
                    logger.debug("closing a broken broker channel failed", exc_info=True)


# kombu's ensure() settings for a publish: two more tries, 0.2 s then 0.7 s later.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}


def _kombu_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import KombuError
    return (KombuError, *kombu_redis.Transport.connection_errors, *kombu_redis.Transport.channel_errors)


_PUBLISHERS: "weakref.WeakKeyDictionary[Any, dict[bool, Publisher]]" = weakref.WeakKeyDictionary()


def publisher(celery: Any, direct: bool = True) -> Publisher:
    """The Celery app's :class:`Publisher` (``direct``: the fast path where it applies,
    else ``send_task``; ``QED_PUBLISH``), made on first use."""
    made = _PUBLISHERS.setdefault(celery, {})
    found = made.get(direct)
    if found is None:
        found = made.setdefault(direct, Publisher(celery, direct=direct))
    return found
