"""QED_LOG_FORMAT=json: one JSON object per line, job events with their job id, gateway and worker."""
from __future__ import annotations

import json
import logging

from flask_qed.embedded import start_redis
from flask_qed.runtime import Runtime
from flask_qed.tasks import create_celery
from flask_qed.web import create_gateway
from tests.conftest import make_env, start_worker, stop, wait_for


def test_json_logs_carry_the_job_id_in_gateway_and_worker(tmp_path, caplog):
    redis, url = start_redis(tmp_path / "redis")
    env = make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path, QED_LOG_FORMAT="json")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        client = create_gateway(create_celery(Runtime.load(env))).test_client()
        with caplog.at_level(logging.INFO, logger="flask_qed"):
            ok = client.post("/testing/sleepy", json={"inputs": {"seconds": 0}}).get_json()["job_id"]
            bad = client.post("/testing/sleepy", json={"inputs": {"seconds": 0, "fail": True}}).get_json()["job_id"]
            assert wait_for(client, ok)["status"] == "SUCCESS"
            assert wait_for(client, bad)["status"] == "FAILURE"
        queued = {r.job_id for r in caplog.records if getattr(r, "event", None) == "queued"}
        assert {ok, bad} <= queued  # the gateway's event, with its job id as a field
    finally:
        stop(worker)
        stop(redis)
    lines = [line for line in (tmp_path / "worker.log").read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]  # every such line is one JSON object
    events = {(r.get("job_id"), r.get("event")) for r in records}
    assert {(ok, "started"), (ok, "succeeded"), (bad, "started"), (bad, "failed")} <= events
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
