"""The result cache (flask_qed.jobs.cache), through real Redis, a real Celery worker and the
gateway: a repeated job is answered from the first one's result without a task, opted out
per request, kept to its owner (or shared, QED_CACHE_SCOPE=all), joined while it runs,
and never served once expired.

The ``sleepy`` test model appends its process id to a ``marker`` file each time it runs:
the number of lines is how often the worker really ran it. Each test has its own marker,
so no two tests' jobs are identical."""
from __future__ import annotations

import re
import time
from typing import Any

from flask_qed.stores import open_store
from tests.conftest import wait_for
from tests.jobs.conftest import Authed, post, runs


def metric(client: Any, result: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(r'^qed_cache_lookups_total\{app="testing",model="sleepy",result="%s"\} (\S+)$' % result,
                      text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_repeated_job_is_answered_from_the_first_without_a_task(stacks, tmp_path):
    stack = stacks("open")
    client, marker = stack.client, tmp_path / "runs"
    inputs = {"seconds": 0.1, "marker": str(marker)}
    first = post(client, inputs)
    assert "cached_from" not in first
    done = wait_for(client, first["job_id"])
    assert done["status"] == "SUCCESS" and runs(marker) == 1
    hits = metric(client, "hit")

    second = post(client, inputs)
    # answered at once: its own job, SUCCESS, no message for a worker
    assert second["status"] == "SUCCESS" and second["cached_from"] == first["job_id"]
    assert second["job_id"] != first["job_id"] and stack.queued() == 0
    record = client.get(f"/jobs/{second['job_id']}").get_json()
    assert record["status"] == "SUCCESS" and record["cached_from"] == first["job_id"]
    assert record["data"] == done["data"] and record["data"]["attempts_seen"] == 1
    assert record["created"] >= done["finished"]  # its own times, not the first job's
    assert client.get(f"/jobs/{second['job_id']}/results").get_json() == done["data"]
    time.sleep(1)  # had a task been published, the worker would have run it by now
    assert runs(marker) == 1 and second["job_id"] not in stack.log.read_text()
    assert metric(client, "hit") == hits + 1


def test_the_cache_is_skipped_on_request(stacks, tmp_path):
    stack = stacks("open")
    client, marker = stack.client, tmp_path / "runs"
    inputs = {"seconds": 0, "marker": str(marker)}
    first = wait_for(client, post(client, inputs)["job_id"])
    assert first["status"] == "SUCCESS" and runs(marker) == 1
    again = post(client, inputs, body={"cache": False})
    assert again["status"] == "PENDING" and "cached_from" not in again
    assert wait_for(client, again["job_id"])["data"]["attempts_seen"] == 2 and runs(marker) == 2
    header = post(client, inputs, headers={"Cache-Control": "no-cache"})
    assert "cached_from" not in header
    assert wait_for(client, header["job_id"])["status"] == "SUCCESS" and runs(marker) == 3
    # "cache" must be a boolean
    bad = client.post("/testing/sleepy", json={"inputs": inputs, "cache": "no"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "cache"
    # a job that skipped the cache still serves later ones: the newest run answers
    hit = post(client, inputs)
    assert hit["cached_from"] == header["job_id"] and runs(marker) == 3


def test_a_csv_batch_or_a_form_skips_the_cache_with_cache_false(stacks):
    """A CSV body has no JSON to say ``"cache": false`` in: ``?cache=false`` says it."""
    client = stacks("open").client
    body = "mai,area,dsed,pb,dw,osed,kd\n0.0561,10000,0.01,1300,0.1,0.509,757\n"

    def post_csv(query: str = "") -> Any:
        return client.post("/pram/rice" + query, data=body, content_type="text/csv")

    first = post_csv().get_json()
    assert wait_for(client, first["job_id"])["status"] == "SUCCESS"
    assert post_csv().get_json()["cached_from"] == first["job_id"]
    for query in ("?cache=false", "?cache=0", "?cache=No"):
        again = post_csv(query).get_json()
        assert "cached_from" not in again and wait_for(client, again["job_id"])["status"] == "SUCCESS"
    assert "cached_from" in post_csv("?cache=true").get_json()
    assert "cached_from" in post_csv("?cache=").get_json()  # blank: not given
    bad = post_csv("?cache=maybe")
    assert bad.status_code == 400 and "cache: 'maybe' is neither true nor false" in bad.get_json()["message"]
    # a JSON body takes the query's cache=false too (its own "cache": false is the usual way)
    rows = [dict(zip(body.splitlines()[0].split(","), line.split(","))) for line in body.splitlines()[1:]]
    again = client.post("/pram/rice?cache=false", json={"inputs": rows}).get_json()
    assert "cached_from" not in again and wait_for(client, again["job_id"])["status"] == "SUCCESS"
    assert "cached_from" in client.post("/pram/rice?cache=true", json={"inputs": rows}).get_json()


def test_numbers_spelled_differently_are_the_same_job(stacks, tmp_path):
    stack = stacks("open")
    client, marker = stack.client, tmp_path / "runs"
    body = '{"inputs": {"seconds": 0.50, "marker": "%s", "fail": false}}' % marker
    first = client.post("/testing/sleepy", data=body, content_type="application/json").get_json()
    assert wait_for(client, first["job_id"])["status"] == "SUCCESS"
    for spelling in ("0.5", "5e-1", "0.500000"):
        same = client.post("/testing/sleepy", content_type="application/json",
                           data='{"inputs": {"marker": "  %s ", "seconds": %s}}' % (marker, spelling))
        assert same.get_json()["cached_from"] == first["job_id"], spelling
    other = post(client, {"seconds": 0.51, "marker": str(marker)})
    assert "cached_from" not in other
    assert wait_for(client, other["job_id"])["status"] == "SUCCESS" and runs(marker) == 2


def test_an_identical_job_running_is_joined_not_run_twice(stacks, tmp_path):
    stack = stacks("open")
    client, marker = stack.client, tmp_path / "runs"
    inputs = {"seconds": 2, "marker": str(marker)}
    first = post(client, inputs)
    joiner = post(client, inputs)
    assert joiner["status"] == "PENDING" and joiner["cached_from"] == first["job_id"]
    assert client.get(f"/jobs/{joiner['job_id']}/status").get_json()["status"] in ("PENDING", "STARTED")
    done = wait_for(client, first["job_id"])
    # the worker that ended the first job ended its joiner too: the store says so, unread
    store = open_store(stack.env["QED_STORE_URL"], 3600)
    deadline = time.monotonic() + 10
    while store.get(joiner["job_id"], data=False)["status"] != "SUCCESS":
        assert time.monotonic() < deadline, "the worker did not settle the joiner"
        time.sleep(0.05)
    joined = wait_for(client, joiner["job_id"])
    assert joined["status"] == "SUCCESS" and joined["data"] == done["data"]
    assert joined["cached_from"] == first["job_id"] and runs(marker) == 1


def test_a_joiner_of_a_failed_job_fails_alike(stacks, tmp_path):
    client = stacks("open").client
    inputs = {"seconds": 1, "fail": True, "marker": str(tmp_path / "runs")}
    first = post(client, inputs)
    joiner = post(client, inputs)
    assert joiner["cached_from"] == first["job_id"]
    failed = wait_for(client, joiner["job_id"])
    assert failed["status"] == "FAILURE" and first["job_id"] in failed["error"]
    assert "asked to fail" in failed["error"] and runs(tmp_path / "runs") == 1


def test_a_joiner_of_a_cancelled_job_runs_on_its_own(stacks, tmp_path):
    client, marker = stacks("open").client, tmp_path / "runs"
    inputs = {"seconds": 1, "marker": str(marker)}
    first = post(client, inputs)
    joiner = post(client, inputs)
    assert joiner["cached_from"] == first["job_id"]
    assert client.delete(f"/jobs/{first['job_id']}").get_json()["status"] == "REVOKED"
    ran = wait_for(client, joiner["job_id"], timeout=30)  # released, then published by the reconciler
    assert ran["status"] == "SUCCESS" and "cached_from" not in ran
    assert ran["data"]["attempts_seen"] == runs(marker) >= 1


def test_every_face_is_answered_from_the_cache(stacks, tmp_path):
    client, marker = stacks("open").client, tmp_path / "runs"
    inputs = {"seconds": 0, "marker": str(marker)}
    first = wait_for(client, post(client, inputs)["job_id"])
    ogc = client.post("/ogcapi/processes/testing.sleepy/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"})
    assert ogc.status_code == 201 and ogc.get_json()["status"] == "successful"
    ogc_id = ogc.get_json()["jobID"]
    assert client.get(f"/jobs/{ogc_id}").get_json()["cached_from"] == first["job_id"]
    fresh = client.post("/ogcapi/processes/testing.sleepy/execution", json={"inputs": inputs, "cache": False},
                        headers={"Prefer": "respond-async"}).get_json()["jobID"]
    assert "cached_from" not in wait_for(client, fresh) and runs(marker) == 2


def test_another_clients_job_never_answers_under_owner_scope(stacks, keyfile_path, tmp_path):
    path, keys = keyfile_path
    stack = stacks("owner", QED_API_KEYS_FILE=str(path))
    alice, bob = Authed(stack.client, keys["alice"]), Authed(stack.client, keys["bob"])
    marker = tmp_path / "runs"
    inputs = {"seconds": 0, "marker": str(marker)}
    first = wait_for(alice, post(alice, inputs)["job_id"])
    theirs = post(bob, inputs)
    assert "cached_from" not in theirs and theirs["status"] == "PENDING"
    assert wait_for(bob, theirs["job_id"])["status"] == "SUCCESS" and runs(marker) == 2
    mine = post(alice, inputs)
    assert mine["cached_from"] == first["job_id"] and runs(marker) == 2
    # bob's second asks is answered from bob's own job, never alice's
    assert post(bob, inputs)["cached_from"] == theirs["job_id"]


def test_scope_all_shares_results_between_clients(stacks, keyfile_path, tmp_path):
    path, keys = keyfile_path
    stack = stacks("all", QED_API_KEYS_FILE=str(path), QED_CACHE_SCOPE="all")
    alice, bob = Authed(stack.client, keys["alice"]), Authed(stack.client, keys["bob"])
    marker = tmp_path / "runs"
    inputs = {"seconds": 0, "marker": str(marker)}
    first = wait_for(alice, post(alice, inputs)["job_id"])
    shared = post(bob, inputs)
    assert shared["status"] == "SUCCESS" and shared["cached_from"] == first["job_id"]
    assert bob.get(f"/jobs/{shared['job_id']}").get_json()["data"] == first["data"]
    # the result is shared, the job is not: alice's job stays hers
    assert bob.get(f"/jobs/{first['job_id']}").status_code == 404
    assert alice.get(f"/jobs/{shared['job_id']}").status_code == 404
    assert runs(marker) == 1


def test_an_expired_job_is_not_used(stacks, tmp_path):
    stack = stacks("short", QED_RESULT_TTL="3")
    client, marker = stack.client, tmp_path / "runs"
    inputs = {"seconds": 0, "marker": str(marker)}
    first = wait_for(client, post(client, inputs)["job_id"])
    assert post(client, inputs)["cached_from"] == first["job_id"]  # while it lives
    time.sleep(3.5)
    assert client.get(f"/jobs/{first['job_id']}").status_code == 404
    again = post(client, inputs)
    assert "cached_from" not in again
    assert wait_for(client, again["job_id"])["status"] == "SUCCESS" and runs(marker) == 2


def test_the_cache_can_be_turned_off(stacks, tmp_path):
    client, marker = stacks("off", QED_CACHE="off").client, tmp_path / "runs"
    inputs = {"seconds": 0, "marker": str(marker)}
    wait_for(client, post(client, inputs)["job_id"])
    again = post(client, inputs)
    assert "cached_from" not in again
    assert wait_for(client, again["job_id"])["status"] == "SUCCESS" and runs(marker) == 2


# -- the fingerprint alone (no stack) ------------------------------------------------------
RICE = {"mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 909}


def test_canonical_json_spells_each_value_one_way():
    from flask_qed.jobs.fingerprint import canonical_json
    assert canonical_json({"b": 0.50, "a": 2.0, "c": " x ", "d": "", "e": None, "f": [1e0, float("nan")],
                           "g": True}) == b'{"a":2,"b":0.5,"c":"x","f":[1,null],"g":true}'
    assert canonical_json({"g": 1}) != canonical_json({"g": True})  # a flag is not a number
    assert canonical_json(0.1 + 0.2) == b"0.30000000000000004"  # every float keeps its value


def trailing_zero(value: float) -> str:
    """A number spelled with one more zero after its decimals (0.5 → "0.50")."""
    text = str(value)
    return text + "0" if "." in text else text


def test_a_batch_in_any_form_has_one_fingerprint():
    """Column form, rows and CSV of the same PRAM runs validate to the same runs, and so
    to one fingerprint; another model version, project version or value gives another."""
    from flask_qed.columns import columns_from_csv
    from flask_qed.jobs.fingerprint import fingerprint
    from flask_qed.plugins import discover
    rice = next(m for a in discover(()) if a.name == "pram" for m in a.models if m.name == "rice")
    second = {**RICE, "mai": 0.50}
    columns = {k: {"0": RICE[k], "1": second[k]} for k in RICE}
    csv = "\n".join([",".join(RICE), ",".join(str(RICE[k]) for k in RICE), ",".join(trailing_zero(second[k]) for k in RICE)])
    prints = set()
    for form in (columns, [RICE, second], columns_from_csv(csv)):
        validated, rows = rice.validate_packed(form)
        assert rows == 2
        prints.add(fingerprint("pram", "rice", rice.version, "0.1.0", validated))
    assert len(prints) == 1
    validated, _ = rice.validate_packed([RICE, second])
    assert fingerprint("pram", "rice", "2.0", "0.1.0", validated) not in prints
    assert fingerprint("pram", "rice", rice.version, "0.2.0", validated) not in prints
    validated, _ = rice.validate_packed([RICE, {**second, "mai": 0.51}])
    assert fingerprint("pram", "rice", rice.version, "0.1.0", validated) not in prints
