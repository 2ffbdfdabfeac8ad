"""The embedded store's tables and indexes, and the upgrade of a file written by an
older version (``PRAGMA user_version`` holds the version a file was brought up to)."""
from __future__ import annotations

import sqlite3
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    meta TEXT NOT NULL,
    inputs BLOB,
    data BLOB,
    results_table BLOB,
    owner TEXT,
    status TEXT,
    created TEXT,
    app TEXT,
    model TEXT,
    fingerprint TEXT,
    cached_from TEXT
);
CREATE INDEX IF NOT EXISTS jobs_expires_at ON jobs (expires_at);
CREATE TABLE IF NOT EXISTS probe (id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS active (
    owner TEXT PRIMARY KEY,
    jobs INTEGER NOT NULL,
    rows INTEGER NOT NULL
);
"""
# The fields searched by are columns of their own, copied from ``meta`` by every write that
# sets them: an index over a column costs a write nothing unless its value changes, where
# one over ``json_extract(meta, ...)`` parses the record's JSON again for each index, twice
# (old and new entry), on every write (schema 3; measured in docs/performance.md).
COLUMNS = ("owner", "status", "created", "app", "model", "fingerprint", "cached_from")
INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_owner_status ON jobs (owner, status);
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created, id);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created, id);
CREATE INDEX IF NOT EXISTS jobs_serving ON jobs (fingerprint) WHERE cached_from IS NULL;
CREATE INDEX IF NOT EXISTS jobs_cached_from ON jobs (cached_from) WHERE cached_from IS NOT NULL;
"""
# 1: ``active`` holds each owner's queued and running jobs and runs, kept in step by
# every write that changes a status, so that a quota check reads one row instead of
# counting the queue.
# 2: the fingerprint index holds only the jobs that can serve the cache (``jobs_serving``:
# those not answered from it), so a lookup for often-repeated inputs does not walk
# every copy made of their result.
# 3: the searched fields as columns (``COLUMNS``), indexed in place of their JSON paths.
# 4: the followers' index holds only the jobs that have a ``cached_from`` (joiners and
# copies of a cached result): a job that runs itself, nearly every one, costs it nothing.
SCHEMA_VERSION = 4


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a store written by an older version up to SCHEMA_VERSION (once, by whichever
    process gets the write lock first). Every process using the file must run this version:
    stop them all before the upgrade (a process of an older version would write records
    without their columns, which the searches of this one read)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < 1:
            conn.execute("DELETE FROM active")
            conn.execute(
                "INSERT INTO active (owner, jobs, rows) SELECT json_extract(meta, '$.owner'), count(*), "
                "sum(coalesce(json_extract(meta, '$.rows'), 1)) FROM jobs WHERE json_extract(meta, '$.owner') "
                "IS NOT NULL AND json_extract(meta, '$.status') IN ('PENDING', 'STARTED') "
                "GROUP BY json_extract(meta, '$.owner')")
        conn.execute("DROP INDEX IF EXISTS jobs_fingerprint")
        have = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
        if "results_table" not in have:
            conn.execute("ALTER TABLE jobs ADD COLUMN results_table BLOB")
        if not set(COLUMNS) <= have:  # before 3: the searched fields only inside meta
            for name in ("jobs_owner_status", "jobs_owner_created", "jobs_created", "jobs_serving",
                         "jobs_cached_from"):  # over json_extract(meta, ...): made again below
                conn.execute(f"DROP INDEX IF EXISTS {name}")
            for name in COLUMNS:
                if name not in have:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} TEXT")
            # Every row is written again: the expired ones are dropped first, not copied.
            conn.execute("DELETE FROM jobs WHERE expires_at <= ?", (time.time(),))
            conn.execute("UPDATE jobs SET " + ", ".join(  # noqa: S608 - fixed names
                f"{name} = json_extract(meta, '$.{name}')" for name in COLUMNS))
        partial = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'jobs_cached_from'").fetchone()
        if partial is not None and "WHERE" not in (partial[0] or "").upper():  # before 4: every job in it
            conn.execute("DROP INDEX jobs_cached_from")
        for statement in filter(str.strip, INDEXES.split(";")):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
