"""Whole jobs under wrk, on a chosen HTTP server: jobs/s, idle latency and server CPU per job.

Starts a private Redis, ``celery -A celery_cgi worker --concurrency 2`` and the
gateway (2 processes) under ``--server`` (``gevent`` or ``gthread``: gunicorn with
the project's settings; ``granian``: granian's WSGI mode), with a SQLite store.
Then, per round:

* ``wrk -t2 -c8`` POSTs whole jobs (``benchmarks/wrk_jobs.lua``: ``Prefer: wait``,
  only finished answers counted; each request a new job, or with ``--same-inputs``
  the same job, answered from the result cache) for ``--duration`` seconds, and the CPU time
  (user + system, from /proc) the gateway, the worker and Redis spent meanwhile is
  divided by the finished jobs: the server's CPU per job, client excluded;
* ``wrk -t1 -c1`` the same for 5 s: the idle round trip (p50);
* with ``--floor``, ``wrk -t2 -c8`` GETs ``/healthz`` for 5 s: the chosen server's
  CPU per bare request (the gateway's processes only);
* with ``--parts``, where the gateway's CPU per job goes, each for 5 s under ``wrk -t2
  -c8`` (the gateway's processes only): ``GET /healthz``, ``GET /pram/data?job_id=`` of a
  finished job (a record read and answered), ``POST /pram/rice`` without ``Prefer`` (the
  submission alone: validated, looked up, written, queued, answered 202; then the worker
  is left to empty the queue before the next load); and the worker's CPU per job in the
  main load split into its main process (Celery's consumer) and its pool (the task);
* with ``--syscalls`` (first round; Linux ``perf``, as root), the system calls the
  gateway's and the worker's processes made per job, by kind.

A bare Celery task's CPU (the other half of the floor) is
``/tmp/anchors-venv/bin/python benchmarks/celery_floor.py``.

    .venv/bin/python benchmarks/wrk_cpu.py --server gevent --rounds 3 --floor
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
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

from benchmarks.stack import wait_ready  # noqa: E402
from flask_qed.embedded import free_port, start_redis  # noqa: E402

LUA = ROOT / "benchmarks" / "wrk_jobs.lua"


def server_command(server: str, port: int, binary: Path, processes: int = 2) -> list[str]:
    if server == "granian":
        return [str(binary / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(processes), "--blocking-threads", "16", "--no-ws", "--log-level", "warning",
                "flask_cgi:app"]
    return [str(binary / "gunicorn"), "-c", "python:flask_qed.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
            "--workers", str(processes), "--worker-class", server, "flask_cgi:app"]


def cpu_seconds(groups: dict[str, psutil.Process], system: bool = False,
                children: bool = True) -> dict[str, float]:
    """CPU time (user and system; ``system``: the system's alone) of each group's processes
    (``children``: False, of each group's first process alone)."""
    out: dict[str, float] = {}
    for name, root in groups.items():
        total = 0.0
        for proc in [root, *(root.children(recursive=True) if children else ())]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.system if system else times.user + times.system
        out[name] = total
    return out


def wrk(base: str, threads: int, connections: int, seconds: float, script: Path | None,
        path: str = "/") -> tuple[dict, str]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [base + path], capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    return (json.loads(line) if line else {}), out


def parts(base: str, gateway: psutil.Process, connections: int) -> dict[str, float]:
    """The gateway's CPU per request of a bare GET, a finished job's record read and a
    submission alone (see the module doc), each for 5 s."""
    job = requests.post(base + "/pram/rice", json={"inputs": {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300,
                                                              "dw": 0.1, "osed": 0.509, "kd": 757}},
                        headers={"Prefer": "wait=10"}, timeout=30).json()
    out: dict[str, float] = {}
    for name, path, script in (("healthz", "/healthz", None), ("record", f"/pram/data?job_id={job['job_id']}", None),
                               ("submission", "/pram/rice", LUA)):
        os.environ["WRK_NO_WAIT"] = "1"
        try:
            before = cpu_seconds({"gateway": gateway})
            load, text = wrk(base, 2, connections, 5, script, path)
            after = cpu_seconds({"gateway": gateway})
        finally:
            del os.environ["WRK_NO_WAIT"]
        done = max(load.get("finished", 0) if script else requests_done(text), 1)
        out[f"cpu_gateway_{name}_ms"] = (after["gateway"] - before["gateway"]) / done * 1e3
    while requests.get(base + "/metrics", timeout=10).ok and _queued(base):  # the worker empties the queue
        time.sleep(0.5)
    return out


def _queued(base: str) -> bool:
    """Whether the broker's queue still holds jobs (the gateway's queue depth metric)."""
    text = requests.get(base + "/metrics", timeout=10).text
    match = re.search(r"^qed_queue_depth\{[^}]*\} ([0-9.e+]+)$", text, re.M)
    return bool(match and float(match.group(1)) > 0)


def requests_done(wrk_out: str) -> int:
    match = re.search(r"(\d+) requests in", wrk_out)
    return int(match.group(1)) if match else 0


def guarantees(base: str, gateway: psutil.Process) -> None:
    """What the hardening asks of any server: slow clients do not stall the others; a body
    past the limit is refused without being held; oversized headers and URIs are refused."""
    from benchmarks.slow_clients import run
    report = run(base, connections=200, seconds=20.0)
    print("slow clients:", report.summary().replace("\n", "; "), flush=True)

    stop = threading.Event()
    peak = [0]

    def sample() -> None:
        while not stop.is_set():
            rss = 0
            for proc in [gateway, *gateway.children(recursive=True)]:
                try:
                    rss = max(rss, proc.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            peak[0] = max(peak[0], rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    piece = b"x" * (1 << 20)

    def chunks():
        for _ in range(300):
            yield piece
    try:
        answer = requests.post(base + "/pram/rice", data=chunks(), timeout=120,
                               headers={"Content-Type": "application/json"})
        status = f"{answer.status_code} {answer.text[:80]!r}"
    except requests.RequestException as exc:
        status = f"connection closed ({type(exc).__name__})"
    stop.set()
    sampler.join()
    print(f"300 MiB chunked body: {status}; largest gateway process {peak[0] / 2 ** 20:.0f} MB", flush=True)
    for what, kwargs in (("64 KiB header", {"headers": {"X-Big": "a" * 65536}}),
                         ("64 KiB URI", {"params": {"q": "a" * 65536}})):
        try:
            answer = requests.get(base + "/healthz", timeout=10, **kwargs)
            print(f"{what}: {answer.status_code} {answer.headers.get('Content-Type')} {answer.text[:80]!r}")
        except requests.RequestException as exc:
            print(f"{what}: connection closed ({type(exc).__name__})")


SYSCALLS = ("pread64", "pwrite64", "fcntl", "getpid", "newfstatat", "sendto", "recvfrom", "read", "write",
            "epoll_wait", "poll", "clock_nanosleep", "fdatasync")


def start_counting(groups: dict[str, psutil.Process], scratch: Path) -> dict[str, tuple[subprocess.Popen, Path]]:
    """``perf stat`` on every process of the gateway and of the worker, until stopped."""
    if shutil.which("perf") is None:
        sys.exit("--syscalls needs Linux perf (Debian: linux-perf)")
    events = ",".join(["raw_syscalls:sys_enter", *(f"syscalls:sys_enter_{name}" for name in SYSCALLS)])
    counters = {}
    for name in ("gateway", "worker"):
        pids = ",".join(str(p.pid) for p in [groups[name], *groups[name].children(recursive=True)])
        out = scratch / f"perf-{name}.csv"
        counters[name] = (subprocess.Popen(["perf", "stat", "-x,", "-e", events, "-p", pids, "-o", str(out)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out)
    time.sleep(0.5)
    return counters


def report_syscalls(counters: dict[str, tuple[subprocess.Popen, Path]], jobs: int) -> None:
    """Stop the counters and print each process group's system calls per job."""
    for name, (proc, out) in counters.items():
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        counts = {}
        for line in out.read_text().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].isdigit():
                counts[fields[2].split("sys_enter_")[-1].replace("raw_syscalls:sys_enter", "all")] = int(fields[0])
        per_job = {k: round(v / jobs, 1) for k, v in counts.items()}
        print(json.dumps({"syscalls_per_job": name, **per_job}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", choices=["gevent", "gthread", "granian"], default="gevent")
    ap.add_argument("--gateway-processes", type=int, default=2, help="the gateway's processes (default 2)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--floor", action="store_true", help="also measure a bare GET /healthz per round")
    ap.add_argument("--guarantees", action="store_true",
                    help="also: 200 slow clients while probing, a 300 MiB chunked body, a 64 KiB header and URI")
    ap.add_argument("--same-inputs", action="store_true",
                    help="every request the same job: all but the first answered from the result cache")
    ap.add_argument("--py-spy", dest="pyspy", help="folder for py-spy's collapsed stacks of the first round")
    ap.add_argument("--parts", action="store_true",
                    help="also the gateway's CPU per request of a bare GET, a record read and a submission "
                         "alone, and the worker's split into its consumer and its pool")
    ap.add_argument("--syscalls", action="store_true",
                    help="count the gateway's and the worker's system calls per job in the first round (perf)")
    args = ap.parse_args()
    if args.same_inputs:
        os.environ["WRK_SAME_INPUTS"] = "1"  # read by wrk_jobs.lua
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    scratch = Path(tempfile.mkdtemp(prefix="qed-wrk-"))
    redis, url = start_redis(scratch / "redis", tied=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_BROKER_URL=url, QED_STORE_URL=f"sqlite:///{scratch}/jobs.sqlite3",
               QED_INSTANCE_PATH=str(scratch), QED_RATE_LIMIT="off", QED_MAX_ACTIVE_JOBS="100000",
               QED_MAX_WAITERS="64", QED_REST_WAIT="10", QED_SYNC_WAIT="10",
               PROMETHEUS_MULTIPROC_DIR=str(scratch / "metrics"))
    (scratch / "metrics").mkdir()
    binary = Path(sys.executable).parent
    logs = open(scratch / "stack.log", "ab")
    worker = subprocess.Popen([str(binary / "celery"), "-A", "celery_cgi", "worker", "--concurrency", "2",
                               "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                              cwd=ROOT, env=env, stdout=logs, stderr=logs)
    web = subprocess.Popen(server_command(args.server, port, binary, args.gateway_processes), cwd=ROOT, env=env,
                           stdout=logs, stderr=logs)
    try:
        wait_ready(base, web)
        wrk(base, 2, args.connections, 3, LUA)  # warm every process up
        groups = {"gateway": psutil.Process(web.pid), "worker": psutil.Process(worker.pid),
                  "redis": psutil.Process(redis.pid)}
        rows = []
        for number in range(args.rounds):
            spies = []
            if args.pyspy and number == 0:
                Path(args.pyspy).mkdir(parents=True, exist_ok=True)
                spies = [subprocess.Popen([str(binary / "py-spy"), "record", "--pid", str(p.pid), "--subprocesses",
                                           "--gil", "--format", "raw", "-r", "250", "--nonblocking", "-o",
                                           str(Path(args.pyspy) / f"{name}.txt")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for name, p in (("gateway", web), ("worker", worker))]
                time.sleep(1)
            counters = start_counting(groups, scratch) if args.syscalls and number == 0 else {}
            before, system = cpu_seconds(groups), cpu_seconds(groups, system=True)
            main_before = cpu_seconds({"main": groups["worker"]}, children=False)
            load, _ = wrk(base, 2, args.connections, args.duration, LUA)
            after = cpu_seconds(groups)
            main_after = cpu_seconds({"main": groups["worker"]}, children=False)
            if counters:
                system = {k: (v - system[k]) / max(after[k] - before[k], 1e-9)
                          for k, v in cpu_seconds(groups, system=True).items()}
                print(json.dumps({"system_share_of_cpu": {k: round(v, 3) for k, v in system.items()}}))
                report_syscalls(counters, max(load.get("finished", 0), 1))
            for spy in spies:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            jobs = max(load.get("finished", 0), 1)
            cpu = {k: (after[k] - before[k]) / jobs * 1e3 for k in groups}
            idle, _ = wrk(base, 1, 1, 5, LUA)
            row = {"jobs_per_s": load.get("jobs_per_s", 0.0), "other": load.get("other", 0),
                   "p50_ms": load.get("p50_ms"), "idle_p50_ms": idle.get("p50_ms"),
                   **{f"cpu_{k}_ms": v for k, v in cpu.items()}, "cpu_total_ms": sum(cpu.values())}
            if args.parts:
                jobs_done = max(load.get("finished", 0), 1)
                row["cpu_worker_main_ms"] = (main_after["main"] - main_before["main"]) / jobs_done * 1e3
                row["cpu_worker_pool_ms"] = cpu["worker"] - row["cpu_worker_main_ms"]
                row.update(parts(base, groups["gateway"], args.connections))
            if args.floor:
                before = cpu_seconds({"gateway": groups["gateway"]})
                _, out = wrk(base, 2, args.connections, 5, None, "/healthz")
                after = cpu_seconds({"gateway": groups["gateway"]})
                done = max(requests_done(out), 1)
                row["healthz_per_s"] = done / 5
                row["cpu_healthz_ms"] = (after["gateway"] - before["gateway"]) / done * 1e3
            rows.append(row)
            print(json.dumps({"server": args.server, **{k: round(v, 3) if isinstance(v, float) else v
                                                         for k, v in row.items()}}), flush=True)
        if args.guarantees:
            guarantees(base, groups["gateway"])
        print(f"median of {args.rounds} rounds ({args.server}):")
        for key in rows[0]:
            values = [r[key] for r in rows if r.get(key) is not None]
            if values:
                print(f"  {key:26} {statistics.median(values):9.2f}")
    finally:
        web.send_signal(signal.SIGTERM)
        worker.send_signal(signal.SIGTERM)
        for proc in (web, worker):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    main()
