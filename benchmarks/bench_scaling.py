"""How the gateway's cost grows with work, on this machine.

Three parts, each against a real stack started by ``qed up`` (embedded Redis,
gunicorn, Celery worker, SQLite store in a scratch folder):

1. **Workers.** Jobs per second end to end for 1, 2 and 4 worker processes
   (``qed up --concurrency N``): ``--jobs`` single-run rice jobs submitted from
   ``--threads`` client threads, then each polled (``GET /jobs/<id>/status``)
   until it is finished.
2. **Batch size.** One batch of 1,000 / 10,000 / 100,000 runs of rice and of
   kabam (EPA's QA/QC cases, cycled): the time to compute it directly
   (validation plus science in this process, what a worker does), end to end
   (POST, poll, read the whole result), their ratio, and the peak resident
   memory of each process of the stack meanwhile.
3. **A full store.** ``GET /jobs/<id>/status`` and ``/<app>/data?job_id=`` latency
   over HTTP with ``--store-jobs`` (100,000) finished jobs in the store.

    .venv/bin/python benchmarks/bench_scaling.py                 # everything (~5 min)
    .venv/bin/python benchmarks/bench_scaling.py --parts workers --workers 1,2
    .venv/bin/python benchmarks/bench_scaling.py --parts batches --rows 1000,10000 --models rice

Prints one table per part.
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
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_memory import Sampler  # noqa: E402
from benchmarks.bench_pram import batch  # noqa: E402
from benchmarks.stack import wait_ready  # noqa: E402
from flask_qed.embedded import free_port  # noqa: E402

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}
TERMINAL = ("SUCCESS", "FAILURE", "REVOKED")


class Stack:
    """``qed up`` in a scratch folder, stopped (SIGTERM, then waited for) on exit."""

    def __init__(self, concurrency: int = 2, store: str | None = None, **env: str):
        self.instance = tempfile.mkdtemp(prefix="qed-bench-scaling-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
        self.env.update(QED_INSTANCE_PATH=self.instance, QED_RATE_LIMIT="off",
                        QED_MAX_ACTIVE_JOBS="1000000", QED_MAX_ACTIVE_ROWS="100000000",
                        QED_MAX_CONTENT_LENGTH=str(1 << 30), GUNICORN_TIMEOUT="900", **env)
        if store:
            self.env["QED_STORE_URL"] = f"sqlite:///{store}"
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Stack":
        self.proc = subprocess.Popen([sys.executable, "-m", "flask_qed.cli", "up", "--port", str(self.port),
                                      "--concurrency", str(self.concurrency)], cwd=ROOT, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(self.base, self.proc, timeout=120)
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- 1. workers --------------------------------------------------------------------------
def throughput(stack: Stack, jobs: int, threads: int) -> dict[str, float]:
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    def submit(_: int) -> str:
        answer = session().post(f"{stack.base}/pram/rice", json={"inputs": RICE}, timeout=60)
        answer.raise_for_status()
        return answer.json()["job_id"]

    def wait(job_id: str) -> str:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = session().get(f"{stack.base}/jobs/{job_id}/status", timeout=60).json()["status"]
            if status in TERMINAL:
                return status
            time.sleep(0.05)
        return "timeout"

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(submit, range(20)))  # warm every process up
        start = time.perf_counter()
        ids = list(pool.map(submit, range(jobs)))
        submitted = time.perf_counter() - start
        states = list(pool.map(wait, ids))
        elapsed = time.perf_counter() - start
    return {"jobs_per_s": jobs / elapsed, "submit_per_s": jobs / submitted,
            "ok": sum(s == "SUCCESS" for s in states)}


def part_workers(args: argparse.Namespace) -> None:
    print(f"\n1. Workers: {args.jobs} single-run rice jobs from {args.threads} client threads, end to end")
    print(f"{'worker processes':>17} {'jobs/s':>8} {'submits/s':>10} {'succeeded':>10}")
    for n in args.workers:
        with Stack(concurrency=n) as stack:
            rates = [throughput(stack, args.jobs, args.threads) for _ in range(args.repeat)]
        best = statistics.median(r["jobs_per_s"] for r in rates)
        subs = statistics.median(r["submit_per_s"] for r in rates)
        ok = min(r["ok"] for r in rates)
        print(f"{n:>17} {best:8.1f} {subs:10.1f} {ok:>6}/{args.jobs}", flush=True)


# -- 2. batch size -----------------------------------------------------------------------
def direct(model_name: str, inputs: dict[str, Any]) -> float:
    """Validate and compute in this process, as a worker does (packed form)."""
    from flask_qed.plugins import discover
    model = next(a for a in discover() if a.name == "pram").model(model_name)
    from flask_qed.model import Columns
    from flask_qed.jsonutil import dumps, loads_lazy
    text = dumps({"inputs": inputs}).decode()
    start = time.perf_counter()
    body = loads_lazy(text, Columns.from_lazy)
    packed, _ = model.validate_packed(body["inputs"])
    model.run_packed(packed)
    return time.perf_counter() - start


def end_to_end(stack: Stack, model: str, inputs: dict[str, Any]) -> tuple[str, float, int, dict[str, int]]:
    assert stack.proc is not None
    sampler = Sampler(stack.proc.pid)
    sampler.start()
    with requests.Session() as http:
        start = time.perf_counter()
        answer = http.post(f"{stack.base}/pram/{model}", json={"inputs": inputs}, timeout=900)
        answer.raise_for_status()
        job_id = answer.json()["job_id"]
        while True:
            status = http.get(f"{stack.base}/jobs/{job_id}/status", timeout=900).json()["status"]
            if status in TERMINAL:
                break
            time.sleep(0.05)
        size = 0
        with http.get(f"{stack.base}/jobs/{job_id}", timeout=900, stream=True) as whole:
            for piece in whole.iter_content(1 << 20):
                size += len(piece)
        elapsed = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    peaks: dict[str, int] = {}
    for (_, role), rss in sampler.peaks.items():
        peaks[role] = max(peaks.get(role, 0), rss)
    return status, elapsed, size, peaks


def part_batches(args: argparse.Namespace) -> None:
    print("\n2. Batch size: one batch, computed directly vs end to end (POST, poll, read the whole result)")
    roles = ("gateway (gunicorn worker)", "worker (pool process)", "worker (celery main)", "redis")
    print(f"{'model':>6} {'rows':>8} {'direct s':>9} {'e2e s':>7} {'ratio':>6} {'result MB':>10}  "
          + "  ".join(f"{r.split(' (')[0] + (' ' + r.split('(')[1][:-1] if '(' in r else ''):>16}"
                      for r in roles) + "   (peak RSS, MB)")
    with Stack(concurrency=1, GUNICORN_WORKERS="1") as stack:
        for model in args.models:
            for rows in args.rows:
                inputs = batch(model, rows)
                took = statistics.median(direct(model, inputs) for _ in range(args.repeat))
                runs = [end_to_end(stack, model, inputs) for _ in range(args.repeat)]
                status = runs[0][0]
                e2e = statistics.median(r[1] for r in runs)
                size = runs[0][2]
                peaks = {role: max(r[3].get(role, 0) for r in runs) for role in roles}
                print(f"{model:>6} {rows:>8,} {took:9.2f} {e2e:7.2f} {e2e / took:6.2f} {size / 1e6:10.1f}  "
                      + "  ".join(f"{peaks[r] / 1e6:16.0f}" for r in roles)
                      + ("" if status == "SUCCESS" else f"   {status}"), flush=True)
                del inputs


# -- 3. a full store -----------------------------------------------------------------------
def fill(path: Path, count: int) -> list[str]:
    from flask_qed.stores import open_store
    store = open_store(f"sqlite:///{path}", 86400)
    ids = []
    data = {"inputs": RICE, "outputs": {"out_cw": {"0": 27.5184}}}
    for i in range(count):
        job_id = str(uuid.uuid4())
        store.create(job_id, {"app": "pram", "model": "rice", "version": "1.0", "task": "pram.rice",
                              "status": "SUCCESS", "progress": 100, "owner": f"addr:10.0.{i % 250}.1",
                              "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1.7e9 + i)),
                              "rows": 1, "data": data})
        ids.append(job_id)
    store.close()
    return ids


def part_store(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="qed-bench-store-"))
    path = folder / "jobs.sqlite3"
    start = time.perf_counter()
    ids = fill(path, args.store_jobs)
    print(f"\n3. A full store: {args.store_jobs:,} finished jobs (filled in {time.perf_counter() - start:.0f} s); "
          f"latency over HTTP, one client, {args.polls} requests each")
    with Stack(store=str(path)) as stack, requests.Session() as http:
        for label, url in (("GET /jobs/<id>/status", "/jobs/{}/status"),
                           ("GET /pram/data?job_id=<id>", "/pram/data?job_id={}"),
                           ("GET /jobs?limit=50", "/jobs?limit=50")):
            times = []
            for i in range(args.polls):
                t0 = time.perf_counter()
                answer = http.get(stack.base + url.format(ids[(i * 7919) % len(ids)]), timeout=30)
                times.append(time.perf_counter() - t0)
                assert answer.status_code == 200, answer.text
            print(f"{label:30} p50 {statistics.median(times) * 1e3:6.2f} ms   "
                  f"p95 {_percentile(times, 0.95) * 1e3:6.2f} ms")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="workers,batches,store")
    ap.add_argument("--workers", type=_ints, default=[1, 2, 4])
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rows", type=_ints, default=[1000, 10000, 100000])
    ap.add_argument("--models", type=lambda s: s.split(","), default=["rice", "kabam"])
    ap.add_argument("--store-jobs", type=int, default=100_000)
    ap.add_argument("--polls", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=1, help="rounds per measurement (the median is shown)")
    args = ap.parse_args()
    parts = args.parts.split(",")
    print(f"bench_scaling on {os.cpu_count()} CPUs")
    if "workers" in parts:
        part_workers(args)
    if "batches" in parts:
        part_batches(args)
    if "store" in parts:
        part_store(args)


if __name__ == "__main__":
    main()
