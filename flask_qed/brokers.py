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

import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import redis
from kombu.transport import redis as kombu_redis

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


class Channel(kombu_redis.Channel):
    connection_class = TimedConnection
    connection_class_ssl = TimedSSLConnection
    _reused_client: Any = None

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
