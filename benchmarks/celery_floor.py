#!/usr/bin/env python3
"""The engine's own cost: CPU time per task of a bare Celery worker, for comparison
with ``benchmarks/cpu_per_job.py``'s figures for the project's worker.

Starts the side-by-side harness's raw-Celery anchor (``celery_anchor_app`` from
``../shared/bench``: a trivial task, Redis broker and result backend) with the
settings the project's worker uses (``task_acks_late``, prefetch multiplier 1,
``--concurrency 2 --pool prefork``; ``--pool`` another pool) on a private Redis, queues ``-n`` tasks with
``apply_async``, waits until the queue and the unacknowledged set are empty, and
prints the CPU time (user + system, from /proc) of the worker's main process (the
consumer), of its pool processes and of its Redis per task, and tasks/s. What the
project's worker spends beyond these figures is its own work on a job (claim, run, store).
Redis's share is printed apart: the anchor keeps each task's result in it (a result
backend the project does not use), and the client's ``apply_async`` is Redis work too.

    /tmp/anchors-venv/bin/python benchmarks/celery_floor.py [-n 2000] [--rounds 3]
"""
import argparse
import os
import statistics
import sys
import time

ANCHORS = os.environ.get("ANCHORS_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "bench")
sys.path.insert(0, ANCHORS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the harness's helpers)
from request_floor import cpu_split  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"],
                    help="the worker's pool (the project's is prefork; solo runs tasks in the consumer)")
    args = ap.parse_args()
    common.install_signal_cleanup()
    scratch = common.scratch_dir("celery-floor")
    try:
        redis_proc, port = common.start_redis(scratch)
        url = f"redis://{common.HOST}:{port}/0"
        env = common.child_env(ANCHORS_REDIS_URL=url, ANCHORS_ACKS_LATE="1", ANCHORS_PREFETCH="1")
        celery_bin = os.path.join(os.path.dirname(sys.executable), "celery")
        worker = common.start([celery_bin, "-A", "celery_anchor_app", "worker", "--concurrency", "2",
                               "--pool", args.pool, "-Q", "floor", "--without-gossip", "--without-mingle",
                               "--loglevel", "WARNING"], os.path.join(scratch, "worker.log"), env=env,
                              cwd=ANCHORS)
        os.environ["ANCHORS_REDIS_URL"] = url
        import celery_anchor_app
        import redis
        broker = redis.Redis(host=common.HOST, port=port)
        celery_anchor_app.mul.apply_async((2, 3), queue="floor").get(timeout=60)  # worker up and warm
        rows = []
        for _ in range(args.rounds):
            main0, pool0 = cpu_split(worker.pid)
            redis0 = sum(cpu_split(redis_proc.pid))
            start = time.perf_counter()
            for _ in range(args.n):
                celery_anchor_app.mul.apply_async((2, 3), queue="floor")
            deadline = time.monotonic() + 300
            while (broker.llen("floor") or broker.hlen("unacked")) and time.monotonic() < deadline:
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
            time.sleep(0.3)  # the last acknowledgement's bookkeeping
            main1, pool1 = cpu_split(worker.pid)
            redis1 = sum(cpu_split(redis_proc.pid))
            rows.append(((main1 - main0) / args.n, (pool1 - pool0) / args.n, args.n / elapsed,
                         (redis1 - redis0) / args.n))
            print(f"  round: consumer {rows[-1][0] * 1e3:.3f} ms, pool {rows[-1][1] * 1e3:.3f} ms per task; "
                  f"{rows[-1][2]:.0f} tasks/s; redis {rows[-1][3] * 1e3:.3f} ms per task", flush=True)
        print(f"raw Celery worker (acks_late, prefetch 1, --pool {args.pool}), {args.n} tasks x "
              f"{args.rounds} rounds, medians: consumer {statistics.median(r[0] for r in rows) * 1e3:.3f} ms, "
              f"pool {statistics.median(r[1] for r in rows) * 1e3:.3f} ms of CPU per task; "
              f"{statistics.median(r[2] for r in rows):.0f} tasks/s; "
              f"its Redis {statistics.median(r[3] for r in rows) * 1e3:.3f} ms per task")
    finally:
        common.stop_all()
        common.cleanup_scratch(scratch, True)


if __name__ == "__main__":
    main()
