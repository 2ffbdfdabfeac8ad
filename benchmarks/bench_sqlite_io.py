"""CPU time of a job's lifecycle in the embedded store, as several processes use it, and
what the store's layout and SQLite's settings change of it.

A job's steps through the real store (``SQLiteStore``): the record written (the gateway),
claimed with its inputs and finished with its result (a worker's process, one of two,
taking turns), the finished record read (the waiting request). Each step goes through a
connection of its own, as each process has one: in WAL mode a connection whose file
another has written since its last transaction drops its page cache and reads again every
page it walks, and each write writes every page it changes as a frame of the log. In one
process, CPU time (user and system) from ``time.process_time``, batches interleaved.

* ``as it is``: the store's tables and indexes;
* ``lean indexes``: without the index of an owner's jobs by status, and the index of a
  cached job's followers holding only the jobs that have one (a partial index);
* ``mmap``: ``PRAGMA mmap_size`` of 1 GiB (the file's pages read from a mapping, not by
  ``pread``);
* ``checkpoint 10000``: ``PRAGMA wal_autocheckpoint=10000`` (the log copied into the file
  ten times less often);
* and an empty write transaction, its lock taken by the store's ``begin_write`` (tries
  without SQLite's wait, one request of a connection at a time) and by a bare
  ``BEGIN IMMEDIATE`` (SQLite's busy handler waits), no other writer about.

* ``--purge N``: instead, N finished jobs expired and purged, by the store as it is (a chunk
  of ``PURGE_CHUNK`` to a transaction) and as one transaction (as it was): each transaction's
  time, the write lock held that long.

    .venv/bin/python benchmarks/bench_sqlite_io.py [--rounds 9] [--batch 400]
    .venv/bin/python benchmarks/bench_sqlite_io.py --purge 30000
"""
from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stack import interleaved, interleaved_args  # noqa: E402

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}
RESULT = {"inputs": RICE, "outputs": {"out_msed": {"0": 0.0559}, "out_vw": {"0": 0.0987}, "out_cw": {"0": 27.518}}}
LEAN = ["DROP INDEX jobs_owner_status", "DROP INDEX jobs_cached_from",
        "CREATE INDEX jobs_cached_from ON jobs (cached_from) WHERE cached_from IS NOT NULL"]


def lifecycle(folder: Path, name: str, pragmas: list[str], layout: list[str]) -> Callable[[], None]:
    from flask_qed.jobs.record import new_record
    from flask_qed.stores.sqlite import SQLiteStore

    url = f"sqlite:///{folder / name}.sqlite3"
    gateway, *workers = [SQLiteStore(url, 3600) for _ in range(3)]
    gateway.ping()  # made, with its schema
    conn = gateway._conn()
    for statement in layout:
        conn.execute(statement)
    for store in (gateway, *workers):
        for pragma in pragmas:
            store._conn().execute(pragma)
    turn = [0]

    def job() -> None:
        job_id = str(uuid.uuid4())
        turn[0] += 1
        worker = workers[turn[0] % 2]
        gateway.create(job_id, {**new_record("pram", "rice", "1", "pram.rice"), "owner": "addr:127.0.0.1",
                                "rows": 1, "inputs": {**RICE, "mai": turn[0] * 1e-9},
                                "fingerprint": uuid.uuid4().hex, "notify": "0123456789abcdef"})
        worker.claim(job_id, 60.0, {"worker": "w@host", "started": "2026-12-07T00:00:00.000Z"}, inputs=True)
        worker.finish(job_id, {"status": "SUCCESS", "progress": 100, "finished": "2026-12-07T00:00:00.001Z",
                               "data": RESULT})
        gateway.get(job_id, packed=True)

    return job


def empty_writes(folder: Path) -> dict[str, Callable[[], None]]:
    import sqlite3
    import threading

    from flask_qed.stores.sqlite_lock import begin_write

    conn = sqlite3.connect(folder / "empty.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    writer = sqlite3.connect(folder / "empty.sqlite3", isolation_level=None, timeout=0)  # as the store's
    writers = threading.Lock()

    def ours() -> None:
        begin_write(writer, writers)
        writer.execute("COMMIT")

    def bare() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")

    return {"empty write, begin_write": ours, "empty write, BEGIN IMMEDIATE": bare}


def purge(folder: Path, jobs: int) -> None:
    """``jobs`` finished jobs, expired, purged in chunks and in one transaction (two stores)."""
    from flask_qed.jobs.record import new_record
    from flask_qed.stores.sqlite import SQLiteStore

    for how in ("in chunks (as it is)", "in one transaction (as it was)"):
        store = SQLiteStore(f"sqlite:///{folder / how.split()[1]}.sqlite3", 1)
        for n in range(jobs):
            job_id = str(uuid.uuid4())
            store.create(job_id, {**new_record("pram", "rice", "1", "pram.rice"), "owner": "addr:127.0.0.1",
                                  "rows": 1, "inputs": {**RICE, "mai": n * 1e-9}, "fingerprint": uuid.uuid4().hex})
            store.finish(job_id, {"status": "SUCCESS", "data": RESULT}, only_if=("PENDING",))
        time.sleep(1.5)  # all expired
        held: list[float] = []
        write = store._write

        def timed(sql: str, params: tuple, active: Any = None, write: Any = write) -> int:
            started = time.monotonic()
            try:
                return write(sql, params, active)
            finally:
                held.append(time.monotonic() - started)

        store._write = timed  # type: ignore[method-assign]
        started = time.monotonic()
        if how.startswith("in chunks"):
            count = store.purge_expired()
        else:
            count = timed("DELETE FROM jobs WHERE expires_at <= ?", (time.time(),))
        took = time.monotonic() - started
        held.sort()
        print(f"{how}: {count} jobs purged in {took:.3f} s; {len(held)} transactions, "
              f"median {held[len(held) // 2] * 1000:.1f} ms, longest {held[-1] * 1000:.1f} ms")


def main() -> None:
    if "--purge" in sys.argv:
        at = sys.argv.index("--purge")
        jobs = int(sys.argv[at + 1])
        del sys.argv[at:at + 2]
        purge(Path(tempfile.mkdtemp(prefix="qed-sqlite-purge-")), jobs)
        return
    args = interleaved_args(__doc__, rounds=9, batch=400)
    folder = Path(tempfile.mkdtemp(prefix="qed-sqlite-io-"))
    ways: dict[str, Any] = {
        "as it is": lifecycle(folder, "plain", [], []),
        "lean indexes": lifecycle(folder, "lean", [], LEAN),
        "mmap": lifecycle(folder, "mmap", ["PRAGMA mmap_size=1073741824"], []),
        "checkpoint 10000": lifecycle(folder, "checkpoint", ["PRAGMA wal_autocheckpoint=10000"], []),
    }
    for way in ways.values():  # a store with some history: 5,000 jobs each
        for _ in range(5000):
            way()
    ways.update(empty_writes(folder))
    started = time.monotonic()
    cpu = interleaved(ways, args.rounds, args.batch)
    print(f"a job's lifecycle in the store (create, claim, finish, read; 3 connections), and an empty write, "
          f"median CPU of {args.rounds} interleaved batches of {args.batch} ({time.monotonic() - started:.0f} s):")
    for name, ms in cpu.items():
        print(f"  {name:28} {ms * 1000:7.1f} µs")


if __name__ == "__main__":
    main()
