"""Peak memory per process of one large PRAM batch, end to end.

Starts ``qed up`` (Redis, one worker, gunicorn), POSTs a batch in ubertool's
column form, polls until it is finished, reads the whole result, and samples
the resident set size (RSS) of every process of the stack meanwhile. Prints
the peak per process (gateway = gunicorn, worker = celery) and the time taken.

    .venv/bin/python benchmarks/bench_memory.py [--model kabam] [--rows 100000] [--csv]

``--csv`` also downloads the results as CSV (GET /jobs/<id>/results?f=csv), streamed.

The aim: a kabam batch of 100,000 rows with no process above 1 GB.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pram import batch  # noqa: E402
from benchmarks.stack import wait_ready  # noqa: E402
from flask_qed.embedded import free_port  # noqa: E402


def role(proc: psutil.Process) -> str:
    line = " ".join(proc.cmdline())
    if "gunicorn" in line:
        return "gateway (gunicorn master)" if proc.parent() and "flask_qed.cli" in " ".join(
            proc.parent().cmdline()) else "gateway (gunicorn worker)"
    if "celery" in line:
        return "worker (celery main)" if "flask_qed.cli" in " ".join(proc.parent().cmdline()) \
            else "worker (pool process)"
    if "redis-server" in line:
        return "redis"
    return "qed up"


class Sampler(threading.Thread):
    """Peak RSS of a process tree, sampled every 0.1 s."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peaks, self.stop = psutil.Process(root), {}, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    key = (proc.pid, role(proc))
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.peaks[key] = max(self.peaks.get(key, 0), rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="kabam")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv", action="store_true", help="also download the results as CSV")
    args = parser.parse_args()
    inputs = batch(args.model, args.rows)
    with tempfile.TemporaryDirectory() as instance:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
        env.update(QED_INSTANCE_PATH=instance, GUNICORN_WORKERS="1", GUNICORN_TIMEOUT="900",
                   QED_MAX_CONTENT_LENGTH=str(2 * 1024 ** 3))
        proc = subprocess.Popen([sys.executable, "-m", "flask_qed.cli", "up", "--port", str(port),
                                 "--concurrency", "1"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc)
            sampler = Sampler(proc.pid)
            sampler.start()
            started = time.perf_counter()
            response = requests.post(f"{base}/pram/{args.model}", json={"inputs": inputs}, timeout=900)
            del inputs
            if response.status_code != 202:
                print(f"refused: {response.status_code} {response.text[:300]}")
                return
            url = base + response.headers["Location"]
            while True:
                record = requests.get(url.replace("/pram/data?job_id=", "/jobs/"), timeout=900)
                status = record.json()["status"] if record.headers.get("content-length", "1") != "0" else "?"
                if status in ("SUCCESS", "FAILURE", "REVOKED"):
                    break
                time.sleep(0.5)
            size = len(record.content)
            csv_size = 0
            if args.csv and status == "SUCCESS":
                with requests.get(url.replace("/pram/data?job_id=", "/jobs/") + "/results?f=csv",
                                  timeout=900, stream=True) as table:
                    csv_size = sum(len(piece) for piece in table.iter_content(1 << 20))
            elapsed = time.perf_counter() - started
            sampler.stop.set()
            sampler.join()
            print(f"{args.model}, {args.rows:,} rows: {status} in {elapsed:.1f} s, result {size / 1e6:.0f} MB"
                  + (f", CSV {csv_size / 1e6:.0f} MB" if args.csv else ""))
            print(f"{'process':28} {'pid':>8} {'peak RSS (MB)':>14}")
            for (pid, name), rss in sorted(sampler.peaks.items(), key=lambda kv: -kv[1]):
                print(f"{name:28} {pid:8d} {rss / 1e6:14.0f}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)


if __name__ == "__main__":
    main()
