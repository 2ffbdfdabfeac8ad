"""Bounded waiting (flask_qed.jobs.waiting), through gunicorn as deployed: requests that wait
for their job's result take one of a few slots a process, and with none free answer at
once as asynchronous submissions, so a queue that does not move cannot take every
server thread (and /healthz with them)."""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import requests

from flask_qed.config import load_settings
from tests.conftest import start_worker, stop
from tests.test_deployment import _deploy

RICE = {"mai": 1, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.5, "kd": 10}
WORKERS, THREADS, WAITERS = 2, 4, 2  # gunicorn processes, threads of each (gthread), waits of each
WAIT = 60  # seconds a held request may wait: far longer than the test holds it


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    response = requests.post(url, json=body, timeout=WAIT + 30)
    return {"url": url, "status": response.status_code, "seconds": time.monotonic() - started,
            "json": response.json(), "headers": response.headers}


def test_the_default_cap_is_well_under_what_serves_requests():
    urls = {"QED_BROKER_URL": "redis://localhost:6379/0", "QED_STORE_URL": "sqlite:///x"}
    threads = load_settings({**urls, "GUNICORN_WORKER_CLASS": "gthread"}).max_waiters
    assert 1 <= threads <= THREADS // 2  # half of gunicorn's 4 threads a process always answer
    greenlets = load_settings(urls).max_waiters  # gevent, the default: 1,000 connections a process
    assert THREADS < greenlets <= 1000 // 5
    assert load_settings({**urls, "QED_MAX_WAITERS": "7"}).max_waiters == 7


@pytest.mark.parametrize("worker_class", ["gthread", "gevent"])
def test_waits_beyond_the_cap_answer_at_once_and_healthz_keeps_answering(tmp_path, worker_class):
    """50 waits at once (half /rest/pram, half OGC synchronous executions) on a queue with
    no worker: two a process are held, the rest answered at once as jobs, /healthz keeps
    answering within a second; under threads (gthread) as under gevent."""
    started: list = []
    pool = ThreadPoolExecutor(max_workers=50)
    try:
        deployed = _deploy(tmp_path, started, GUNICORN_WORKER_CLASS=worker_class,
                           GUNICORN_WORKERS=str(WORKERS), GUNICORN_THREADS=str(THREADS),
                           QED_MAX_WAITERS=str(WAITERS), QED_REST_WAIT=str(WAIT), QED_SYNC_WAIT=str(WAIT))
        base = deployed["base"]
        stop(deployed["worker"])  # the queue stops moving: every job now waits in Redis
        rest = [pool.submit(_post, f"{base}/rest/pram/rice/2026010100000000{n:04d}", {"inputs": RICE})
                for n in range(25)]
        ogc = [pool.submit(_post, f"{base}/ogcapi/processes/pram.rice/execution",
                           {"inputs": RICE, "response": "document"}) for _ in range(25)]
        waits: list[Future] = rest + ogc

        # While the waits are held, the process still answers at once.
        for _ in range(10):
            before = time.monotonic()
            health = requests.get(f"{base}/healthz", timeout=5)
            assert health.status_code == 200 and time.monotonic() - before < 1.0, time.monotonic() - before
            time.sleep(0.2)
        held_most = WORKERS * WAITERS
        deadline = time.monotonic() + 20
        while sum(f.done() for f in waits) < len(waits) - held_most:
            assert time.monotonic() < deadline, f"{sum(f.done() for f in waits)} of {len(waits)} answered"
            time.sleep(0.1)
        time.sleep(1)  # room for one more answer, if the cap let more through than it should
        early = [f.result() for f in waits if f.done()]
        held = [f for f in waits if not f.done()]
        assert 1 <= len(held) <= held_most, len(held)  # some wait (the cap is not 0), no more than the cap
        for answer in early:  # answered at once, as asynchronous submissions
            assert answer["seconds"] < WAIT / 3, answer
            if "/rest/" in answer["url"]:
                assert answer["status"] == 202, answer
                assert answer["headers"]["Location"] == answer["json"]["url"] == f"/pram/data?job_id={answer['json']['job_id']}"
                assert "QED_MAX_WAITERS" in answer["json"]["message"]
            else:
                assert answer["status"] == 201, answer
                assert answer["json"]["status"] == "accepted" and answer["json"]["type"] == "process"
                assert answer["headers"]["Location"].endswith(f"/ogcapi/jobs/{answer['json']['jobID']}")
                assert "Preference-Applied" not in answer["headers"]
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200

        # The jobs answered early are real jobs: a worker runs them.
        started.insert(0, start_worker(deployed["env"], tmp_path / "worker2.log"))
        for answer in early:
            job_id = answer["json"].get("job_id") or answer["json"]["jobID"]
            deadline = time.monotonic() + 60
            while (record := requests.get(f"{base}/jobs/{job_id}", timeout=10).json())["status"] != "SUCCESS":
                assert record["status"] in ("PENDING", "STARTED") and time.monotonic() < deadline, record
                time.sleep(0.1)
            assert record["data"]["outputs"], record
        # and the held waits end with their results once their jobs are done
        for future in held:
            answer = future.result(timeout=60)
            assert answer["status"] == 200 and answer["seconds"] < WAIT, answer
            assert "out_cw" in (answer["json"].get("outputs") or answer["json"]), answer
    finally:
        for proc in started:
            stop(proc)
        pool.shutdown(wait=False, cancel_futures=True)
