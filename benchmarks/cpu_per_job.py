"""CPU time per job, by process: where the machine's cores go under load.

Starts the stack as ``benchmarks/gateway_bench.py`` does (a private Redis,
``celery -A celery_cgi worker --concurrency 2``, ``gunicorn -c
python:flask_qed.gunicorn_conf flask_cgi:app``, a SQLite store), drives it with the
same load (``--jobs`` single-run rice jobs submitted from ``--threads`` client
threads, then each polled at ``/pram/data?job_id=`` every 50 ms until finished),
and prints the CPU time (user + system, from /proc) each group of processes spent
per job: the client (this process), the gateway's workers, Celery's main process
(the consumer), its pool processes (the jobs), and Redis. Also the idle round trip
(one job at a time, polled every 2 ms) and jobs/s per round.

    .venv/bin/python benchmarks/cpu_per_job.py [--rounds 3] [--jobs 300]

``--py-spy DIR`` also records the gateway and the worker with py-spy (``--gil``:
samples of the thread holding the GIL, i.e. CPU) as collapsed stacks in DIR.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stack import wait_ready  # noqa: E402
from flask_qed.embedded import free_port, start_redis  # noqa: E402

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def cpu_seconds(groups: dict[str, psutil.Process]) -> dict[str, float]:
    out: dict[str, float] = {"client": sum(psutil.Process().cpu_times()[:2])}
    for name, root in groups.items():
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            key = name if name == "redis" else f"{name} ({'main' if proc.pid == root.pid else 'children'})"
            out[key] = out.get(key, 0.0) + times.user + times.system
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--idle", type=int, default=50)
    ap.add_argument("--py-spy", dest="pyspy", help="folder for py-spy's collapsed stacks")
    args = ap.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="qed-cpu-"))
    redis, url = start_redis(scratch / "redis", tied=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_BROKER_URL=url, QED_STORE_URL=f"sqlite:///{scratch}/jobs.sqlite3",
               QED_INSTANCE_PATH=str(scratch), QED_RATE_LIMIT="off", QED_MAX_ACTIVE_JOBS="100000")
    binary = Path(sys.executable).parent
    logs = open(scratch / "stack.log", "ab")
    worker = subprocess.Popen([str(binary / "celery"), "-A", "celery_cgi", "worker", "--concurrency", "2",
                               "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                              cwd=ROOT, env=env, stdout=logs, stderr=logs)
    web = subprocess.Popen([str(binary / "gunicorn"), "-c", "python:flask_qed.gunicorn_conf", "--bind",
                            f"127.0.0.1:{port}", "flask_cgi:app"], cwd=ROOT, env=env, stdout=logs, stderr=logs)
    spies: list[subprocess.Popen] = []
    try:
        wait_ready(base, web)
        local = threading.local()

        def session() -> requests.Session:
            if not hasattr(local, "s"):
                local.s = requests.Session()
            return local.s

        def submit(_: int = 0) -> str:
            return session().post(f"{base}/pram/rice", json={"inputs": RICE}, timeout=30).json()["job_id"]

        def wait(job_id: str, pause: float = 0.05) -> bool:
            for _ in range(2000):
                if session().get(f"{base}/pram/data", params={"job_id": job_id},
                                 timeout=30).json()["status"] == "SUCCESS":
                    return True
                time.sleep(pause)
            return False

        for _ in range(30):  # warm up every process
            wait(submit(), 0.002)
        idle = []
        for _ in range(args.idle):
            start = time.perf_counter()
            if wait(submit(), 0.002):
                idle.append(time.perf_counter() - start)
        if args.pyspy:
            Path(args.pyspy).mkdir(parents=True, exist_ok=True)
            spy = str(binary / "py-spy")
            spies = [subprocess.Popen([spy, "record", "--pid", str(p.pid), "--subprocesses", "--gil",
                                       "--format", "raw", "-r", "200", "--nonblocking", "-o",
                                       str(Path(args.pyspy) / f"{name}.txt")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for name, p in (("gateway", web), ("worker", worker))]
            time.sleep(1)
        groups = {"gateway": psutil.Process(web.pid), "worker": psutil.Process(worker.pid),
                  "redis": psutil.Process(redis.pid)}
        before = cpu_seconds(groups)
        rates, lost = [], 0
        with ThreadPoolExecutor(args.threads) as pool:
            for _ in range(args.rounds):
                start = time.perf_counter()
                ids = list(pool.map(submit, range(args.jobs)))
                done = list(pool.map(wait, ids))
                rates.append(sum(done) / (time.perf_counter() - start))
                lost += len(done) - sum(done)
        after = cpu_seconds(groups)
        for s in spies:
            s.send_signal(signal.SIGINT)
            s.wait(60)
        jobs = args.rounds * args.jobs
        print(f"idle round trip p50 {statistics.median(idle) * 1e3:.2f} ms; jobs/s per round: "
              + ", ".join(f"{r:.1f}" for r in rates) + f"; not finished: {lost}")
        print(f"CPU time per job ({jobs} jobs, {args.threads} client threads):")
        for key in after:
            print(f"  {key:22} {(after[key] - before.get(key, 0.0)) / jobs * 1e3:6.2f} ms")
        print(f"  {'total':22} {sum(after[k] - before.get(k, 0.0) for k in after) / jobs * 1e3:6.2f} ms")
    finally:
        for proc in (web, worker):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, worker):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    main()
