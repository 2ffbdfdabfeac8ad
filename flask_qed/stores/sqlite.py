"""The embedded store: one SQLite file in WAL mode, shared by the gateway and workers.

WAL lets readers (pollers) and one writer (a worker) work at once; every
write is a short ``BEGIN IMMEDIATE`` transaction, and a write that finds another
process writing sleeps and tries again (:mod:`.sqlite_lock`: under gevent its process's
other requests go on meanwhile) instead of failing. Connections are opened lazily,
one per process and thread, so a forked Celery child never reuses its
parent's handle. Expiry is enforced on every read; expired jobs are purged by the
workers' housekeeping (:mod:`flask_qed.reconciler`) and by ``qed purge``, never by a
request's write. A queued or running job has ``expires_at`` = NEVER, so it cannot expire.

Every SQLite error (a locked, unreadable or corrupted file: "file is not a
database") is reported as :class:`StoreUnavailable`, which the gateway answers 503.

A connection keeps working on a file that was deleted, replaced or overwritten,
so before each use the file at the path must still be the one it opened, and
still a database; a file deleted while in use is never made again, empty: every
request is answered 503 until a restart (see :mod:`.sqlite_file`). The files are
their owner's alone (0600 in a folder made 0700).
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import zlib
from typing import Any, Callable

import orjson

from ..jobs.states import ACTIVE, PENDING, STARTED
from . import sqlite_file, sqlite_lock
from .base import (BLOB_FIELDS, NEVER, Caps, JobNotFound, JobStore, StoreUnavailable, claimable, pack, stored_data,
                   unpack)
from .sqlite_schema import COLUMNS, SCHEMA, SCHEMA_VERSION, upgrade

logger = logging.getLogger(__name__)

PURGE_CHUNK = 1000  # expired jobs deleted by one transaction of a purge
PURGE_GAP = 0.005  # seconds between two of them: longer than most pauses of a waiting write

NEVER_TS = NEVER.timestamp()
INSERT = (f"INSERT INTO jobs (id, expires_at, meta, inputs, data, results_table, {', '.join(COLUMNS)}) "
          f"VALUES ({', '.join('?' * (6 + len(COLUMNS)))})")
BLOB_COLUMNS = {"inputs": "inputs", "data": "data", "table": "results_table"}  # field -> column


def _dump(meta: dict[str, Any]) -> str:
    """A record's small fields as JSON text (orjson: several times faster than json)."""
    try:
        return orjson.dumps(meta).decode()
    except TypeError:  # beyond what orjson writes (an integer past 64 bits): the standard library
        return json.dumps(meta)


def _load(text: str) -> dict[str, Any]:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # written by json.dumps with a NaN in it
        return json.loads(text)


def _column(value: Any) -> Any:
    """A searched field's value as its column holds it (as ``json_extract`` would give it)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return _dump(value)


def _counted(meta: dict[str, Any]) -> tuple[Any, Any] | None:
    """(owner, rows) as the active count holds a job, or None if it is not counted."""
    if meta.get("status", PENDING) not in ACTIVE or meta.get("owner") is None:
        return None
    return meta["owner"], meta.get("rows")


def _count(conn: sqlite3.Connection, meta: dict[str, Any], sign: int) -> None:
    """Add (sign=1) or remove (-1) a job in its owner's active count, in the caller's transaction."""
    owner = meta.get("owner")
    if owner is None:
        return
    rows = meta.get("rows")
    rows = 1 if rows is None else int(rows)
    conn.execute("INSERT INTO active (owner, jobs, rows) VALUES (?, ?, ?) ON CONFLICT (owner) DO UPDATE "
                 "SET jobs = jobs + excluded.jobs, rows = rows + excluded.rows",
                 (str(owner), sign, sign * rows))


def _active(conn: sqlite3.Connection, owner: str) -> tuple[int, int]:
    """``owner``'s (jobs, runs) queued or running, as the active count holds them."""
    row = conn.execute("SELECT jobs, rows FROM active WHERE owner = ?", (owner,)).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def path_from_url(url: str) -> str:
    """``sqlite:///rel/path`` (relative) or ``sqlite:////abs/path`` (absolute), as SQLAlchemy."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"QED_STORE_URL: expected sqlite:///path, got {url!r}")
    return url[len("sqlite:///"):]


def os_thread_local() -> Any:
    """Storage per operating-system thread, also under gevent (the gateway's default
    gunicorn worker), where ``threading.local`` is per greenlet: a connection per
    request would be opened and never reused. Greenlets of one thread may share a
    connection: a sqlite3 call never yields to another greenlet, so statements of
    two requests never interleave."""
    try:
        from gevent import monkey
    except ImportError:
        return threading.local()
    return monkey.get_original("threading", "local")() if monkey.is_module_patched("threading") \
        else threading.local()


class SQLiteStore(JobStore):
    def __init__(self, url: str, ttl: int):
        super().__init__(ttl)
        self.path = path_from_url(url)
        if not self.path or self.path == "/":
            raise ValueError(f"QED_STORE_URL: no file path in {url!r}")
        self._local = os_thread_local()

    # -- connection -----------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            self._check_file()
            return conn
        try:
            conn = sqlite_file.connect(self.path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(sqlite_lock.BUSY_TIMEOUT * 1000)}")
            conn.executescript(SCHEMA)
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                upgrade(conn)
            ident = sqlite_file.identity(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        self._local.conn, self._local.pid = conn, os.getpid()
        self._local.file, self._local.stamp = ident, None
        self._local.writers = threading.Lock()  # made in the process and thread that use it
        self._check_file()
        return conn

    def _writer(self) -> sqlite3.Connection:
        """This thread's connection for writes: a second one to the same file, with no busy
        handler at all (``busy_timeout=0``), so that :func:`sqlite_lock.begin_write` tries
        the lock without turning SQLite's wait off and on around each try (two statements a
        write); the reads' connection keeps its wait. Checked as :meth:`_conn` is."""
        self._conn()  # the file checked, the schema made
        conn = getattr(self._local, "writer", None)
        if conn is not None and self._local.writer_pid == os.getpid():
            return conn
        try:
            conn = sqlite_file.connect(self.path)
            conn.execute("PRAGMA synchronous=NORMAL")  # per connection; WAL is the file's
            # Without WAL (a file system where it cannot be set) a COMMIT waits for the
            # readers: there the writes keep SQLite's wait, as the reads do.
            wal = conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
            conn.execute(f"PRAGMA busy_timeout={0 if wal else int(sqlite_lock.BUSY_TIMEOUT * 1000)}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        self._local.writer, self._local.writer_pid = conn, os.getpid()
        return conn

    def _check_file(self) -> None:
        self._local.stamp = sqlite_file.check(self.path, self._local.file, self._local.stamp)

    def _write(self, sql: str, params: tuple, active: dict[str, Any] | None = None,
               first: Callable[[sqlite3.Connection], None] | None = None) -> int:
        """One write transaction: ``first`` (in it, before the statement: it may raise to
        write nothing), the statement, and ``active`` added to its owner's active count."""
        conn = self._writer()
        try:
            sqlite_lock.begin_write(conn, self._local.writers)
            try:
                if first is not None:
                    first(conn)
                count = conn.execute(sql, params).rowcount
                if active is not None:
                    _count(conn, active, 1)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc
        return count

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(f"SQLite store {self.path}: {exc}")

    # -- interface ----------------------------------------------------------------
    def create(self, job_id: str, fields: dict[str, Any], caps: Caps | None = None) -> None:
        meta = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
        meta["job_id"] = job_id
        blobs = [pack(fields[k]) if k in fields else None for k in BLOB_FIELDS]

        def within_caps(conn: sqlite3.Connection) -> None:
            # The owner's count read in the transaction that writes the record: exact caps.
            refusal = self.refused(meta, caps, lambda owner: _active(conn, str(owner)))  # as _count keys it
            if refusal is not None:
                raise refusal

        try:
            self._write(INSERT, (job_id, self.expiry(meta.get("status", PENDING)).timestamp(),
                                 _dump(meta), *blobs, *(_column(meta.get(name)) for name in COLUMNS)),
                        active=meta if meta.get("status", PENDING) in ACTIVE else None,
                        first=within_caps if caps is not None else None)
        except sqlite3.IntegrityError:
            raise ValueError(f"job {job_id} already exists") from None

    def get(self, job_id: str, *, inputs: bool = False, data: bool = True,
            raw: bool = False, packed: bool = False, table: bool = False,
            as_stored: bool = False) -> dict[str, Any]:
        cols = "meta" + (", inputs" if inputs else ", NULL") + (", data" if data else ", NULL") \
            + (", results_table" if table else ", NULL")
        try:
            row = self._conn().execute(
                f"SELECT {cols} FROM jobs WHERE id = ? AND expires_at > ?",  # noqa: S608 - fixed columns
                (job_id, time.time())).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            record = _load(row[0])
            if inputs and row[1] is not None:
                record["inputs"] = bytes(row[1]) if packed else unpack(row[1])
            if data and row[2] is not None:
                blob = row[2] if as_stored and packed else \
                    stored_data(row[2], lambda: row[3] if row[3] is not None else self._table(job_id), job_id)
                record["data"] = bytes(blob) if packed else unpack(blob, raw=raw)
            if table and row[3] is not None:
                record["table"] = bytes(row[3])
        except (sqlite3.DatabaseError, zlib.error, ValueError) as exc:  # a damaged row or file
            raise self._unavailable(exc) from exc
        return record

    def _table(self, job_id: str) -> bytes | None:
        row = self._conn().execute("SELECT results_table FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row is not None else None

    def update(self, job_id: str, fields: dict[str, Any]) -> None:
        # Compress before the transaction: the write lock is held only to write.
        blobs = {k: pack(fields[k]) for k in BLOB_FIELDS if k in fields}
        small = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
        self._modify(job_id, lambda meta: small, blobs)

    def claim(self, job_id: str, lease: float, fields: dict[str, Any],
              inputs: bool = False) -> dict[str, Any] | None:
        claimed: list[dict[str, Any]] = []
        stored: list[bytes | None] = []

        def take(meta: dict[str, Any]) -> dict[str, Any] | None:
            now = time.time()
            if not claimable(meta, now):
                return None
            changes = {**fields, "status": STARTED, "lease_until": now + lease,
                       "attempts": int(meta.get("attempts") or 0) + 1}
            claimed.append({**meta, **changes})
            return changes

        self._modify(job_id, take, inputs_to=stored if inputs else None)
        if claimed and stored and stored[0] is not None:
            claimed[0]["inputs"] = stored[0]
        return claimed[0] if claimed else None

    def finish(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] = (STARTED,)) -> bool:
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

    def heartbeat(self, job_id: str, lease: float) -> str:
        status: list[str] = []

        def renew(meta: dict[str, Any]) -> dict[str, Any] | None:
            status.append(meta.get("status", ""))
            return {"lease_until": time.time() + lease} if meta.get("status") == STARTED else None

        self._modify(job_id, renew)
        return status[0]

    def _modify(self, job_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None],
                blobs: dict[str, bytes] | None = None, inputs_to: list[bytes | None] | None = None) -> None:
        """Read-modify-write one record in one transaction; ``change`` returns the
        fields to set, or None to leave the record as it is. ``inputs_to`` gets the
        stored inputs, read by the same statement as the record."""
        conn = self._writer()
        try:
            sqlite_lock.begin_write(conn, self._local.writers)
            now = time.time()
            try:
                row = conn.execute("SELECT meta, expires_at" + (", inputs" if inputs_to is not None else "")
                                   + " FROM jobs WHERE id = ? AND expires_at > ?", (job_id, now)).fetchone()
                if row is None:
                    raise JobNotFound(job_id)
                meta = _load(row[0])
                if inputs_to is not None:
                    inputs_to.append(bytes(row[2]) if row[2] is not None else None)
                fields = change(meta)
                if fields is None:
                    conn.execute("ROLLBACK")
                    return
                counted = _counted(meta)
                meta.update(fields)
                if _counted(meta) != counted:  # queued or running no more (or owner, rows changed)
                    if counted:
                        _count(conn, {"owner": counted[0], "rows": counted[1]}, -1)
                    if _counted(meta):
                        _count(conn, meta, 1)
                # The time to live starts when a job finishes; other writes keep it.
                expires = self.expiry(meta.get("status")).timestamp() if "status" in fields else row[1]
                sets, params = ["meta = ?", "expires_at = ?"], [_dump(meta), expires]
                for name in COLUMNS:
                    if name in fields:
                        sets.append(f"{name} = ?")
                        params.append(_column(fields[name]))
                for k, blob in (blobs or {}).items():
                    sets.append(f"{BLOB_COLUMNS[k]} = ?")
                    params.append(blob)
                conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*params, job_id))  # noqa: S608
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc

    def count_active(self, owner: str) -> tuple[int, int]:
        try:
            return _active(self._conn(), owner)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc

    def list_jobs(self, *, owner: str | None = None, app: str | None = None, model: str | None = None,
                  status: str | None = None, since: str | None = None,
                  before: tuple[str, str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        where, params = ["expires_at > ?"], [time.time()]
        for name, value in (("owner", owner), ("app", app), ("model", model), ("status", status)):
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)
        if since is not None:
            where.append("created >= ?")
            params.append(since)
        if before is not None:
            where.append("(created, id) < (?, ?)")
            params.extend(before)
        return self._select_meta(" AND ".join(where), params, limit)

    def with_fingerprint(self, fingerprint: str, statuses: tuple[str, ...], owner: str | None = None,
                         limit: int = 1) -> list[dict[str, Any]]:
        where = ["fingerprint = ?", "expires_at > ?", "cached_from IS NULL",
                 f"status IN ({', '.join('?' * len(statuses))})"]
        params: list[Any] = [fingerprint, time.time(), *statuses]
        if owner is not None:
            where.append("owner = ?")
            params.append(owner)
        return self._select_meta(" AND ".join(where), params, limit, index="jobs_serving")

    def followers(self, job_id: str, limit: int = 500) -> list[dict[str, Any]]:
        return self._select_meta("cached_from = ? AND expires_at >= ?",
                                 [job_id, NEVER_TS], limit, index="jobs_cached_from")  # active: NEVER

    def _select_meta(self, where: str, params: list[Any], limit: int, index: str = "") -> list[dict[str, Any]]:
        # ``index``: the one to search by, named, lest the planner walk an owner's or every
        # job in ``created`` order to spare itself a sort of the few that match.
        source = f"jobs INDEXED BY {index}" if index else "jobs"
        sql = (f"SELECT meta FROM {source} WHERE {where} "  # noqa: S608 - fixed fragments
               "ORDER BY created DESC, id DESC LIMIT ?")
        try:
            rows = self._conn().execute(sql, (*params, int(limit))).fetchall()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        return [_load(row[0]) for row in rows]

    def ping(self) -> None:
        """A real write and read-back (a read-only or corrupted file fails here)."""
        token = time.time()
        key = f"{os.getpid()}:{threading.get_ident()}"
        try:
            self._write("INSERT OR REPLACE INTO probe (id, at) VALUES (?, ?)", (key, token))
            row = self._conn().execute("SELECT at FROM probe WHERE id = ?", (key,)).fetchone()
            self._conn().execute("SELECT count(*) FROM jobs WHERE expires_at > ?", (NEVER_TS,)).fetchone()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        if row is None or row[0] != token:
            raise StoreUnavailable(f"SQLite store {self.path}: a probe written was not read back")

    def stale_jobs(self, now: float, pending_grace: float, limit: int = 500) -> list[dict[str, Any]]:
        # Only queued and running jobs carry expires_at = NEVER: the index finds them.
        sql = """SELECT meta FROM jobs WHERE expires_at >= ?
                   AND model IS NOT NULL
                   AND COALESCE(json_extract(meta, '$.queued_at'), 0) < ?
                   AND (status = 'PENDING'
                        OR (status = 'STARTED'
                            AND COALESCE(json_extract(meta, '$.lease_until'), 0) < ?))
                 ORDER BY COALESCE(json_extract(meta, '$.queued_at'), 0) LIMIT ?"""
        try:
            rows = self._conn().execute(sql, (NEVER_TS, now - pending_grace, now, limit)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc
        return [_load(r[0]) for r in rows]

    def purge_expired(self, until: Callable[[], bool] | None = None) -> int:
        """Delete the jobs expired by now, ``PURGE_CHUNK`` to a transaction: the write lock is
        let go for ``PURGE_GAP`` between them, for the other writers, and ``until`` is asked
        there. (A minute of jobs at 500 a second, 30,000, took 0.25 s as one transaction, the
        lock held as long; chunked, about 0.55 s in all.) Each chunk is a transaction of its
        own: a purge stopped anywhere leaves the file whole."""
        cutoff, count = time.time(), 0
        while True:
            deleted = self._write("DELETE FROM jobs WHERE rowid IN "
                                  "(SELECT rowid FROM jobs WHERE expires_at <= ? LIMIT ?)", (cutoff, PURGE_CHUNK))
            count += deleted
            if deleted < PURGE_CHUNK or (until is not None and until()):
                break
            time.sleep(PURGE_GAP)  # a turn for the writers waiting for the lock
        if count:
            logger.info("purged %d expired jobs", count)
        return count

    def close(self) -> None:
        for name in ("writer", "conn"):
            conn = getattr(self._local, name, None)
            if conn is not None:
                conn.close()
                setattr(self._local, name, None)
