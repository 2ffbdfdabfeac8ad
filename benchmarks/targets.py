#!/usr/bin/env python3
"""The performance targets, measured side by side, round by round: ratios within a round,
medians of the rounds.

Each round runs, one after the other on the same machine:

1. raw Celery's burst and idle round trip (``../shared/bench/raw_celery.py -n 1000
   --configs reliable``, the side-by-side harness's anchor, with its own client);
2. the gateway under wrk (``benchmarks/wrk_cpu.py --rounds 1 --floor``: whole jobs with
   ``Prefer: wait``, each a new job, 8 connections; the idle round trip on one; the
   server's CPU per job, client excluded; the CPU of a bare ``GET /healthz``);
3. a bare Celery task's CPU (``benchmarks/celery_floor.py -n 2000 --rounds 1``), its worker's
   and, apart, its Redis's;
4. kabam, 10,000 runs, CSV in and CSV out, against validate + run in one process
   (``benchmarks/bench_pram.py --models kabam --csv --repeat 3``);
5. the design's own floor (``benchmarks/design_floor.py --rounds 1``: a bare Flask view that
   queues a bare Celery task and is woken by its notice, under the gateway's load).

Then per round and as medians: jobs/s against raw Celery's burst (target >= 0.8x), idle
p50 against raw Celery's idle round trip (<= 2x), server CPU per job against the floor
(a bare Celery task's worker + a bare request; <= 1.5x; and again with the bare task's Redis
in the floor, since the gateway's Redis is in its CPU), kabam end to end against direct (<= 1.5x;
by time, and by CPU time: the stack's processes against the direct run's). Beside the targets,
not targets: the design's floor against the floor above (what one request per job, woken,
costs before any work of the project's), and the server's CPU per job against the design's
floor (what the project's work on a job costs on top of it).

    .venv/bin/python benchmarks/targets.py [--rounds 3] [--out results.jsonl]

Needs ``wrk`` and the harness's venv (``bash ../shared/bench/setup.sh``: /tmp/anchors-venv).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(os.environ.get("ANCHORS_DIR") or ROOT.parent / "shared" / "bench")
ANCHORS_PY = os.environ.get("ANCHORS_PYTHON", "/tmp/anchors-venv/bin/python")


def run(cmd: list[str], timeout: float = 900) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def raw_celery() -> dict[str, float]:
    out = run([ANCHORS_PY, str(BENCH / "raw_celery.py"), "-n", "1000", "--configs", "reliable"])
    line = [ln for ln in out.splitlines() if ln.startswith("{")][-1]
    found = json.loads(line)["configs"]["reliable"]
    return {"jobs_per_s": found["e2e_tasks_per_s"], "idle_p50_ms": found["idle_rtt_p50_ms"]}


def gateway() -> dict[str, float]:
    out = run([sys.executable, "benchmarks/wrk_cpu.py", "--server", "gevent", "--rounds", "1", "--floor"])
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][0])


def celery_floor() -> tuple[float, float]:
    """A bare Celery task's CPU (consumer and pool), and its Redis's."""
    out = run([ANCHORS_PY, "benchmarks/celery_floor.py", "-n", "2000", "--rounds", "1"])
    found = re.search(r"round: consumer ([0-9.]+) ms, pool ([0-9.]+) ms.*redis ([0-9.]+) ms", out)
    if found is None:
        raise RuntimeError(out)
    return float(found.group(1)) + float(found.group(2)), float(found.group(3))


def design_floor() -> float:
    """The server's CPU per job of the design with none of the project's work in it."""
    out = run([sys.executable, "benchmarks/design_floor.py", "--rounds", "1"])
    return float(json.loads([ln for ln in out.splitlines() if ln.startswith("{")][0])["cpu_total_ms"])


def kabam() -> dict[str, float]:
    out = run([sys.executable, "benchmarks/bench_pram.py", "--models", "kabam", "--csv", "--repeat", "3"])
    row = [ln for ln in out.splitlines() if ln.startswith("kabam")][0].split()
    return {"direct_s": float(row[1]), "e2e_s": float(row[2]), "cpu_direct_s": float(row[6]),
            "cpu_stack_s": float(row[7])}


def one_round() -> dict[str, float]:
    load = os.getloadavg()[0]
    raw = raw_celery()
    gw = gateway()
    floor, floor_redis = celery_floor()
    kb = kabam()
    design = design_floor()
    return {
        "load_1m": round(load, 2),
        "raw_jobs_per_s": raw["jobs_per_s"], "gw_jobs_per_s": gw["jobs_per_s"], "gw_other": gw["other"],
        "jobs_ratio": gw["jobs_per_s"] / raw["jobs_per_s"],
        "raw_idle_ms": raw["idle_p50_ms"], "gw_idle_ms": gw["idle_p50_ms"],
        "idle_ratio": gw["idle_p50_ms"] / raw["idle_p50_ms"],
        "cpu_job_ms": gw["cpu_total_ms"], "floor_task_ms": floor, "floor_request_ms": gw["cpu_healthz_ms"],
        "cpu_ratio": gw["cpu_total_ms"] / (floor + gw["cpu_healthz_ms"]),
        # the same with the bare task's Redis in its floor, as the gateway's is in its CPU
        "floor_redis_ms": floor_redis,
        "cpu_ratio_redis": gw["cpu_total_ms"] / (floor + floor_redis + gw["cpu_healthz_ms"]),
        "kabam_direct_s": kb["direct_s"], "kabam_e2e_s": kb["e2e_s"], "kabam_ratio": kb["e2e_s"] / kb["direct_s"],
        "kabam_cpu_ratio": kb["cpu_stack_s"] / kb["cpu_direct_s"],
        "design_floor_ms": design, "design_ratio": design / (floor + gw["cpu_healthz_ms"]),
        "cpu_over_design": gw["cpu_total_ms"] / design,
    }


TARGETS = [("jobs_ratio", ">=", 0.8, "jobs/s, wrk -c8, against raw Celery's burst"),
           ("idle_ratio", "<=", 2.0, "idle p50 against raw Celery's idle round trip"),
           ("cpu_ratio", "<=", 1.5, "server CPU per job against the floor"),
           ("cpu_ratio_redis", "<=", 1.5, "the same, the floor's Redis counted as the gateway's is"),
           ("kabam_ratio", "<=", 1.5, "kabam 10,000 runs, CSV in and out, end to end against direct"),
           ("kabam_cpu_ratio", "<=", 1.5, "the same, CPU time of the stack against direct's")]
BESIDE = [("design_ratio", "the design's floor against the floor (a bare task + a bare request)"),
          ("cpu_over_design", "server CPU per job against the design's floor")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", help="also append each round as a JSON line to this file")
    args = ap.parse_args()
    rounds = []
    for i in range(args.rounds):
        started = time.monotonic()
        row = one_round()
        rounds.append(row)
        print(json.dumps({"round": i + 1, **{k: round(v, 3) for k, v in row.items()}}), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps({"round": i + 1, **row}) + "\n")
        print(f"  ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    print(f"\nmedians of {len(rounds)} rounds:")
    for key, sense, target, what in TARGETS:
        values = [r[key] for r in rounds]
        median = statistics.median(values)
        met = median >= target if sense == ">=" else median <= target
        print(f"  {what}: {' / '.join(f'{v:.2f}' for v in values)} -> {median:.2f}x "
              f"(target {sense} {target}x: {'met' if met else 'not met'})")
    for key, what in BESIDE:
        values = [r[key] for r in rounds]
        print(f"  {what}: {' / '.join(f'{v:.2f}' for v in values)} -> {statistics.median(values):.2f}x")


if __name__ == "__main__":
    main()
