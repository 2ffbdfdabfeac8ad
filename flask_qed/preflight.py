"""Start-up checks: a gateway or worker whose store or broker cannot work stops at
once with a message that says which and why, instead of starting and failing
every request (or every job) later.

A service that is merely not up yet (a container still starting) is waited for,
up to ``QED_STARTUP_TIMEOUT`` seconds; a URL that can never work (an unknown
scheme, a corrupted or read-only SQLite file) fails at once.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from .redis_transport import TRANSPORT
from .runtime import runtime_of
from .stores import StoreUnavailable, open_store

logger = logging.getLogger(__name__)


class StartupError(SystemExit):
    """Raised to stop a process at start; the message is printed and the exit status is 1."""

    def __init__(self, message: str):
        super().__init__(f"flask_qed cannot start: {message}")


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    return (head.split("://", 1)[0] + "://…@" + tail) if sep else url


def check(settings: Any, role: str, wait: float | None = None) -> None:
    """Raise :class:`StartupError` unless the store does a write-read round trip and
    the broker accepts a connection, within ``wait`` seconds."""
    wait = settings.startup_timeout if wait is None else wait
    try:
        store = open_store(settings.store_url, settings.result_ttl)
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    deadline = time.monotonic() + wait
    _retry(lambda: store.ping(), f"QED_STORE_URL {_redact(settings.store_url)}", deadline,
           fatal=lambda exc: settings.store_url.startswith("sqlite"))
    store.close()
    _retry(lambda: _connect_broker(settings), f"QED_BROKER_URL {_redact(settings.broker_url)}", deadline)
    logger.info("%s: store and broker answer", role)


def _connect_broker(settings: Any) -> None:
    from kombu import Connection
    transport = TRANSPORT if settings.broker_url.startswith(("redis://", "rediss://")) else None
    with Connection(settings.broker_url, transport=transport, connect_timeout=settings.broker_timeout,
                    transport_options={"socket_timeout": settings.broker_timeout,
                                       "socket_connect_timeout": settings.broker_timeout}) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.broker_timeout)


def _retry(probe: Any, what: str, deadline: float, fatal: Any = lambda exc: False) -> None:
    while True:
        try:
            probe()
            return
        except (StoreUnavailable, OSError, Exception) as exc:  # noqa: BLE001 - every failure is reported
            if fatal(exc) or time.monotonic() >= deadline:
                raise StartupError(f"{what} does not work: {type(exc).__name__}: {exc}") from None
            logger.warning("%s not ready yet (%s); retrying", what, exc)
            time.sleep(1.0)


def connect_worker(celery: Any) -> None:
    """Check at ``celery worker`` start (the ``worker_init`` signal, before the pool starts)."""
    from celery import signals

    def on_init(**_: Any) -> None:
        check(runtime_of(celery).settings, "worker")

    signals.worker_init.connect(on_init, weak=False, dispatch_uid="qed_preflight")
