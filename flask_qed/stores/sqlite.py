"""The embedded store: one SQLite file in WAL mode, shared by the gateway and workers.

WAL lets readers (pollers) and one writer (a worker) work at once; every
write is a short ``BEGIN IMMEDIATE`` transaction and a busy timeout makes
concurrent processes wait instead of failing. Connections are opened lazily,
one per process and thread, so a forked Celery child never reuses its
parent's handle. Expiry is enforced on every read and purged periodically.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .base import BLOB_FIELDS, JobNotFound, JobStore, StoreUnavailable, claimable, pack, unpack

logger = logging.getLogger(__name__)

PURGE_EVERY = 60.0  # seconds between purges triggered by writes

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    meta TEXT NOT NULL,
    inputs BLOB,
    data BLOB
);
CREATE INDEX IF NOT EXISTS jobs_expires_at ON jobs (expires_at);
"""


def path_from_url(url: str) -> str:
    """``sqlite:///rel/path`` (relative) or ``sqlite:////abs/path`` (absolute), as SQLAlchemy."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"QED_STORE_URL: expected sqlite:///path, got {url!r}")
    return url[len("sqlite:///"):]


class SQLiteStore(JobStore):
    def __init__(self, url: str, ttl: int):
        super().__init__(ttl)
        self.path = path_from_url(url)
        if not self.path or self.path == "/":
            raise ValueError(f"QED_STORE_URL: no file path in {url!r}")
        self._local = threading.local()
        self._last_purge = 0.0

    # -- connection -----------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, sql: str, params: tuple) -> int:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                count = conn.execute(sql, params).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        return count

    # -- interface ----------------------------------------------------------------
    def create(self, job_id: str, fields: dict[str, Any]) -> None:
        meta = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
        meta["job_id"] = job_id
        blobs = [pack(fields[k]) if k in fields else None for k in BLOB_FIELDS]
        try:
            self._write("INSERT INTO jobs (id, expires_at, meta, inputs, data) VALUES (?, ?, ?, ?, ?)",
                        (job_id, self.expiry().timestamp(), json.dumps(meta), *blobs))
        except sqlite3.IntegrityError:
            raise ValueError(f"job {job_id} already exists") from None
        self._maybe_purge()

    def get(self, job_id: str, *, inputs: bool = False, data: bool = True,
            raw: bool = False) -> dict[str, Any]:
        cols = "meta" + (", inputs" if inputs else ", NULL") + (", data" if data else ", NULL")
        try:
            row = self._conn().execute(
                f"SELECT {cols} FROM jobs WHERE id = ? AND expires_at > ?",  # noqa: S608 - fixed columns
                (job_id, time.time())).fetchone()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        if row is None:
            raise JobNotFound(job_id)
        record = json.loads(row[0])
        if inputs and row[1] is not None:
            record["inputs"] = unpack(row[1])
        if data and row[2] is not None:
            record["data"] = unpack(row[2], raw=raw)
        return record

    def update(self, job_id: str, fields: dict[str, Any]) -> None:
        # Compress before the transaction: the write lock is held only to write.
        blobs = {k: pack(fields[k]) for k in BLOB_FIELDS if k in fields}
        small = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
        self._modify(job_id, lambda meta: small, blobs)

    def claim(self, job_id: str, lease: float, fields: dict[str, Any]) -> dict[str, Any] | None:
        claimed: list[dict[str, Any]] = []

        def take(meta: dict[str, Any]) -> dict[str, Any] | None:
            now = time.time()
            if not claimable(meta, now):
                return None
            changes = {**fields, "status": "STARTED", "lease_until": now + lease,
                       "attempts": int(meta.get("attempts") or 0) + 1}
            claimed.append({**meta, **changes})
            return changes

        self._modify(job_id, take)
        return claimed[0] if claimed else None

    def finish(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] = ("STARTED",)) -> bool:
        blobs = {k: pack(fields[k]) for k in BLOB_FIELDS if k in fields}
        small = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
        written: list[bool] = []

        def change(meta: dict[str, Any]) -> dict[str, Any] | None:
            if meta.get("status") not in only_if:
                return None
            written.append(True)
            return small

        self._modify(job_id, change, blobs)
        return bool(written)

    def heartbeat(self, job_id: str, lease: float) -> None:
        self._modify(job_id, lambda meta: {"lease_until": time.time() + lease})

    def _modify(self, job_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None],
                blobs: dict[str, bytes] | None = None) -> None:
        """Read-modify-write one record in one transaction; ``change`` returns the
        fields to set, or None to leave the record as it is."""
        conn = self._conn()
        now = time.time()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT meta FROM jobs WHERE id = ? AND expires_at > ?",
                                   (job_id, now)).fetchone()
                if row is None:
                    raise JobNotFound(job_id)
                meta = json.loads(row[0])
                fields = change(meta)
                if fields is None:
                    conn.execute("ROLLBACK")
                    return
                meta.update(fields)
                sets, params = ["meta = ?", "expires_at = ?"], [json.dumps(meta), self.expiry().timestamp()]
                for k, blob in (blobs or {}).items():
                    sets.append(f"{k} = ?")
                    params.append(blob)
                conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*params, job_id))  # noqa: S608
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc

    def ping(self) -> None:
        try:
            self._conn().execute("SELECT 1 FROM jobs LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc

    def purge_expired(self) -> int:
        self._last_purge = time.monotonic()
        count = self._write("DELETE FROM jobs WHERE expires_at <= ?", (time.time(),))
        if count:
            logger.info("purged %d expired jobs", count)
        return count

    def _maybe_purge(self) -> None:
        if time.monotonic() - self._last_purge > PURGE_EVERY:
            try:
                self.purge_expired()
            except StoreUnavailable as exc:  # housekeeping: never fail the write that triggered it
                logger.warning("purge skipped: %s", exc)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
