"""The embedded store's writers: a write that finds another process writing waits for it
by sleeping between tries, one request of a connection at a time, so that under gevent (the
gateway's server) the process's other requests go on meanwhile; past the busy timeout it is
StoreUnavailable; a purge lets go of the lock between chunks."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from flask_qed.stores import StoreUnavailable, open_store
from flask_qed.stores import sqlite as sqlite_store
from flask_qed.stores import sqlite_lock
from tests.conftest import ROOT


def _store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl=3600)
    job_id = str(uuid.uuid4())
    store.create(job_id, {"status": "PENDING", "inputs": {"a": 1}})
    return store, job_id


def _hold_write_lock(path, seconds: float) -> threading.Thread:
    """Another connection takes the write lock at once and keeps it for ``seconds``."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO probe (id, at) VALUES ('holder', 1)")
        taken.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(10)
    return thread


def _busy_timeout(store) -> int:
    return store._conn().execute("PRAGMA busy_timeout").fetchone()[0]


def test_a_write_waits_for_another_writer_then_is_written(tmp_path):
    store, job_id = _store(tmp_path)
    holder = _hold_write_lock(store.path, 0.4)
    started = time.monotonic()
    store.update(job_id, {"progress": 40})
    waited = time.monotonic() - started
    holder.join(10)
    assert waited >= 0.3, f"the write did not wait for the lock ({waited:.3f} s)"
    assert store.get(job_id)["progress"] == 40
    assert _busy_timeout(store) == int(sqlite_lock.BUSY_TIMEOUT * 1000)  # reads still wait in SQLite


def test_a_write_waiting_past_the_busy_timeout_is_store_unavailable(tmp_path, monkeypatch):
    store, job_id = _store(tmp_path)
    monkeypatch.setattr(sqlite_lock, "BUSY_TIMEOUT", 0.3)
    holder = _hold_write_lock(store.path, 1.5)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="locked"):
        store.create(str(uuid.uuid4()), {"status": "PENDING"})
    waited = time.monotonic() - started
    holder.join(10)
    assert 0.25 <= waited < 1.4, f"gave up after {waited:.3f} s, not after the 0.3 s timeout"
    assert _busy_timeout(store) == 30000  # the reads' connection keeps SQLite's own wait (made before the patch)
    store.update(job_id, {"progress": 5})  # the connection is usable: no transaction was left open
    assert store.get(job_id)["progress"] == 5


def test_writes_have_a_connection_without_sqlites_wait_and_reads_keep_theirs(tmp_path):
    """The store writes on a connection of its own whose busy handler is off for good (the
    lock is waited for by :func:`sqlite_lock.begin_write`'s sleeps), so no statement turns
    it off and on around each try; the reads' connection keeps SQLite's wait. Both see
    each other's writes at once, and both are closed."""
    store, job_id = _store(tmp_path)
    store.update(job_id, {"progress": 7})
    writer = store._local.writer
    assert writer is not store._conn()
    assert writer.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    assert _busy_timeout(store) == int(sqlite_lock.BUSY_TIMEOUT * 1000)
    statements: list[str] = []
    writer.set_trace_callback(statements.append)
    store.update(job_id, {"progress": 8})
    writer.set_trace_callback(None)
    assert not any("PRAGMA" in sql for sql in statements), statements
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
    assert store.get(job_id)["progress"] == 8  # read on the other connection
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        writer.execute("SELECT 1")


def test_a_write_that_fails_otherwise_is_raised_at_once(tmp_path):
    store, _ = _store(tmp_path)
    conn = store._conn()
    conn.execute("BEGIN")  # a transaction already open: BEGIN IMMEDIATE is an error, not a wait
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
            sqlite_lock.begin_write(conn, threading.Lock())
        assert time.monotonic() - started < 0.5
    finally:
        conn.execute("ROLLBACK")
    assert _busy_timeout(store) == int(sqlite_lock.BUSY_TIMEOUT * 1000)


GEVENT_SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import json, subprocess, sys, time, uuid
    import gevent
    from flask_qed.stores import open_store

    path, hold = sys.argv[1], float(sys.argv[2])
    store = open_store(f"sqlite:///{path}", ttl=3600)
    job_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    store.create(job_id, {"status": "PENDING"})
    store.create(other, {"status": "PENDING"})
    # another process takes the write lock and keeps it for `hold` seconds
    holder = subprocess.Popen([sys.executable, "-c",
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(float(sys.argv[2])); "
        "c.execute('COMMIT')", path, str(hold)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    gaps, given_up = [], []

    def ticker():
        last = time.monotonic()
        while not done:
            gevent.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    def impatient():  # a second request of the process, waiting too, given up after 0.2 s
        gevent.sleep(0.3)
        try:
            with gevent.Timeout(0.2):
                store.update(other, {"progress": 1})
        except gevent.Timeout:
            given_up.append(True)

    done = False
    tick, second = gevent.spawn(ticker), gevent.spawn(impatient)
    started = time.monotonic()
    store.update(job_id, {"progress": 70})  # waits for the other process's lock
    waited = time.monotonic() - started
    done = True
    gevent.joinall([tick, second])
    holder.wait(10)
    print(json.dumps({"waited": waited, "ticks": len(gaps), "worst_gap": max(gaps or [waited]),
                      "given_up": bool(given_up), "progress": store.get(job_id)["progress"],
                      "busy_timeout": store._conn().execute("PRAGMA busy_timeout").fetchone()[0]}))
""")


def test_under_gevent_a_waiting_write_lets_the_process_other_greenlets_run(tmp_path):
    """The gateway's case: while a request's write waits for another process's lock, the
    same process's other requests (here a greenlet ticking every 10 ms) are served, also
    when a second request waiting for it too is given up meanwhile."""
    out = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT, str(tmp_path / "jobs.sqlite3"), "1.0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["progress"] == 70 and report["given_up"], report
    assert report["busy_timeout"] == int(sqlite_lock.BUSY_TIMEOUT * 1000), report
    assert report["waited"] >= 0.8, report  # it did wait for the lock
    assert report["ticks"] >= 30, report   # and the other greenlet ran meanwhile
    assert report["worst_gap"] < 0.5, report


def test_a_purge_deletes_the_expired_jobs_a_chunk_to_a_transaction(tmp_path, monkeypatch):
    """A purge lets go of the write lock between chunks (another writer, or under gevent
    another request, gets its turn), and deletes every expired job and nothing else."""
    monkeypatch.setattr(sqlite_store, "PURGE_CHUNK", 100)
    monkeypatch.setattr(sqlite_store, "PURGE_GAP", 0.3)
    store = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl=1)
    expired = [str(uuid.uuid4()) for _ in range(250)]
    for job_id in expired:
        store.create(job_id, {"status": "SUCCESS"})
    running = str(uuid.uuid4())
    store.create(running, {"status": "STARTED", "owner": "alice"})  # active: never expires
    time.sleep(1.2)
    fresh = str(uuid.uuid4())
    store.create(fresh, {"status": "SUCCESS"})  # expires a second from now
    writes: list[str] = []
    real_write = store._write

    def counted(sql, params, active=None):
        writes.append(sql)
        return real_write(sql, params, active)

    monkeypatch.setattr(store, "_write", counted)
    other = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl=3600)  # another connection
    other.update(running, {"progress": 0})
    written: list[float] = []
    purging = threading.Event()

    def another_writer() -> None:  # writes every 20 ms while the purge runs
        purging.wait(10)
        while purging.is_set():
            other.update(running, {"progress": len(written)})
            written.append(time.monotonic())
            time.sleep(0.02)

    thread = threading.Thread(target=another_writer)
    thread.start()
    purging.set()
    started = time.monotonic()
    assert store.purge_expired() == 250
    ended = time.monotonic()
    purging.clear()
    thread.join(10)
    assert len(writes) == 3 and all(sql.startswith("DELETE") for sql in writes)
    assert sum(started < t < ended for t in written) >= 5, "no other write got in between the chunks"
    left = {row[0] for row in store._conn().execute("SELECT id FROM jobs")}
    assert left == {running, fresh}
    assert store.count_active("alice") == (1, 1)


def test_a_write_queued_behind_its_process_own_waiting_write_times_out_as_unavailable(tmp_path, monkeypatch):
    """Writes of one connection wait for the lock one at a time; one that cannot even get its
    turn within the busy timeout is StoreUnavailable (a 503), not an error of another kind."""
    store, job_id = _store(tmp_path)
    monkeypatch.setattr(sqlite_lock, "BUSY_TIMEOUT", 0.3)
    assert store._local.writers.acquire()  # as if another request of the process were waiting
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="locked"):
            store.update(job_id, {"progress": 9})
        assert 0.25 <= time.monotonic() - started < 1.5
    finally:
        store._local.writers.release()
    store.update(job_id, {"progress": 9})
    assert store.get(job_id)["progress"] == 9


def test_a_write_never_purges_the_expired_jobs(tmp_path):
    """A request's write does not wait for a purge: expired jobs stay in the file (unseen by
    reads) until the workers' housekeeping, or ``qed purge``, deletes them."""
    short = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl=1)
    expired = [str(uuid.uuid4()) for _ in range(5)]
    for job_id in expired:
        short.create(job_id, {"status": "SUCCESS"})
    time.sleep(1.2)
    store, _ = _store(tmp_path)  # a new store's first write (it used to purge), and more after it
    for _ in range(3):
        store.create(str(uuid.uuid4()), {"status": "PENDING"})
    rows = {r[0] for r in store._conn().execute("SELECT id FROM jobs")}
    assert set(expired) <= rows
    assert store.purge_expired() == 5


def test_a_purge_asked_to_stop_stops_between_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "PURGE_CHUNK", 10)
    short = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl=1)
    for _ in range(35):
        short.create(str(uuid.uuid4()), {"status": "SUCCESS"})
    time.sleep(1.2)
    asked: list[int] = []
    assert short.purge_expired(until=lambda: asked.append(1) or len(asked) >= 2) == 20
    assert short._conn().execute("SELECT count(*) FROM jobs").fetchone()[0] == 15
    assert short.purge_expired() == 15
