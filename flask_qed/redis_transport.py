"""The Redis broker transport: kombu's, with a connect timeout that covers name
resolution, its own connection for a channel's writes, and a cheaper record of the
messages a worker holds.

redis-py's ``socket_connect_timeout`` starts after ``getaddrinfo``; a DNS server
that does not answer then holds a request for the resolver's own timeouts
(5 s × attempts × search domains: 10–40 s) although ``QED_BROKER_TIMEOUT`` is
5 s. Here the broker's host is resolved in a helper thread that is waited for
at most the connect timeout; a failure is remembered for a few seconds, so the
publisher's retries fail at once instead of waiting again.

A channel keeps one Redis client for its publishes and acknowledgements instead of
building one per message (see :meth:`Channel.conn_or_acquire`), and one connection
of its own on which it queues messages (:meth:`Channel.put_text`) and writes the
record of the messages it holds (:class:`QoS`, :meth:`Channel.transact`).
Celery is told to use it by name: ``broker_transport=TRANSPORT``.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import hiredis
import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual as kombu_virtual
from kombu.utils import json as kombu_json

TRANSPORT = f"{__name__}:Transport"  # Celery's broker_transport for redis:// and rediss://
NEGATIVE_TTL = 10.0   # s a failed resolution is remembered
POSITIVE_TTL = 60.0   # s a successful one is

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


def _pack(*commands: tuple[Any, ...]) -> bytes:
    """Redis commands of text, numbers and bytes written for the wire, in C (hiredis, the
    parser redis-py already loads; floats as ``repr`` writes them, as redis-py does)."""
    return b"".join(map(hiredis.pack_command, commands))


class QoS(kombu_redis.QoS):
    """kombu's record of the messages a worker holds unacknowledged (the hash and sorted set
    from which a dead worker's messages are restored), written as kombu writes it: the same
    keys, values and scores, each change one ``MULTI``/``EXEC`` transaction. kombu sends each
    through redis-py's pipeline, which costs more than the transaction itself: with every
    job's message recorded and acknowledged this way, about a quarter of the worker's main
    process. Here each is sent on the channel's own connection, written at once
    (:meth:`Channel.transact`). Restoring (at shutdown, and the visibility sweep) is kombu's."""

    channel: "Channel"

    def append(self, message: Any, delivery_tag: Any) -> None:
        delivery = message.delivery_info
        # kombu's json: it writes back the typed values (datetimes, UUIDs...) its loads made
        entry = kombu_json.dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        key = self.channel.prefixed
        self.channel.transact(("ZADD", key(self.unacked_index_key), time.time(), delivery_tag),
                              ("HSET", key(self.unacked_key), delivery_tag, entry))
        kombu_virtual.QoS.append(self, message, delivery_tag)

    def ack(self, delivery_tag: Any) -> None:
        self._forget(delivery_tag)
        kombu_virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if requeue:
            super().reject(delivery_tag, requeue=True)  # kombu's restore, in its transaction
            return
        self._forget(delivery_tag)
        kombu_virtual.QoS.ack(self, delivery_tag)

    def _forget(self, delivery_tag: Any) -> None:
        key = self.channel.prefixed
        self.channel.transact(("ZREM", key(self.unacked_index_key), delivery_tag),
                              ("HDEL", key(self.unacked_key), delivery_tag))


class Channel(kombu_redis.Channel):
    QoS = QoS
    connection_class = TimedConnection
    connection_class_ssl = TimedSSLConnection
    _reused_client: Any = None
    _held: Any = None        # the channel's own connection: its LPUSHes (_put) and transactions (transact)
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
        self.put_text(self._q_for_pri(queue, self._get_message_priority(message, reverse=False)),
                      kombu_json.dumps(message))

    def put_text(self, key: str, body: str) -> None:
        """``LPUSH`` a message already written as text onto the list ``key``, on the
        connection the channel keeps for it."""
        with self._held_lock:
            held = self._held_connection()
            try:
                held.send_packed_command([_pack(("LPUSH", self.prefixed(key), body))])
                held.read_response()
            except BaseException:
                self._drop_held(held)  # made again by the next message; the caller sees the error
                raise

    def transact(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Run ``commands`` as one transaction (``MULTI`` … ``EXEC``, written at once) on
        the connection the channel keeps, and return their replies. Only for commands that
        may run twice (the unacknowledged messages' records): a connection lost on the way
        is made again and the transaction sent once more; a second loss, or the loss of a
        connection made for this transaction (the broker cannot be reached: not waited for
        twice), is raised."""
        for attempt in (1, 2):
            with self._held_lock:
                new = self._held is None or self._held_pid != os.getpid()
                held = self._held_connection()
                try:
                    held.send_packed_command([_pack(("MULTI",), *commands, ("EXEC",))])
                    for _ in range(len(commands) + 1):  # +OK, then QUEUED for each
                        held.read_response()
                    replies = held.read_response()
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    self._drop_held(held)
                    if attempt == 2 or new:
                        raise
                    continue
                except BaseException:  # a command refused: the connection's state is unknown
                    self._drop_held(held)
                    raise
            for reply in replies or ():
                if isinstance(reply, Exception):
                    raise reply
            return list(replies or ())
        raise AssertionError("unreachable")

    def prefixed(self, name: str) -> str:
        """A key as kombu's client writes it: with the transport's ``global_keyprefix``."""
        return self.global_keyprefix + name if self.global_keyprefix else name

    def _held_connection(self) -> Any:
        """The connection this channel keeps for its own writes (the caller holds the lock)."""
        held = self._held
        if held is None or self._held_pid != os.getpid():  # new, or inherited through fork
            held = self._held = self.pool.connection_class(**self.pool.connection_kwargs)
            self._held_pid = os.getpid()
        return held

    def _drop_held(self, held: Any) -> None:
        held.disconnect()
        if self._held is held:
            self._held = None

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
