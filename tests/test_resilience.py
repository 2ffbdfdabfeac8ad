"""Jobs are never lost: worker crashes, time-to-live, an unreachable broker or store."""
from __future__ import annotations

import os
import signal
import sqlite3
import time
import uuid
from pathlib import Path

from flask_qed.runtime import Runtime
from flask_qed.stores import open_store
from flask_qed.tasks import create_celery
from flask_qed.web import create_gateway
from tests.conftest import wait_for


def _wait_marker(marker: Path, lines: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        pids = [int(p) for p in marker.read_text().split()] if marker.exists() else []
        if len(pids) >= lines:
            return pids
        assert time.monotonic() < deadline, f"marker has {pids}"
        time.sleep(0.02)


def test_job_survives_its_pool_process_being_killed(client, tmp_path):
    marker = tmp_path / "attempts"
    job = client.post("/testing/sleepy", json={"inputs": {"seconds": 2, "marker": str(marker)}}).get_json()
    first, = _wait_marker(marker, 1)
    os.kill(first, signal.SIGKILL)  # the process running the job dies mid-task
    record = wait_for(client, job["job_id"], timeout=60)
    assert record["status"] == "SUCCESS", record
    pids = [int(p) for p in marker.read_text().split()]
    assert len(pids) == 2 and pids[1] != first  # run again, elsewhere, and completed once
    assert record["attempts"] == 2 and record["data"]["attempts_seen"] == 2


def test_job_survives_the_whole_worker_being_killed(own_stack, tmp_path):
    stack = own_stack(QED_PENDING_GRACE="1", QED_SWEEP_INTERVAL="1")  # the reconciler, not Redis
    client, marker = stack["client"], tmp_path / "attempts"
    job = client.post("/testing/sleepy", json={"inputs": {"seconds": 1, "marker": str(marker)}}).get_json()
    _wait_marker(marker, 1)
    os.killpg(stack["worker"].pid, signal.SIGKILL)  # main process and pool, no goodbye
    stack["worker"].wait()
    assert client.get(f"/jobs/{job['job_id']}").get_json()["status"] == "STARTED"
    stack["start_worker"]()  # its reconciler finds the lapsed lease and publishes the job again
    record = wait_for(client, job["job_id"], timeout=60)
    assert record["status"] == "SUCCESS" and record["attempts"] == 2
    assert len(marker.read_text().split()) == 2


def test_results_expire_after_the_ttl(own_stack):
    stack = own_stack(QED_RESULT_TTL="3")
    client = stack["client"]
    inputs = {"mai": 1, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.5, "kd": 10}
    job_id = client.post("/pram/rice", json={"inputs": inputs}).get_json()["job_id"]
    assert wait_for(client, job_id)["status"] == "SUCCESS"
    time.sleep(3.2)
    for url in (f"/pram/data?job_id={job_id}", f"/jobs/{job_id}"):
        response = client.get(url)
        assert response.status_code == 404 and "expired" in response.get_json()["message"]


def _gateway(env_changes: dict[str, str], stack_env: dict[str, str]):
    env = {**stack_env, **env_changes}
    return create_gateway(create_celery(Runtime.load(env))).test_client()


def test_broker_down_gives_503_and_the_record_says_why(stack_env, tmp_path):
    client = _gateway({"QED_BROKER_URL": "redis://127.0.0.1:1/0",
                       "QED_STORE_URL": f"sqlite:///{tmp_path / 'j.sqlite3'}"}, stack_env)
    response = client.post("/testing/sleepy", json={"inputs": {"seconds": 0}})
    assert response.status_code == 503 and "queue" in response.get_json()["message"]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.get_json()["checks"]
    assert checks["broker"].startswith("down") and checks["store"] == "ok"


def test_store_down_gives_503_naming_the_store(stack_env, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    client = _gateway({"QED_STORE_URL": f"sqlite:///{blocker / 'no' / 'j.sqlite3'}"}, stack_env)
    response = client.post("/testing/sleepy", json={"inputs": {"seconds": 0}})
    assert response.status_code == 503 and "store" in response.get_json()["message"]
    assert client.get("/jobs/x").status_code == 503
    checks = client.get("/readyz").get_json()["checks"]
    assert checks["store"].startswith("down") and checks["broker"] == "ok"


def test_too_large_body_is_413(stack_env, tmp_path):
    client = _gateway({"QED_MAX_CONTENT_LENGTH": "1000",
                       "QED_STORE_URL": f"sqlite:///{tmp_path / 'j.sqlite3'}"}, stack_env)
    response = client.post("/pram/rice", data="[" + "1," * 2000 + "1]", content_type="application/json")
    assert response.status_code == 413 and response.get_json()["code"] == 413
    message = response.get_json()["message"]  # names the body limit, max_rows and the setting
    assert "QED_MAX_CONTENT_LENGTH = 1,000 bytes" in message and "max_rows = 100,000" in message


def test_the_default_body_limit_fits_max_rows_of_the_widest_model():
    """kabam's max_rows (100,000 runs of 130 inputs, column form) fits in the default limit."""
    import orjson

    from benchmarks.bench_pram import batch
    from flask_qed.config import load_settings
    body = orjson.dumps({"inputs": batch("kabam", 2_000)})
    assert len(body) * 50 < load_settings({}).max_content_length


def test_a_duplicate_delivery_does_not_run_the_job_twice(client, stack_env, tmp_path):
    marker = tmp_path / "attempts"
    job_id = client.post("/testing/sleepy", json={"inputs": {"seconds": 1.5, "marker": str(marker)}}
                         ).get_json()["job_id"]
    _wait_marker(marker, 1)
    celery = create_celery(Runtime.load(stack_env))
    celery.send_task("testing.sleepy", args=[job_id], task_id=job_id)  # as a re-delivery would
    record = wait_for(client, job_id)
    assert record["status"] == "SUCCESS" and record["attempts"] == 1
    time.sleep(3)  # the duplicate waited for the lease, then found the job finished
    assert len(marker.read_text().split()) == 1
    assert client.get(f"/jobs/{job_id}").get_json()["attempts"] == 1


def test_time_limits_fail_the_job_with_a_message(own_stack):
    stack = own_stack(QED_TASK_SOFT_TIME_LIMIT="1", QED_TASK_TIME_LIMIT="3")
    client = stack["client"]
    soft = client.post("/testing/sleepy", json={"inputs": {"seconds": 5}}).get_json()["job_id"]
    hard = client.post("/testing/sleepy", json={"inputs": {"seconds": 8, "stubborn": True}}
                       ).get_json()["job_id"]
    for job_id in (soft, hard):
        record = wait_for(client, job_id, timeout=60)
        assert record["status"] == "FAILURE", record
        assert record["error"].startswith("TimeLimitExceeded"), record["error"]


def test_a_broker_that_stops_answering_gives_503_not_a_hang(stack_env, tmp_path):
    from flask_qed.embedded import start_redis
    redis, url = start_redis(tmp_path / "frozen")
    try:
        client = _gateway({"QED_BROKER_URL": url, "QED_BROKER_TIMEOUT": "1",
                           "QED_STORE_URL": f"sqlite:///{tmp_path / 'j.sqlite3'}"}, stack_env)
        assert client.get("/readyz").status_code == 200
        redis.send_signal(signal.SIGSTOP)  # accepts connections, never answers
        started = time.monotonic()
        response = client.post("/testing/sleepy", json={"inputs": {"seconds": 0}})
        assert response.status_code == 503 and response.is_json
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["broker"].startswith("down")
        assert time.monotonic() - started < 30
    finally:
        redis.send_signal(signal.SIGCONT)
        redis.terminate()
        redis.wait()


def test_revoking_a_running_job_drops_its_result(client, tmp_path):
    marker = tmp_path / "attempts"
    job_id = client.post("/testing/sleepy", json={"inputs": {"seconds": 1.0, "marker": str(marker)}}
                         ).get_json()["job_id"]
    _wait_marker(marker, 1)
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code == 200 and response.get_json()["status"] == "REVOKED"
    time.sleep(2)  # the science finished meanwhile; its result must not overwrite REVOKED
    record = client.get(f"/jobs/{job_id}").get_json()
    assert record["status"] == "REVOKED" and "data" not in record
    again = client.delete(f"/jobs/{job_id}")
    assert again.status_code == 409 and "already REVOKED" in again.get_json()["message"]
    assert client.delete("/jobs/no-such-job").status_code == 404


def test_a_revoked_queued_job_never_runs(stack_env, tmp_path):
    from flask_qed.embedded import start_redis
    from tests.conftest import make_env, start_worker, stop
    redis, url = start_redis(tmp_path / "redis")
    env = make_env(url, f"sqlite:///{tmp_path / 'j.sqlite3'}", tmp_path)
    worker = None
    try:
        client = create_gateway(create_celery(Runtime.load(env))).test_client()
        marker = tmp_path / "attempts"
        job_id = client.post("/testing/sleepy", json={"inputs": {"seconds": 0, "marker": str(marker)}}
                             ).get_json()["job_id"]
        assert client.delete(f"/jobs/{job_id}").get_json()["status"] == "REVOKED"
        worker = start_worker(env, tmp_path / "worker.log")  # the message is still queued
        done = client.post("/testing/sleepy", json={"inputs": {"seconds": 0}}).get_json()["job_id"]
        assert wait_for(client, done)["status"] == "SUCCESS"  # the queue behind it was drained
        assert not marker.exists()
        assert client.get(f"/jobs/{job_id}").get_json()["status"] == "REVOKED"
    finally:
        if worker is not None:
            stop(worker)
        stop(redis)


def test_the_workers_housekeeping_purges_the_expired_jobs(own_stack, tmp_path):
    """Expired jobs leave the SQLite file on the sweeper's first sweep (then once a minute),
    not in a request's write."""
    short = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl=1)
    for _ in range(30):
        short.create(str(uuid.uuid4()), {"status": "SUCCESS", "data": {"x": 1}})
    kept = str(uuid.uuid4())
    open_store(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", ttl=3600).create(kept, {"status": "SUCCESS"})
    time.sleep(1.2)
    stack = own_stack(QED_SWEEP_INTERVAL="1")
    conn = sqlite3.connect(tmp_path / "jobs.sqlite3")
    try:
        deadline = time.monotonic() + 30
        while (left := [r[0] for r in conn.execute("SELECT id FROM jobs")]) != [kept]:
            assert time.monotonic() < deadline, f"{len(left)} jobs left"
            time.sleep(0.1)
    finally:
        conn.close()
    assert stack["client"].get(f"/jobs/{kept}").status_code == 200
