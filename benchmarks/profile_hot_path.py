"""Where one small job's time goes: submit, claim, run, store, poll, under cProfile.

Everything runs in this one process so that cProfile sees it all, against the
real parts: a private redis-server as the broker and a SQLite store in a scratch
folder. The gateway is the real WSGI app (every middleware on), called through
werkzeug's test client; the worker side is the real task body
(``flask_qed.tasks.run_job``) for each job taken off the queue.

    .venv/bin/python benchmarks/profile_hot_path.py [--jobs 2000] [--top 25]

Prints the median wall time of each phase per job, then the functions that cost
the most in each phase (cumulative time).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_qed.embedded import start_redis  # noqa: E402

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--no-profile", action="store_true", help="time the phases only (no profiler overhead)")
    args = ap.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="qed-profile-"))
    redis, url = start_redis(scratch / "redis", tied=True)
    os.environ.update(QED_BROKER_URL=url, QED_STORE_URL=f"sqlite:///{scratch}/jobs.sqlite3",
                      QED_INSTANCE_PATH=str(scratch), QED_RATE_LIMIT=os.environ.get("QED_RATE_LIMIT", "off"),
                      QED_MAX_ACTIVE_JOBS="1000000")
    try:
        from flask_qed.runtime import runtime_of
        from flask_qed.tasks import create_celery, run_job
        from flask_qed.web import create_gateway
        celery = create_celery()
        runtime = runtime_of(celery)
        client = create_gateway(celery).test_client()
        model = runtime.app("pram").model("rice")
        queue = celery.conf.task_default_queue

        made = iter(range(10 ** 9))

        def submit() -> str:  # each job its own inputs: a run, not an answer from the result cache
            answer = client.post("/pram/rice", json={"inputs": {**RICE, "mai": 0.05 + next(made) * 1e-9}})
            assert answer.status_code == 202, answer.get_data(as_text=True)
            return answer.get_json()["job_id"]

        broker = celery.connection_for_read()
        redis_client = broker.default_channel.client

        def take(job_id: str) -> None:
            redis_client.rpop(queue)  # the message the gateway queued
            run_job(runtime, model, job_id, worker="profile")

        def poll(job_id: str) -> None:
            answer = client.get(f"/pram/data?job_id={job_id}")
            assert answer.status_code == 200 and answer.get_json()["status"] == "SUCCESS"

        for _ in range(50):  # warm-up: imports, connections, caches
            j = submit()
            take(j)
            poll(j)

        phases = {"submit (gateway: POST /pram/rice)": submit, "claim+run+store (worker: run_job)": take,
                  "poll (gateway: GET /pram/data)": poll}
        ids: list[str] = []
        for name, step in phases.items():
            profile, times = cProfile.Profile(), []
            for i in range(args.jobs):
                t0 = time.perf_counter()
                if not args.no_profile:
                    profile.enable()
                if step is submit:
                    ids.append(step())
                else:
                    step(ids[i])
                profile.disable()
                times.append(time.perf_counter() - t0)
            print(f"\n=== {name}: median {statistics.median(times) * 1e3:.3f} ms, "
                  f"p95 {sorted(times)[int(0.95 * len(times))] * 1e3:.3f} ms per job "
                  + ("" if args.no_profile else " (with the profiler on)"))
            if args.no_profile:
                continue
            out = io.StringIO()
            for order in ("cumulative", "tottime"):
                pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip()
                            and not line.lstrip().startswith(("Ordered by", "List reduced"))))
        broker.release()
    finally:
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    main()
