"""What a worker's main process keeps of the jobs it ran, with a time limit on their task.

Celery's prefork pool sets a timer for every task with a time limit and cancels it when
the task ends; kombu keeps a cancelled timer until the time it was set for (the soft
limit: 3,300 s by default), so the worker's main process grows with every job of the last
hour. ``flask_qed.timers.CompactTimers`` takes the cancelled ones out every minute.

Against a private redis-server, twice: a Celery worker (2 prefork processes, acks late,
prefetch 1, the project's default soft and hard limits on the task) without the step and
with it (compacting every ``--interval`` s here, to keep the run short). ``--rounds`` times,
``-n`` tasks are queued and the worker runs them all; the main process's RSS is read before
and after each round (its growth: Python keeps what it freed for reuse, so a bounded heap
shows as growth that stops).

    .venv/bin/python benchmarks/bench_timer_heap.py [-n 40000] [--rounds 3] [--interval 5]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celery import Celery  # noqa: E402

from flask_qed import timers  # noqa: E402

app = Celery("bench_timer_heap", broker=os.environ.get("BENCH_BROKER"))  # set before the worker starts
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True,
                worker_hijack_root_logger=False)
if os.environ.get("BENCH_COMPACT") == "1":
    timers.INTERVAL = float(os.environ.get("BENCH_INTERVAL", "5"))
    app.steps["worker"].add(timers.CompactTimers)


@app.task(name="bench.noop", soft_time_limit=3300, time_limit=3600)
def noop(n: int) -> None:
    return None


def one_way(url: str, compact: bool, n: int, interval: float, rounds: int) -> dict[str, Any]:
    import psutil
    import redis
    env = {**os.environ, "BENCH_BROKER": url, "BENCH_COMPACT": "1" if compact else "0",
           "BENCH_INTERVAL": str(interval), "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([str(Path(sys.executable).parent / "celery"), "-A", "benchmarks.bench_timer_heap",
                               "worker", "-c", "2", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis.from_url(url)
        main = psutil.Process(worker.pid)
        noop.apply_async(args=[0])  # started and warm
        deadline = time.time() + 60
        while client.llen("celery") and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(3)
        before = main.memory_info().rss
        after: list[float] = []
        took = 0.0
        for _ in range(rounds):
            with app.producer_or_acquire() as producer:
                start = time.time()
                for i in range(n):
                    noop.apply_async(args=[i], producer=producer)
            while client.llen("celery"):
                time.sleep(0.2)
            took += time.time() - start
            time.sleep(interval + 2)  # a compaction has run since the last job
            after.append((main.memory_info().rss - before) / 1e6)
        return {"before": before / 1e6, "after": after, "rate": n * rounds / took}
    finally:
        worker.terminate()
        worker.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=40_000)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from flask_qed.embedded import start_redis
    scratch = Path(tempfile.mkdtemp(prefix="qed-timers-"))
    server, url = start_redis(scratch / "redis", tied=True)
    app.conf.broker_url = url  # the private server's: nothing is queued before this
    try:
        print(f"{args.rounds} rounds of {args.n} tasks with a soft time limit of 3,300 s; "
              "the worker's main process, RSS grown since it started (MB) after each round:")
        for compact in (False, True):
            found = one_way(url, compact, args.n, args.interval, args.rounds)
            label = f"compacted every {args.interval:g} s" if compact else "kept (Celery as it is)"
            grown = "  ".join(f"+{g:.1f}" for g in found["after"])
            print(f"  {label:26s} {grown}   (from {found['before']:.1f}; {found['rate']:.0f} tasks/s)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
