"""Job listing and polling with many jobs in the store: latency of GET /jobs (one
client's page and everyone's), filtered pages, a deep cursor page and a status poll.

Fills a fresh SQLite store (or the MongoDB at --mongo) with N job records spread over
100 clients, then times the gateway's answers in-process (Flask's test client, no
network). Prints medians and 95th percentiles in ms.

    .venv/bin/python benchmarks/bench_list.py --jobs 100000
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fill(store, jobs: int, clients: int) -> list[str]:
    ids = []
    statuses = ("SUCCESS", "SUCCESS", "SUCCESS", "FAILURE", "PENDING")
    for i in range(jobs):
        job_id = str(uuid.uuid4())
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + i)) + ".000Z"
        store.create(job_id, {"app": "pram", "model": "rice" if i % 3 else "trex", "version": "1.0",
                              "task": "pram.rice", "status": statuses[i % 5], "progress": 100,
                              "created": created, "owner": f"client{i % clients}", "rows": 1})
        ids.append(job_id)
    return ids


def timed(client, url: str, repeat: int, headers: dict | None = None) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    from flask_qed import keys
    from flask_qed.embedded import start_redis
    from flask_qed.runtime import Runtime
    from flask_qed.tasks import create_celery
    from flask_qed.web import create_gateway

    tmp = Path(tempfile.mkdtemp(prefix="qed-bench-list-"))
    redis, url = start_redis(tmp / "redis")
    try:
        key = keys.add_key(tmp / "api_keys", "client7")
        env = {"QED_BROKER_URL": url, "QED_STORE_URL": f"sqlite:///{tmp / 'jobs.sqlite3'}",
               "QED_INSTANCE_PATH": str(tmp), "QED_API_KEYS_FILE": str(tmp / "api_keys"),
               "QED_RATE_LIMIT": "off"}
        runtime = Runtime.load(env)
        start = time.perf_counter()
        ids = fill(runtime.store, args.jobs, args.clients)
        print(f"filled {args.jobs} jobs in {time.perf_counter() - start:.1f} s")
        client = create_gateway(create_celery(runtime)).test_client()
        auth = {"X-API-Key": key}
        page = client.get("/jobs?limit=50", headers=auth).get_json()
        deep = page
        for _ in range(10):  # ten pages in
            deep = client.get(deep["next"], headers=auth).get_json()
        cases = {
            "GET /jobs (one client's newest 50)": "/jobs?limit=50",
            "GET /jobs?model=trex&status=SUCCESS": "/jobs?model=trex&status=SUCCESS&limit=50",
            "GET /jobs, the 11th page (cursor)": deep["next"],
            f"GET /jobs/<id>/status (of {args.jobs})": f"/jobs/{ids[7]}/status",
        }
        for label, path in cases.items():
            body = client.get(path, headers=auth).get_json()
            found = len(body["jobs"]) if "jobs" in body else body["status"]
            p50, p95 = timed(client, path, args.repeat, auth)
            print(f"{label:45s} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   ({found})")
    finally:
        redis.terminate()


if __name__ == "__main__":
    main()
