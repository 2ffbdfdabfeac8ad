#!/usr/bin/env python3
"""The floor under the side-by-side benchmark's submit latency: the same client, the
same stack, requests that do no work.

Starts the stack as ``benchmarks/gateway_bench.py`` does (a private Redis, the
Celery worker, gunicorn with ``flask_qed.gunicorn_conf``, the SQLite store) and
drives it with the harness's own client (``jobload.run``, 8 threads, one
``requests.Session`` each) three ways, ``-n`` requests each:

* ``GET /healthz`` (no store, no broker);
* ``POST /pram/rice`` with an input out of range (parsed and validated, answered
  422, nothing stored or queued);
* ``POST /pram/rice`` as the benchmark sends it (validated, stored and queued: 202).

Prints the p50 / p95 latency and the rate of each, and the CPU time (user + system,
from /proc) each group of processes spent per request: the client (this process),
gunicorn's processes, the Celery worker's and Redis. With 8 requests in flight, p50
is about 8 divided by the rate, whatever the server does; the first line is what the
client, gunicorn and Flask cost with nothing else to do.

    /tmp/anchors-venv/bin/python benchmarks/request_floor.py [-n 600]
"""
import argparse
import os
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_bench  # noqa: E402  (adds the harness folder to sys.path)
from gateway_bench import RICE, common, jobload  # noqa: E402


def cpu_split(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of pid and of its descendants, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    main = children = 0.0
    for p in [pid] + [d for d, _ in common.descendants(pid)]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if p == pid:
            main += seconds
        else:
            children += seconds
    return main, children


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of pid and its descendants together, in seconds."""
    return sum(cpu_split(pid))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", default=os.environ.get("QED_PROJECT", os.getcwd()))
    ap.add_argument("-n", type=int, default=600)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    venv = gateway_bench.default_venv(args.project)
    if not venv:
        raise SystemExit("no project venv (.venv with the project installed)")
    common.install_signal_cleanup()
    scratch = common.scratch_dir("floor")
    try:
        redis_proc, rport = common.start_redis(scratch)
        port = common.free_port()
        base = f"http://{common.HOST}:{port}"
        env = common.child_env(QED_BROKER_URL=f"redis://{common.HOST}:{rport}/0",
                               QED_STORE_URL=f"sqlite:///{scratch}/jobs.sqlite3", QED_INSTANCE_PATH=scratch,
                               QED_RATE_LIMIT="off", QED_MAX_ACTIVE_JOBS="100000")
        vbin = lambda name: os.path.join(venv, "bin", name)  # noqa: E731
        worker = common.start([vbin("celery"), "-A", "celery_cgi", "worker", "--concurrency", "2", "--pool", "prefork",
                      "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                     os.path.join(scratch, "worker.log"), env=env, cwd=args.project)
        web = common.start([vbin("gunicorn"), "-c", "python:flask_qed.gunicorn_conf", "--bind",
                            f"{common.HOST}:{port}", "flask_cgi:app"], os.path.join(scratch, "web.log"),
                           env=env, cwd=args.project)
        common.wait_port(port, 60, web)
        time.sleep(1)
        bad = dict(RICE, osed=2.0)  # a porosity above 1: a 422
        ways = {
            "GET /healthz": (lambda s: s.get(f"{base}/healthz", timeout=30), 200),
            "POST /pram/rice, invalid (422)": (lambda s: s.post(f"{base}/pram/rice", json={"inputs": bad},
                                                                timeout=30), 422),
            "POST /pram/rice (202)": (lambda s: s.post(f"{base}/pram/rice", json={"inputs": RICE}, timeout=30), 202),
        }
        print(f"{args.n} requests from {args.threads} threads each way:")
        for name, (send, expected) in ways.items():
            def submit_one(sess, send=send, expected=expected):
                r = send(sess)
                return (None, f"HTTP {r.status_code}") if r.status_code != expected else ("ok", None)
            jobload.run(50, args.threads, submit_one, lambda *_: ("successful", None, None))  # warm-up
            procs = {"gunicorn": web.pid, "worker": worker.pid, "redis": redis_proc.pid}
            before = {k: cpu_seconds(v) for k, v in procs.items()}
            client0 = sum(os.times()[:2])
            stats, _ = jobload.run(args.n, args.threads, submit_one, lambda *_: ("successful", None, None))
            if expected == 202:  # the jobs' own CPU in the worker, up to the last one
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and redis.Redis(port=rport).llen("celery"):
                    time.sleep(0.05)
                time.sleep(0.5)
            cpu = {"client": sum(os.times()[:2]) - client0}
            cpu.update({k: cpu_seconds(v) - before[k] for k, v in procs.items()})
            print(f"  {name:32s} p50 {stats['submit_p50_ms']:6.2f} ms  p95 {stats['submit_p95_ms']:6.2f} ms  "
                  f"{stats['submit_per_s']:7.1f}/s  unexpected answers: {stats['failed_or_lost']}")
            print("  " + " " * 32 + " CPU per request: " + ", ".join(
                f"{k} {1000 * v / args.n:.2f} ms" for k, v in cpu.items()))
    finally:
        common.stop_all()
        common.cleanup_scratch(scratch, True)


if __name__ == "__main__":
    main()
