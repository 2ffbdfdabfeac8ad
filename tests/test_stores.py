"""One contract suite, run against every store backend.

SQLite always; MongoDB through mongomock here and against a real server
whenever QED_TEST_MONGO_URL is set.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
import uuid
from datetime import datetime

import pytest

from flask_qed.stores import JobNotFound, StoreUnavailable, open_store
from flask_qed.stores.base import unpack
from flask_qed.stores.mongo import MongoStore
from flask_qed.stores.sqlite_schema import SCHEMA_VERSION

# "nx27017": a server speaking MongoDB's wire protocol over SQLite, reached through
# real pymongo sockets (no MongoDB server can be installed on the build machines).
# Where it differs from MongoDB: it has no TTL monitor (the store enforces expiry on
# read and purges, so nothing here waits for one); a datetime set by an update is kept
# as text (the store's queries read the numeric expires_ts, never the datetime); it
# has no users and no transactions (the store needs neither).
BACKENDS = ["sqlite", "mongomock", "nx27017"] + (["mongodb"] if os.environ.get("QED_TEST_MONGO_URL") else [])


def make_store(kind: str, tmp_path, ttl: int = 3600):
    if kind == "sqlite":
        return open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl)
    if kind == "mongomock":
        import mongomock
        return MongoStore("mongodb://mock/qed_test", ttl,
                          client_factory=lambda url, **kw: mongomock.MongoClient(url, **kw))
    db = f"qed_test_{uuid.uuid4().hex[:8]}"
    if kind == "nx27017":
        from tests.conftest import nx27017_url
        return MongoStore(f"{nx27017_url()}/{db}", ttl)
    base = os.environ["QED_TEST_MONGO_URL"].rstrip("/")
    return MongoStore(f"{base}/{db}", ttl)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = make_store(request.param, tmp_path)
    yield s
    s.close()


@pytest.fixture(params=BACKENDS)
def short_store(request, tmp_path):
    s = make_store(request.param, tmp_path, ttl=1)
    yield s
    s.close()


def new_id() -> str:
    return str(uuid.uuid4())


def test_create_then_get(store):
    jid = new_id()
    store.create(jid, {"app": "pram", "model": "rice", "status": "PENDING", "progress": 0,
                       "inputs": {"rows": [{"mai": 1.0}]}})
    rec = store.get(jid)
    assert rec["job_id"] == jid and rec["status"] == "PENDING" and rec["model"] == "rice"
    assert "inputs" not in rec and "data" not in rec
    assert store.get(jid, inputs=True)["inputs"] == {"rows": [{"mai": 1.0}]}


def test_update_sets_fields_and_data(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "progress": 0})
    store.update(jid, {"status": "STARTED", "progress": 10})
    assert store.get(jid)["status"] == "STARTED"
    store.update(jid, {"status": "SUCCESS", "progress": 100, "data": {"outputs": {"x": {"0": 1.5}}}})
    rec = store.get(jid)
    assert rec["status"] == "SUCCESS" and rec["progress"] == 100
    assert rec["data"] == {"outputs": {"x": {"0": 1.5}}}
    assert "data" not in store.get(jid, data=False)


def test_data_can_be_read_as_raw_json(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING"})
    store.update(jid, {"status": "SUCCESS", "data": {"x": [1.5, float("nan")]}})
    raw = store.get(jid, raw=True)["data"]
    assert isinstance(raw, bytes) and json.loads(raw) == {"x": [1.5, None]}


def test_packed_values_are_written_and_read_as_stored(store):
    """Inputs and data written a piece at a time (Packed) and read back compressed, to be
    sent a piece at a time: never held whole as Python objects."""
    from flask_qed.jsonutil import PackedWriter, unpacked_lines, unpacked_pieces
    jid = new_id()
    writer = PackedWriter()
    writer.write(b'{"chunks":[\n{"keys":["0"],"rows":[{"a":1}]}\n')
    writer.write(b',{"keys":["1"],"rows":[{"a":2}]}\n]}')
    store.create(jid, {"status": "PENDING", "inputs": writer.close()})
    assert store.get(jid, inputs=True)["inputs"] == {"chunks": [{"keys": ["0"], "rows": [{"a": 1}]},
                                                                {"keys": ["1"], "rows": [{"a": 2}]}]}
    packed = store.get(jid, inputs=True, data=False, packed=True)["inputs"]
    assert isinstance(packed, bytes)
    assert list(unpacked_lines(packed))[1] == b'{"keys":["0"],"rows":[{"a":1}]}'
    out = PackedWriter()
    for n in range(3):
        out.write(b'{"x":[' if n == 0 else b",")
        out.write(str(n).encode())
    out.write(b"]}")
    store.update(jid, {"status": "SUCCESS", "data": out.close()})
    assert store.get(jid)["data"] == {"x": [0, 1, 2]}  # a value written in pieces ...
    data = store.get(jid, packed=True)["data"]
    assert b"".join(unpacked_pieces(data, size=2)) == b'{"x":[0,1,2]}'  # ... is stored byte for byte
    assert store.get(jid, raw=True)["data"] == b'{"x":[0,1,2]}'


def test_a_result_kept_as_its_table_is_read_as_its_json(store):
    """A batch whose result is stored as its table alone (the data a mark) reads as the JSON
    written from the table, however it is asked for; ``as_stored`` copies the mark, and the
    copy with its table reads the same."""
    import importlib
    import zlib

    from benchmarks.bench_pram import batch
    from flask_qed.jsonutil import Packed
    from flask_qed.model import Model
    from flask_qed.tablepack import json_in_table, json_of
    model = Model.from_module(importlib.import_module("pram_flask.models.rice"))
    packed, _ = model.validate_packed(batch("rice", 600))
    result = model.run_packed(packed)
    assert json_in_table(result)
    expected = zlib.decompress(json_of(result.table))
    jid = new_id()
    store.create(jid, {"status": "STARTED"})
    assert store.finish(jid, {"status": "SUCCESS", "data": result, "table": result.table})
    assert store.get(jid, raw=True)["data"] == expected
    assert store.get(jid)["data"] == json.loads(expected) and len(store.get(jid)["data"]["outputs"]["out_cw"]) == 600
    assert zlib.decompress(store.get(jid, packed=True)["data"]) == expected
    found = store.get(jid, packed=True, table=True, as_stored=True)
    assert json_in_table(found["data"]) and found["table"] == result.table
    copy = new_id()
    store.create(copy, {"status": "SUCCESS", "data": Packed(found["data"]), "table": Packed(found["table"])})
    assert store.get(copy, raw=True)["data"] == expected


def test_a_result_kept_as_its_table_without_its_table_is_store_unavailable(store):
    """A mark whose table is gone (a damaged record) is the store's error, said plainly,
    as for any damaged row: never a crash of the request that reads it."""
    from flask_qed.jsonutil import Packed
    from flask_qed.tablejson import IN_TABLE
    jid = new_id()
    store.create(jid, {"status": "SUCCESS", "data": Packed(IN_TABLE)})
    with pytest.raises(StoreUnavailable, match="lost its table"):
        store.get(jid)
    assert store.get(jid, data=False)["status"] == "SUCCESS"


def test_unknown_id_is_not_found(store):
    with pytest.raises(JobNotFound):
        store.get(new_id())
    with pytest.raises(JobNotFound):
        store.update(new_id(), {"status": "STARTED"})


def test_duplicate_id_is_refused(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING"})
    with pytest.raises(ValueError):
        store.create(jid, {"status": "PENDING"})


def test_large_result_round_trips(store):
    """Bigger than MongoDB's 16 MB document limit once compressed chunks are joined."""
    jid = new_id()
    store.create(jid, {"status": "PENDING"})
    rng = random.Random(1)
    data = {"outputs": {f"out_{c}": {str(i): rng.random() for i in range(40_000)} for c in range(25)}}
    store.update(jid, {"status": "SUCCESS", "data": data})
    assert store.get(jid)["data"] == data


def test_records_expire_after_ttl(short_store):
    jid = new_id()
    short_store.create(jid, {"status": "PENDING", "inputs": [1, 2]})
    short_store.update(jid, {"status": "SUCCESS", "data": {"x": 1}})
    assert short_store.get(jid)["status"] == "SUCCESS"
    time.sleep(1.2)
    with pytest.raises(JobNotFound):
        short_store.get(jid)
    with pytest.raises(JobNotFound):
        short_store.update(jid, {"status": "STARTED"})
    assert short_store.purge_expired() >= 0  # mongomock, like MongoDB, may have expired it already


def test_sqlite_purge_deletes_expired_rows(tmp_path):
    store = make_store("sqlite", tmp_path, ttl=1)
    store.create(new_id(), {"status": "SUCCESS"})
    keep = make_store("sqlite", tmp_path, ttl=3600)
    kept = new_id()
    keep.create(kept, {"status": "SUCCESS"})
    time.sleep(1.2)
    assert store.purge_expired() == 1
    assert store._conn().execute("SELECT id FROM jobs").fetchall() == [(kept,)]


def test_write_renews_expiry(short_store):
    jid = new_id()
    short_store.create(jid, {"status": "PENDING"})
    time.sleep(0.7)
    short_store.update(jid, {"status": "SUCCESS", "data": {"ok": True}})
    time.sleep(0.7)  # 1.4 s after creation, 0.7 s after the last write
    assert short_store.get(jid)["data"] == {"ok": True}


def test_ping(store):
    store.ping()


def test_queued_and_running_jobs_never_expire(short_store):
    """The time to live runs from the moment a job finishes, not from its last write."""
    queued, running = new_id(), new_id()
    for jid in (queued, running):
        short_store.create(jid, {"status": "PENDING", "attempts": 0, "inputs": {"a": 1}})
    short_store.claim(running, 60, {})
    short_store.update(running, {"progress": 50})
    time.sleep(1.3)  # past the TTL: both still there, with their inputs
    assert short_store.get(queued, inputs=True)["inputs"] == {"a": 1}
    assert short_store.heartbeat(running, 60) == "STARTED"
    assert short_store.purge_expired() == 0
    assert short_store.finish(running, {"status": "SUCCESS", "data": {"ok": 1}})
    time.sleep(0.5)
    short_store.update(running, {"progress": 100})  # a later small write does not extend it
    assert short_store.get(running)["data"] == {"ok": 1}
    time.sleep(0.7)  # 1.2 s after it finished
    with pytest.raises(JobNotFound):
        short_store.get(running)
    assert short_store.get(queued)["status"] == "PENDING"


def test_heartbeat_reports_a_revocation(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0})
    store.claim(jid, 60, {})
    assert store.heartbeat(jid, 60) == "STARTED"
    store.finish(jid, {"status": "REVOKED"}, only_if=("PENDING", "STARTED"))
    assert store.heartbeat(jid, 60) == "REVOKED"
    assert store.get(jid)["status"] == "REVOKED"


def test_stale_jobs_are_the_ones_to_publish_again(store):
    now = time.time()
    ids = {name: new_id() for name in ("fresh", "old", "running", "dead", "done", "legacy")}
    for name, jid in ids.items():
        queued = now if name == "fresh" else now - 100
        store.create(jid, {"status": "PENDING", "attempts": 0, "model": None if name == "legacy" else "m",
                           "task": "t.m", "queued_at": queued})
    store.claim(ids["running"], 60, {})
    store.claim(ids["dead"], 0.01, {})
    store.claim(ids["done"], 60, {})
    store.finish(ids["done"], {"status": "SUCCESS"})
    time.sleep(0.05)
    stale = store.stale_jobs(time.time(), 30)
    assert sorted(r["job_id"] for r in stale) == sorted([ids["old"], ids["dead"]])
    assert {r["task"] for r in stale} == {"t.m"} and "inputs" not in stale[0]
    store.update(ids["old"], {"queued_at": time.time()})  # published again: not stale for a while
    assert [r["job_id"] for r in store.stale_jobs(time.time(), 30)] == [ids["dead"]]
    assert len(store.stale_jobs(time.time() + 100, 30, limit=1)) == 1


def test_ping_writes_and_reads_back(tmp_path):
    path = tmp_path / "ro"
    path.mkdir()
    store = open_store(f"sqlite:///{path / 'jobs.sqlite3'}", 60)
    store.ping()
    store.close()
    (path / "jobs.sqlite3").chmod(0o444)
    path.chmod(0o555)
    try:
        if os.access(path / "jobs.sqlite3", os.W_OK):
            pytest.skip("running as root: files cannot be made read-only")
        with pytest.raises(StoreUnavailable):
            open_store(f"sqlite:///{path / 'jobs.sqlite3'}", 60).ping()
    finally:
        path.chmod(0o755)


def test_a_corrupted_sqlite_file_is_store_unavailable(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    store = open_store(f"sqlite:///{path}", 60)
    jid = new_id()
    store.create(jid, {"status": "PENDING"})
    store.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"jobs.sqlite3{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 500)
    fresh = open_store(f"sqlite:///{path}", 60)
    for call in (fresh.ping, lambda: fresh.get(jid), lambda: fresh.create(new_id(), {"status": "PENDING"}),
                 lambda: fresh.stale_jobs(time.time(), 1)):
        with pytest.raises(StoreUnavailable, match="not a database"):
            call()


@pytest.mark.parametrize("damage", ["deleted", "overwritten", "replaced"])
def test_a_sqlite_file_damaged_while_open_is_store_unavailable(tmp_path, damage):
    """An open connection keeps working on a deleted or overwritten file (the inode lives
    on, its pages are cached): the store must notice, on ping and on every call."""
    path = tmp_path / "jobs.sqlite3"
    store = open_store(f"sqlite:///{path}", 60)
    jid = new_id()
    store.create(jid, {"status": "PENDING"})
    store.ping()
    garbage = b"this is not a database" * 500
    if damage == "deleted":
        path.unlink()
    elif damage == "overwritten":
        path.write_bytes(garbage)
    else:
        (tmp_path / "other").write_bytes(garbage)
        (tmp_path / "other").replace(path)
    for call in (store.ping, lambda: store.get(jid), lambda: store.create(new_id(), {"status": "PENDING"}),
                 lambda: store.list_jobs(), lambda: store.count_active("x"), lambda: store.update(jid, {"a": 1})):
        with pytest.raises(StoreUnavailable):
            call()
    assert path.exists() == (damage != "deleted")  # no new, empty store in its place


def test_a_deleted_sqlite_file_is_not_made_again(tmp_path):
    """Once deleted, neither a process that had it open (a new connection: a new thread,
    a forked child, another store) nor a new process beside the -wal it left makes a new,
    empty file: the jobs would be lost without a word, and SQLite would read the old -wal
    into it."""
    import subprocess
    import sys
    path = tmp_path / "jobs.sqlite3"
    store, other = open_store(f"sqlite:///{path}", 60), open_store(f"sqlite:///{path}", 60)
    store.create(new_id(), {"status": "PENDING"})
    other.ping()  # a connection that keeps the -wal and -shm, as another process's would
    path.unlink()
    store.close()
    for opened in (store, open_store(f"sqlite:///{path}", 60)):
        with pytest.raises(StoreUnavailable, match="deleted while in use"):
            opened.ping()
    assert (tmp_path / "jobs.sqlite3-wal").exists()
    fresh = subprocess.run([sys.executable, "-c", "import sys; from flask_qed.stores import open_store; "
                            "open_store(sys.argv[1], 60).ping()", f"sqlite:///{path}"],
                           capture_output=True, text=True, timeout=60)
    assert fresh.returncode != 0 and "its -wal is there" in fresh.stderr, fresh.stderr
    assert not path.exists()
    other.close()


def test_mongo_ttl_index_on_a_real_datetime(tmp_path):
    store = make_store("mongomock", tmp_path, ttl=86400)
    jid = new_id()
    store.create(jid, {"status": "PENDING", "inputs": {"a": 1}})
    store.update(jid, {"status": "SUCCESS", "data": {"b": 2}})
    db = store._db()
    for coll in (db.jobs, db.job_blobs):
        ttl = [ix for ix in coll.index_information().values() if "expireAfterSeconds" in ix]
        assert ttl and ttl[0]["key"] == [("expires_at", 1)] and ttl[0]["expireAfterSeconds"] == 0
    doc = db.jobs.find_one({"_id": jid})
    assert isinstance(doc["expires_at"], datetime)
    assert 86000 < (doc["expires_at"].timestamp() - time.time()) <= 86400


def test_mongo_unreachable_is_store_unavailable():
    store = MongoStore("mongodb://127.0.0.1:1/qed", 60)
    import pymongo
    store._factory = lambda url, **kw: pymongo.MongoClient(url, **{**kw, "serverSelectionTimeoutMS": 200})
    with pytest.raises(StoreUnavailable):
        store.ping()


def test_sqlite_bad_path_is_store_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = open_store(f"sqlite:///{blocker / 'sub' / 'jobs.sqlite3'}", 60)
    with pytest.raises(StoreUnavailable):
        store.ping()


def _hammer(path: str, ids: list[str], worker: int) -> None:
    store = open_store(f"sqlite:///{path}", 3600)
    for n in range(30):
        for jid in ids:
            store.update(jid, {f"w{worker}": n, "status": "STARTED"})


def test_sqlite_many_processes_write_safely(tmp_path):
    path = str(tmp_path / "jobs.sqlite3")
    store = open_store(f"sqlite:///{path}", 3600)
    ids = [new_id() for _ in range(5)]
    for jid in ids:
        store.create(jid, {"status": "PENDING"})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(path, ids, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    for jid in ids:  # no lost update: every worker's last write is there
        rec = store.get(jid)
        assert [rec[f"w{w}"] for w in range(4)] == [29, 29, 29, 29]
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_claim_takes_a_job_once(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0, "inputs": {"a": 1}})
    first = store.claim(jid, 60, {"worker": "w1"})
    assert first["status"] == "STARTED" and first["attempts"] == 1 and first["worker"] == "w1"
    assert store.claim(jid, 60, {"worker": "w2"}) is None  # held: a second run must not start
    assert store.get(jid)["worker"] == "w1"
    store.update(jid, {"status": "SUCCESS", "data": {"x": 1}})
    assert store.claim(jid, 60, {}) is None  # finished: never run again
    with pytest.raises(JobNotFound):
        store.claim(new_id(), 60, {})


def test_a_claim_can_bring_the_inputs_as_stored(store):
    """The worker takes a job and its inputs in one step: packed as ``get(packed=True)``
    gives them, only when asked, and only to the run that won the claim."""
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0, "inputs": {"a": [1, 2.5, None]}})
    stored = store.get(jid, inputs=True, data=False, packed=True)["inputs"]
    won = store.claim(jid, 0.3, {"worker": "w1"}, inputs=True)
    assert won["inputs"] == stored and unpack(won["inputs"]) == {"a": [1, 2.5, None]}
    assert "inputs" not in store.get(jid)  # the record itself is unchanged by the read
    assert store.claim(jid, 60, {}, inputs=True) is None  # held: nothing, inputs neither
    time.sleep(0.4)
    plain = store.claim(jid, 60, {"worker": "w2"})  # lapsed; without asking, no inputs
    assert plain["attempts"] == 2 and "inputs" not in plain
    bare = new_id()
    store.create(bare, {"status": "PENDING", "attempts": 0})
    assert "inputs" not in store.claim(bare, 60, {}, inputs=True)  # a job stored without inputs


def test_a_lapsed_lease_can_be_claimed_again(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0})
    assert store.claim(jid, 0.3, {"worker": "dead"})["attempts"] == 1
    time.sleep(0.4)  # the holder stopped renewing its lease: it died
    second = store.claim(jid, 60, {"worker": "alive"})
    assert second["attempts"] == 2 and second["worker"] == "alive"


def test_heartbeat_keeps_the_lease(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0})
    store.claim(jid, 1.0, {})
    for _ in range(3):  # 1.5 s in all: past the first lease, never past a renewed one
        time.sleep(0.5)
        store.heartbeat(jid, 1.0)
    assert store.claim(jid, 1.0, {}) is None


def test_concurrent_claims_have_one_winner(store):
    from concurrent.futures import ThreadPoolExecutor
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0})
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: store.claim(jid, 60, {"worker": str(i)}), range(8)))
    assert sum(r is not None for r in results) == 1
    assert store.get(jid)["attempts"] == 1


def test_rewriting_data_replaces_it_whole(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "inputs": {"v": 1}})
    store.update(jid, {"data": {"v": 1}})
    store.update(jid, {"data": {"v": 2}})
    assert store.get(jid, inputs=True)["data"] == {"v": 2}
    assert store.get(jid, inputs=True)["inputs"] == {"v": 1}


def test_mongo_indexes_are_made_once_mongo_answers(tmp_path):
    """A first contact while MongoDB is down must not leave the TTL index unmade."""
    import mongomock
    client = mongomock.MongoClient(tz_aware=True)
    calls = {"n": 0}
    real = mongomock.collection.Collection.create_index

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            import pymongo.errors
            raise pymongo.errors.ServerSelectionTimeoutError("down")
        return real(self, *args, **kwargs)

    store = MongoStore("mongodb://mock/qed_idx", 60, client_factory=lambda url, **kw: client)
    mongomock.collection.Collection.create_index = flaky
    try:
        with pytest.raises(StoreUnavailable):
            store.ping()
        store.ping()
    finally:
        mongomock.collection.Collection.create_index = real
    info = client["qed_idx"].jobs.index_information()
    assert any(ix.get("expireAfterSeconds") == 0 for ix in info.values())


def test_finish_writes_only_from_the_allowed_states(store):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0})
    assert store.finish(jid, {"status": "SUCCESS", "data": {"x": 1}}) is False  # not STARTED
    store.claim(jid, 60, {})
    assert store.finish(jid, {"status": "REVOKED"}, only_if=("PENDING", "STARTED")) is True
    assert store.finish(jid, {"status": "SUCCESS", "data": {"x": 1}}) is False  # revoked meanwhile
    record = store.get(jid)
    assert record["status"] == "REVOKED" and "data" not in record
    with pytest.raises(JobNotFound):
        store.finish(new_id(), {"status": "SUCCESS"})


# -- the result cache's lookups: an indexed fingerprint, expiring with its job ----------------
FP = "ab" * 32


def _finished(store, fp, owner="alice", status="SUCCESS", **more):
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0, "fingerprint": fp, "owner": owner, **more})
    if status != "PENDING":
        store.update(jid, {"status": status, "data": {"x": 1}})
    return jid


def test_with_fingerprint_finds_live_runs_by_status_and_owner(store):
    done = _finished(store, FP)
    failed = _finished(store, FP, status="FAILURE")
    queued = _finished(store, FP, owner="bob", status="PENDING")
    _finished(store, "cd" * 32)  # another fingerprint
    copy = _finished(store, FP, cached_from=done)  # a cache hit never serves another
    assert [r["job_id"] for r in store.with_fingerprint(FP, ("SUCCESS",))] == [done]
    found = store.with_fingerprint(FP, ("SUCCESS",))[0]
    assert found["owner"] == "alice" and "data" not in found and "inputs" not in found
    assert [r["job_id"] for r in store.with_fingerprint(FP, ("FAILURE",))] == [failed]
    assert [r["job_id"] for r in store.with_fingerprint(FP, ("PENDING", "STARTED"))] == [queued]
    assert store.with_fingerprint(FP, ("PENDING", "STARTED"), owner="alice") == []
    assert store.with_fingerprint(FP, ("SUCCESS",), owner="bob") == []
    assert store.with_fingerprint(FP, ("SUCCESS",), owner="alice")[0]["job_id"] == done
    assert copy not in [r["job_id"] for r in store.with_fingerprint(FP, ("SUCCESS",), limit=10)]


def test_with_fingerprint_gives_the_newest_first(store):
    jids = []
    for second in (1, 3, 2):
        jid = new_id()
        store.create(jid, {"status": "SUCCESS", "fingerprint": FP, "created": f"2026-01-01T00:00:0{second}.000Z"})
        jids.append(jid)
    assert [r["job_id"] for r in store.with_fingerprint(FP, ("SUCCESS",), limit=3)] == [jids[1], jids[2], jids[0]]


def test_a_fingerprint_expires_with_its_job(short_store):
    jid = _finished(short_store, FP)
    assert [r["job_id"] for r in short_store.with_fingerprint(FP, ("SUCCESS",))] == [jid]
    time.sleep(1.2)
    assert short_store.with_fingerprint(FP, ("SUCCESS",)) == []


def test_followers_are_the_joiners_still_waiting(store):
    origin = _finished(store, FP, status="PENDING")
    waiting = _finished(store, FP, status="PENDING", cached_from=origin)
    ended = _finished(store, FP, status="SUCCESS", cached_from=origin)
    _finished(store, FP, status="PENDING", cached_from=new_id())  # joined another job
    assert [r["job_id"] for r in store.followers(origin)] == [waiting]
    assert ended not in [r["job_id"] for r in store.followers(origin)]
    assert store.followers(new_id()) == []
    # released to run on its own: no longer a follower, and a run others may join
    assert store.finish(waiting, {"cached_from": None, "joined": origin}, only_if=("PENDING", "STARTED"))
    assert store.followers(origin) == []
    found = store.with_fingerprint(FP, ("PENDING",), limit=5)
    assert waiting in [r["job_id"] for r in found]


def test_the_fingerprint_lookups_are_indexed(tmp_path):
    """Each lookup searches its own index (not an owner's jobs, nor every job, in order)."""
    sqlite = make_store("sqlite", tmp_path)
    sqlite.create(new_id(), {"status": "PENDING", "owner": "alice"})
    conn, statements = sqlite._conn(), []
    conn.set_trace_callback(statements.append)  # each statement as run, its values in place
    sqlite.with_fingerprint(FP, ("SUCCESS",), owner="alice")
    sqlite.followers(new_id())
    conn.set_trace_callback(None)
    plans = [str(conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()) for sql in statements
             if sql.startswith("SELECT")]
    assert len(plans) == 2 and "jobs_serving" in plans[0] and "jobs_cached_from" in plans[1]
    mongo = make_store("mongomock", tmp_path)
    mongo.ping()
    keys = [ix["key"] for ix in mongo._db().jobs.index_information().values()]
    assert [("fingerprint", 1), ("cached_from", 1), ("created", -1)] in keys and [("cached_from", 1)] in keys


def test_the_fingerprint_index_leaves_out_the_copies_of_cached_results(tmp_path):
    """A result served a thousand times must not make its next lookup walk a thousand
    copies: the index holds only jobs that may serve, and a store written before it is
    upgraded (its index over every job dropped)."""
    import sqlite3
    path = tmp_path / "jobs.sqlite3"  # where make_store opens it
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE jobs (id TEXT PRIMARY KEY, expires_at REAL NOT NULL, meta TEXT NOT NULL, "
                      "inputs BLOB, data BLOB); CREATE INDEX jobs_fingerprint ON jobs "
                      "(json_extract(meta, '$.fingerprint')); PRAGMA user_version = 1;")
    old.close()
    sqlite = make_store("sqlite", tmp_path)
    origin = _finished(sqlite, FP)
    for _ in range(50):
        _finished(sqlite, FP, cached_from=origin)
    conn = sqlite._conn()
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "jobs_serving" in names and "jobs_fingerprint" not in names
    in_index = conn.execute("SELECT count(*) FROM jobs INDEXED BY jobs_serving WHERE "
                            "fingerprint = ? AND cached_from IS NULL", (FP,)).fetchone()[0]
    assert in_index == 1 and conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 51
    assert [r["job_id"] for r in sqlite.with_fingerprint(FP, ("SUCCESS",), limit=5)] == [origin]


def test_a_store_of_schema_2_gets_its_searched_fields_as_indexed_columns(tmp_path):
    """A file written when the searched fields were indexed inside the JSON (schema 2):
    opened, its fields copied to columns, its JSON indexes dropped; its jobs listed,
    looked up by fingerprint and followed as before, each search by its own index."""
    import sqlite3
    path = tmp_path / "jobs.sqlite3"  # where make_store opens it
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE jobs (id TEXT PRIMARY KEY, expires_at REAL NOT NULL, meta TEXT NOT NULL,
                           inputs BLOB, data BLOB, results_table BLOB);
        CREATE INDEX jobs_owner_created ON jobs (json_extract(meta, '$.owner'),
                                                 json_extract(meta, '$.created'), id);
        CREATE INDEX jobs_serving ON jobs (json_extract(meta, '$.fingerprint'))
            WHERE json_extract(meta, '$.cached_from') IS NULL;
        CREATE INDEX jobs_cached_from ON jobs (json_extract(meta, '$.cached_from'));
        CREATE TABLE active (owner TEXT PRIMARY KEY, jobs INTEGER NOT NULL, rows INTEGER NOT NULL);
        PRAGMA user_version = 2;""")
    origin, joiner, other = new_id(), new_id(), new_id()
    far, never = time.time() + 3600, 253402300799.0
    for jid, expires, meta in (
            (origin, far, {"status": "SUCCESS", "owner": "alice", "fingerprint": FP, "app": "pram",
                           "model": "rice", "created": "2026-01-01T00:00:01.000Z"}),
            (joiner, never, {"status": "PENDING", "owner": "bob", "fingerprint": FP, "cached_from": origin,
                             "app": "pram", "model": "rice", "created": "2026-01-01T00:00:02.000Z"}),
            (other, far, {"status": "FAILURE", "owner": "alice", "app": "hms", "model": "precip",
                          "created": "2026-01-01T00:00:03.000Z"})):
        old.execute("INSERT INTO jobs (id, expires_at, meta) VALUES (?, ?, ?)",
                    (jid, expires, json.dumps({**meta, "job_id": jid})))
    old.commit()
    old.close()
    sqlite = make_store("sqlite", tmp_path)
    assert [r["job_id"] for r in sqlite.list_jobs(owner="alice")] == [other, origin]
    assert [r["job_id"] for r in sqlite.list_jobs(owner="alice", app="pram", status="SUCCESS")] == [origin]
    assert [r["job_id"] for r in sqlite.with_fingerprint(FP, ("SUCCESS",), owner="alice")] == [origin]
    assert [r["job_id"] for r in sqlite.followers(origin)] == [joiner]
    sqlite.update(joiner, {"status": "SUCCESS"})  # a write after the upgrade moves the column too
    assert sqlite.list_jobs(owner="bob", status="SUCCESS")[0]["job_id"] == joiner
    conn = sqlite._conn()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    assert {"jobs_owner_created", "jobs_serving", "jobs_cached_from", "jobs_owner_status"} <= set(indexes)
    assert not any("json_extract" in sql for sql in indexes.values()), indexes
    plan = str(conn.execute("EXPLAIN QUERY PLAN SELECT meta FROM jobs WHERE owner = ? AND expires_at > ? "
                            "ORDER BY created DESC, id DESC LIMIT 50", ("alice", 0)).fetchall())
    assert "jobs_owner_created" in plan and "TEMP B-TREE" not in plan, plan


def test_a_batch_table_is_kept_beside_its_data_and_read_only_when_asked(store):
    """A large batch's columns for CSV (``table``): written with the result, read back as
    stored bytes only when asked for, never in a listing or a record read without it."""
    from flask_qed.jsonutil import Packed
    jid = new_id()
    store.create(jid, {"status": "PENDING", "attempts": 0, "owner": "alice"})
    assert store.claim(jid, 30, {}) is not None
    table = Packed(b"qed-table-1\n" + bytes(range(256)) * 4)
    assert store.finish(jid, {"status": "SUCCESS", "data": {"outputs": {"y": {"0": 1}}}, "table": table})
    assert "table" not in store.get(jid)
    found = store.get(jid, packed=True, table=True)
    assert found["table"] == table and isinstance(found["data"], bytes)
    assert store.get(jid, data=False, table=True)["table"] == table
    assert all("table" not in r and "table_gen" not in r for r in store.list_jobs(owner="alice"))


def test_a_store_of_schema_3_gets_a_followers_index_of_the_followers_alone(tmp_path):
    """Schema 4: the index of a cached job's followers holds only jobs with a
    ``cached_from``, so a job that runs itself adds nothing to it. A file of schema 3 (every
    job in it) has its index made again on opening; its followers are found as before."""
    sqlite = make_store("sqlite", tmp_path)
    origin = _finished(sqlite, FP)
    waiting = new_id()
    sqlite.create(waiting, {"status": "PENDING", "owner": "alice", "fingerprint": FP, "cached_from": origin})
    conn = sqlite._conn()
    conn.executescript("DROP INDEX jobs_cached_from; CREATE INDEX jobs_cached_from ON jobs (cached_from); "
                       "PRAGMA user_version = 3;")  # as schema 3 wrote it
    sqlite.close()
    sqlite = make_store("sqlite", tmp_path)
    conn = sqlite._conn()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "WHERE cached_from IS NOT NULL" in conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'jobs_cached_from'").fetchone()[0]
    for _ in range(5):
        sqlite.create(new_id(), {"status": "PENDING", "owner": "alice", "fingerprint": new_id()})
    entries = conn.execute("SELECT count(*) FROM jobs INDEXED BY jobs_cached_from "
                           "WHERE cached_from IS NOT NULL").fetchone()[0]
    assert entries == 1 and conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 7
    assert [r["job_id"] for r in sqlite.followers(origin)] == [waiting]
