"""Job labels and a job's inputs given back, through real Redis, a real Celery worker and
the gateway: a label is kept with the job and shown in its record, status and listings
(native and OGC), refused with a 422 when it is not short plain text, and is no part of
what makes two jobs identical; ``GET /jobs/<id>/inputs`` gives back what the job ran,
ready to send again, to its owner only."""
from __future__ import annotations

import json
import sqlite3
import time
import uuid

import pytest

from flask_qed.jobs import new_record, public
from flask_qed.stores import open_store
from tests.conftest import wait_for
from tests.jobs.conftest import Authed, post, runs
from tests.test_stores import BACKENDS, make_store

RICE = {"chemical_name": "Fipronil", "mai": 0.056, "area": 10000.0, "dsed": 0.01, "pb": 1300.0,
        "dw": 0.1, "osed": 0.509, "kd": 757.0}


def test_a_label_is_kept_and_shown_in_record_status_and_listings(stacks, tmp_path):
    client = stacks("open").client
    answer = post(client, {"seconds": 0, "marker": str(tmp_path / "m")}, body={"label": "  Spring run, field 7 ✓ "})
    job_id = answer["job_id"]
    assert answer["label"] == "Spring run, field 7 ✓"  # trimmed
    done = wait_for(client, job_id)
    assert done["status"] == "SUCCESS" and done["label"] == "Spring run, field 7 ✓"
    assert client.get(f"/jobs/{job_id}/status").get_json()["label"] == "Spring run, field 7 ✓"
    assert client.get(f"/testing/data?job_id={job_id}").get_json()["label"] == "Spring run, field 7 ✓"
    listed = {j["job_id"]: j for j in client.get("/jobs?limit=20").get_json()["jobs"]}
    assert listed[job_id]["label"] == "Spring run, field 7 ✓"
    ogc = {j["jobID"]: j for j in client.get("/ogcapi/jobs?limit=20").get_json()["jobs"]}
    assert ogc[job_id]["label"] == "Spring run, field 7 ✓"
    assert client.get(f"/ogcapi/jobs/{job_id}").get_json()["label"] == "Spring run, field 7 ✓"
    unlabelled = post(client, {"seconds": 0, "marker": str(tmp_path / "n")})
    assert "label" not in unlabelled and "label" not in wait_for(client, unlabelled["job_id"])


def test_a_bad_label_is_a_422_that_names_it(stacks, tmp_path):
    client = stacks("open").client
    inputs = {"seconds": 0, "marker": str(tmp_path / "m")}
    for label, words in (("x" * 201, "at most 200 characters"), (7, "must be text"), (["a"], "must be text"),
                         ("two\nlines", "one line")):
        answer = client.post("/testing/sleepy", json={"inputs": inputs, "label": label})
        assert answer.status_code == 422, (label, answer.get_json())
        error = answer.get_json()["errors"][0]
        assert error["field"] == "label" and words in error["rule"], error
    assert client.post("/testing/sleepy", json={"inputs": inputs, "label": "x" * 200}).status_code == 202
    ogc = client.post("/ogcapi/processes/testing.sleepy/execution", json={"inputs": inputs, "label": "y" * 300},
                      headers={"Prefer": "respond-async"})
    assert ogc.status_code == 422 and "label" in ogc.get_data(as_text=True)


def test_an_ogc_execution_carries_its_label(stacks, tmp_path):
    client = stacks("open").client
    answer = client.post("/ogcapi/processes/testing.sleepy/execution",
                         json={"inputs": {"seconds": 0, "marker": str(tmp_path / "m")}, "label": "via OGC"},
                         headers={"Prefer": "respond-async"})
    assert answer.status_code == 201, answer.get_json()
    info = answer.get_json()
    assert info["label"] == "via OGC"
    assert wait_for(client, info["jobID"])["label"] == "via OGC"


def test_a_label_is_no_part_of_the_fingerprint(stacks, tmp_path):
    stack = stacks("open")
    client, marker = stack.client, tmp_path / "runs"
    inputs = {"seconds": 0.1, "marker": str(marker)}
    first = post(client, inputs, body={"label": "first"})
    wait_for(client, first["job_id"])
    second = post(client, inputs, body={"label": "second, same inputs"})
    assert second["cached_from"] == first["job_id"] and second["status"] == "SUCCESS"
    assert client.get(f"/jobs/{second['job_id']}").get_json()["label"] == "second, same inputs"
    time.sleep(0.5)
    assert runs(marker) == 1
    store = open_store(stack.env["QED_STORE_URL"], 60)
    a, b = (store.get(j, data=False) for j in (first["job_id"], second["job_id"]))
    assert a["fingerprint"] == b["fingerprint"] and a["label"] != b["label"]


def test_a_store_written_before_labels_still_lists_and_reads(stacks, tmp_path):
    """A record written with no label (an older store file) reads and lists as before."""
    stack = stacks("open")
    done = wait_for(stack.client, post(stack.client, {"seconds": 0, "marker": str(tmp_path / "m")})["job_id"])
    path = stack.env["QED_STORE_URL"][len("sqlite:///"):]
    with sqlite3.connect(path) as conn:
        meta = conn.execute("SELECT meta FROM jobs WHERE id = ?", (done["job_id"],)).fetchone()[0]
    assert '"label"' not in meta
    listed = stack.client.get("/jobs?limit=50").get_json()["jobs"]
    assert any(j["job_id"] == done["job_id"] and "label" not in j for j in listed)


def test_a_jobs_inputs_come_back_ready_to_send_again(stacks, tmp_path):
    client = stacks("open").client
    inputs = {"seconds": 0, "marker": str(tmp_path / "m")}
    job_id = post(client, inputs, body={"label": "again"})["job_id"]
    given = client.get(f"/jobs/{job_id}/inputs").get_json()
    assert given["runs"] == 1 and given["label"] == "again" and given["app"] == "testing"
    assert given["inputs"]["marker"] == inputs["marker"] and given["inputs"]["seconds"] == 0
    # a batch: its rows in run order, nulls left out
    rows = [RICE, {**RICE, "kd": 500.0}]
    batch = client.post("/pram/rice", json={"inputs": rows})
    assert batch.status_code == 202, batch.get_json()
    back = client.get(f"/jobs/{batch.get_json()['job_id']}/inputs").get_json()
    assert back["runs"] == 2 and [r["kd"] for r in back["inputs"]] == [757.0, 500.0]
    assert back["inputs"][0] == RICE
    one = client.post("/pram/rice", json={"inputs": RICE}).get_json()
    assert client.get(f"/jobs/{one['job_id']}/inputs").get_json()["inputs"] == RICE
    assert client.get("/jobs/00000000-0000-4000-8000-000000000000/inputs").status_code == 404


def test_another_clients_inputs_are_unknown(stacks, keyfile_path, tmp_path):
    path, keys = keyfile_path
    stack = stacks("keys", QED_API_KEYS_FILE=str(path))
    alice, bob = Authed(stack.client, keys["alice"]), Authed(stack.client, keys["bob"])
    answer = alice.post("/testing/sleepy", json={"inputs": {"seconds": 0, "marker": str(tmp_path / "m")},
                                                 "label": "alice's"})
    job_id = answer.get_json()["job_id"]
    assert alice.get(f"/jobs/{job_id}/inputs").status_code == 200
    assert bob.get(f"/jobs/{job_id}/inputs").status_code == 404
    assert stack.client.get(f"/jobs/{job_id}/inputs").status_code == 401
    mine = alice.get("/jobs").get_json()["jobs"]
    assert [j["label"] for j in mine if j["job_id"] == job_id] == ["alice's"]
    assert all(j["job_id"] != job_id for j in bob.get("/jobs").get_json()["jobs"])


@pytest.mark.parametrize("kind", BACKENDS)
def test_every_store_keeps_a_label_and_lists_it(kind, tmp_path):
    store = make_store(kind, tmp_path)
    try:
        labelled, plain = str(uuid.uuid4()), str(uuid.uuid4())
        store.create(plain, {**new_record("pram", "rice", "1", "pram.rice"), "owner": "alice", "rows": 1})
        store.create(labelled, {**new_record("pram", "rice", "1", "pram.rice"), "owner": "alice", "rows": 3,
                                "label": "Fipronil, three runs", "inputs": [{"kd": 1.0}]})
        assert store.get(labelled, data=False)["label"] == "Fipronil, three runs"
        listed = {r["job_id"]: r for r in store.list_jobs(owner="alice")}
        assert listed[labelled]["label"] == "Fipronil, three runs" and "label" not in listed[plain]
        view = public(listed[labelled])
        assert view["label"] == "Fipronil, three runs" and view["runs"] == 3
        assert "label" not in public(listed[plain])
        store.update(labelled, {"status": "SUCCESS", "progress": 100, "data": {"x": 1}})
        assert store.get(labelled, data=False)["label"] == "Fipronil, three runs"  # kept by later writes
    finally:
        store.close()


def test_a_sqlite_file_of_an_older_version_opens_and_lists_without_labels(tmp_path):
    """A store file written before active counts and labels (user_version 0): opened, brought
    up to date, its jobs listed (with no label) beside new ones that have one."""
    path = tmp_path / "old.sqlite3"
    old = str(uuid.uuid4())
    record = {**new_record("pram", "rice", "1", "pram.rice"), "owner": "alice", "rows": 1, "job_id": old}
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, expires_at REAL NOT NULL, meta TEXT NOT NULL, "
                     "inputs BLOB, data BLOB)")
        conn.execute("INSERT INTO jobs (id, expires_at, meta) VALUES (?, ?, ?)",
                     (old, time.time() + 3600, json.dumps(record)))
    store = open_store(f"sqlite:///{path}", 3600)
    try:
        new = str(uuid.uuid4())
        store.create(new, {**new_record("pram", "rice", "1", "pram.rice"), "owner": "alice", "rows": 1,
                           "label": "after the upgrade"})
        listed = {r["job_id"]: public(r) for r in store.list_jobs(owner="alice")}
        assert set(listed) == {old, new}
        assert "label" not in listed[old] and listed[new]["label"] == "after the upgrade"
        assert store.count_active("alice") == (2, 2)  # the old job counted by the upgrade
    finally:
        store.close()


def test_a_csv_batch_takes_its_label_from_the_query(stacks):
    client = stacks("open").client
    header = ",".join(RICE)
    line = ",".join(str(v) for v in RICE.values())
    answer = client.post("/pram/rice?label=from%20a%20CSV", data=f"{header}\n{line}\n{line}\n",
                         content_type="text/csv")
    assert answer.status_code == 202, answer.get_json()
    job_id = answer.get_json()["job_id"]
    assert answer.get_json()["label"] == "from a CSV"
    given = client.get(f"/jobs/{job_id}/inputs").get_json()
    assert given["label"] == "from a CSV" and given["runs"] == 2
    too_long = client.post("/pram/rice?label=" + "z" * 201, data=f"{header}\n{line}\n", content_type="text/csv")
    assert too_long.status_code == 422 and too_long.get_json()["errors"][0]["field"] == "label"
