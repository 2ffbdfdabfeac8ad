"""The floor of the design: server CPU per job of one HTTP request per job, woken at once,
with none of the project's work in it, under the load of ``benchmarks/wrk_cpu.py``.

Starts, in a scratch folder, a private Redis, a bare Celery worker (``celery_app`` below:
``--concurrency 2 --pool prefork``, acks late, prefetch multiplier 1, results ignored, the
stock kombu Redis transport, JSON) and a bare gateway (``web_app`` below) under gunicorn
with the project's settings (``flask_qed.gunicorn_conf``, gevent, 2 processes; the settings
module checks ``QED_BROKER_URL`` and a scratch SQLite ``QED_STORE_URL`` at start, so both
are set; nothing else of the project runs). ``POST /pram/rice`` reads the JSON body, makes
a job id, queues ``floor.run(job_id, address)`` with ``send_task`` and waits up to 10 s for
its notice: as ``flask_qed.jobs.notices`` does, one subscription per process
(``floor:finished:<address>``) on a thread of its own (a greenlet under gevent), a blocking
read per notice waking the request's event; the task PUBLISHes the id on a connection its
pool process holds. The answer is 200 with ``"status": "SUCCESS"`` and the inputs echoed
(202 PENDING if no notice came). No validation, no store, no fingerprint, no cache.
``GET /healthz`` (also ``/readyz``, for ``benchmarks.stack.wait_ready``) answers ok.

Per round: 3 s of warm-up; ``wrk -t2 -c8 -d<duration>s`` with ``benchmarks/wrk_jobs.lua``,
the CPU time (user + system, from /proc) of the gateway's, the worker's and Redis's processes
divided by the finished answers (``other``: answers not finished, 0 when all is well), the
worker's split into its main process (Celery's consumer) and its pool (the task); ``wrk
-t1 -c1`` for 5 s, the idle round trip (p50); ``wrk -t2 -c8`` GETs ``/healthz`` for 5 s,
the gateway's CPU per bare request. One JSON line per round, then the medians.

    .venv/bin/python benchmarks/design_floor.py [--rounds 3] [--duration 10]
"""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import redis
from celery import Celery
from flask import Flask, request

BROKER_URL = os.environ.get("QED_BROKER_URL", "redis://127.0.0.1:6379/0")
WAIT = 10.0  # seconds a request waits for its job's notice
CHANNEL = "floor:finished"

celery_app = Celery("floor", broker=BROKER_URL)
celery_app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True,
                       task_serializer="json", accept_content=["json"])
_PUBLISHERS: dict[int, redis.connection.Connection] = {}  # pid -> its held connection


@celery_app.task(name="floor.run")
def run(job_id: str, notify: str) -> None:
    """Announce the job's end on the channel of the process that waits for it."""
    conn = _PUBLISHERS.get(os.getpid())
    if conn is None:
        conn = _PUBLISHERS[os.getpid()] = redis.ConnectionPool.from_url(BROKER_URL).make_connection()
    conn.send_command("PUBLISH", f"{CHANNEL}:{notify}", job_id)
    conn.read_response()


class Listener:
    """This process's subscription: a blocking read per notice sets the waiting request's event."""

    def __init__(self, url: str) -> None:
        self.address = uuid.uuid4().hex[:16]
        self._waiting: dict[str, threading.Event] = {}
        subscribed = threading.Event()
        threading.Thread(target=self._run, args=(url, subscribed), name="floor-notices", daemon=True).start()
        if not subscribed.wait(10):
            raise RuntimeError("no subscription to the notices")

    @contextmanager
    def watch(self, job_id: str) -> Iterator[threading.Event]:
        """An event set when ``job_id``'s notice arrives, for the time of the block."""
        event = self._waiting[job_id] = threading.Event()
        try:
            yield event
        finally:
            del self._waiting[job_id]

    def _run(self, url: str, subscribed: threading.Event) -> None:
        pool = redis.ConnectionPool.from_url(url)
        conn = pool.connection_class(**{**pool.connection_kwargs, "protocol": 2, "socket_timeout": None})
        conn.connect()
        conn.send_command("SUBSCRIBE", f"{CHANNEL}:{self.address}")
        while True:
            kind, _, data = conn.read_response()
            if kind == b"message":
                event = self._waiting.get(data.decode())
                if event is not None:
                    event.set()
            elif kind == b"subscribe":
                subscribed.set()


_LISTENERS: dict[int, Listener] = {}  # pid -> its listener, made by its first request
_LOCK = threading.Lock()


def listener() -> Listener:
    pid = os.getpid()
    if pid not in _LISTENERS:
        with _LOCK:
            if pid not in _LISTENERS:
                _LISTENERS[pid] = Listener(BROKER_URL)
    return _LISTENERS[pid]


web_app = Flask("design_floor")


@web_app.get("/healthz")
@web_app.get("/readyz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@web_app.post("/pram/rice")
def rice() -> tuple[dict[str, Any], int]:
    inputs = (request.get_json() or {}).get("inputs", {})
    job_id = str(uuid.uuid4())
    ears = listener()
    with ears.watch(job_id) as finished:
        celery_app.send_task("floor.run", args=[job_id, ears.address])
        if finished.wait(WAIT):
            return {"job_id": job_id, "status": "SUCCESS", "data": inputs}, 200
    return {"job_id": job_id, "status": "PENDING"}, 202


def main() -> None:
    # The gateway and the worker import this module too: what only the runner needs is imported here.
    import argparse
    import json
    import shutil
    import signal
    import statistics
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import psutil

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from benchmarks.stack import wait_ready
    from benchmarks.wrk_cpu import LUA, cpu_seconds, requests_done, wrk
    from flask_qed.embedded import free_port, start_redis

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # cleaned up below, as on Ctrl-C

    scratch = Path(tempfile.mkdtemp(prefix="qed-design-floor-"))
    redis_proc, url = start_redis(scratch / "redis", tied=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_BROKER_URL=url, QED_STORE_URL=f"sqlite:///{scratch}/jobs.sqlite3", QED_INSTANCE_PATH=str(scratch))
    binary = Path(sys.executable).parent
    logs = open(scratch / "stack.log", "ab")
    procs = [subprocess.Popen(cmd, cwd=root, env=env, stdout=logs, stderr=logs) for cmd in (
        [sys.executable, "-m", "celery", "-A", "benchmarks.design_floor:celery_app", "worker", "--concurrency", "2",
         "--pool", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
        [str(binary / "gunicorn"), "-c", "python:flask_qed.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--worker-class", "gevent", "benchmarks.design_floor:web_app"])]
    worker, web = procs
    failed = True
    try:
        wait_ready(base, web)
        groups = {"gateway": psutil.Process(web.pid), "worker": psutil.Process(worker.pid),
                  "redis": psutil.Process(redis_proc.pid)}
        rows = []
        for _ in range(args.rounds):
            wrk(base, 2, 8, 3, LUA)  # warm up
            before, main_before = cpu_seconds(groups), cpu_seconds({"worker_main": groups["worker"]}, children=False)
            load, _ = wrk(base, 2, 8, args.duration, LUA)
            after, main_after = cpu_seconds(groups), cpu_seconds({"worker_main": groups["worker"]}, children=False)
            jobs = max(load.get("finished", 0), 1)
            cpu = {k: (after[k] - before[k]) / jobs * 1e3 for k in groups}
            main = (main_after["worker_main"] - main_before["worker_main"]) / jobs * 1e3
            idle, _ = wrk(base, 1, 1, 5, LUA)
            before = cpu_seconds({"gateway": groups["gateway"]})
            _, out = wrk(base, 2, 8, 5, None, "/healthz")
            after = cpu_seconds({"gateway": groups["gateway"]})
            bare = max(requests_done(out), 1)
            rows.append({"jobs_per_s": load.get("jobs_per_s", 0.0), "other": load.get("other", 0),
                         "p50_ms": load.get("p50_ms"), "idle_p50_ms": idle.get("p50_ms"),
                         **{f"cpu_{k}_ms": v for k, v in cpu.items()}, "cpu_total_ms": sum(cpu.values()),
                         "cpu_worker_main_ms": main, "cpu_worker_pool_ms": cpu["worker"] - main,
                         "healthz_per_s": bare / 5,
                         "cpu_healthz_ms": (after["gateway"] - before["gateway"]) / bare * 1e3})
            print(json.dumps({"design_floor": True, **{k: round(v, 3) if isinstance(v, float) else v
                                                       for k, v in rows[-1].items()}}), flush=True)
        print(f"median of {args.rounds} rounds (design floor, gevent):")
        for key in rows[0]:
            values = [r[key] for r in rows if r.get(key) is not None]
            if values:
                print(f"  {key:26} {statistics.median(values):9.2f}")
        failed = False
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis_proc.terminate()
        redis_proc.wait(10)
        logs.close()
        if failed:
            print(f"the stack's log: {scratch / 'stack.log'}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
