"""The embedded store's write lock, waited for without holding the process.

Every write to the SQLite file is a ``BEGIN IMMEDIATE`` transaction. One that finds another
process writing (a large result being stored, a purge) must wait for it, and SQLite's busy
handler waits by holding the thread: under gevent (the gateway's server), every request of
the process, ``/healthz`` included, for as long as the other write lasts. So the lock is
tried without SQLite's wait and waited for by ``time.sleep`` between tries, which under
gevent lets the process's other requests run.
"""
from __future__ import annotations

import sqlite3
import threading
import time

BUSY_TIMEOUT = 30.0  # seconds a statement waits for another process's lock before failing (503)
# A write waits for another writer by sleeping between tries of ``BEGIN IMMEDIATE``:
# first half a millisecond, doubling to 10 ms.
WRITE_PAUSE, WRITE_PAUSE_MAX = 0.0005, 0.01


def begin_write(conn: sqlite3.Connection, writers: threading.Lock) -> None:
    """``BEGIN IMMEDIATE``: the write lock, waited for (up to ``BUSY_TIMEOUT``) by sleeping
    between tries made without SQLite's busy handler, one request of the connection at a time
    (``writers``: the connection's lock; gevent's, under gevent).

    SQLite's handler holds the thread while it waits: under gevent, every request of the
    process. ``time.sleep`` there lets them run. Every process paces its tries alike, so a
    worker storing a result does not lose the lock to the gateway's submissions (SQLite's
    handler sleeps up to 100 ms between its tries). ``conn`` has no busy handler: the store
    writes on a connection of its own, and its reads keep SQLite's wait on theirs."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    if not writers.acquire(timeout=BUSY_TIMEOUT):
        raise sqlite3.OperationalError("database is locked (writes of this process waited before it)")
    try:
        pause = WRITE_PAUSE
        while not _try_begin(conn):
            left = deadline - time.monotonic()
            if left <= 0:
                raise sqlite3.OperationalError("database is locked")
            time.sleep(min(pause, left))
            pause = min(pause * 2, WRITE_PAUSE_MAX)
    finally:
        writers.release()


def _try_begin(conn: sqlite3.Connection) -> bool:
    """One try of ``BEGIN IMMEDIATE`` on a connection without SQLite's wait (the store's
    writes have a connection of their own with ``busy_timeout=0``): True if the lock was
    taken, False if another connection holds it."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        return True
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
            raise
        return False
