#!/usr/bin/env python3
"""Two versions of the code under the same load at the same time: server CPU per job and jobs/s.

This machine's speed moves by a quarter within minutes, more than most changes move the
figures, so runs one after the other (even alternated) do not tell small changes apart.
Here each version runs its own private stack (``benchmarks/wrk_cpu.py --rounds 1``: Redis,
a worker of 2 processes, the gateway in 2, driven by ``wrk -t2 -c8`` with whole jobs) **at
the same time** as the other, so whatever slows the machine slows both; ``--times`` such
pairs, then each figure's pairs and how many of them the second version won.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/side_by_side.py /tmp/before . [--times 3] [-- wrk_cpu options]
    .venv/bin/python benchmarks/side_by_side.py . . --second-options "--gateway-processes 1"

Each folder is a checkout of the project; both run with this interpreter (its venv).
The absolute figures are those of a machine running two stacks at once: compare the columns.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

FIGURES = [("jobs_per_s", "jobs/s", True), ("cpu_total_ms", "server CPU ms/job", False),
           ("cpu_gateway_ms", "gateway", False), ("cpu_worker_ms", "worker", False),
           ("cpu_redis_ms", "Redis", False), ("idle_p50_ms", "idle p50 ms", False)]


def start(folder: Path, extra: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(folder))
    return subprocess.Popen([sys.executable, "benchmarks/wrk_cpu.py", "--rounds", "1", *extra], cwd=folder,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def result(proc: subprocess.Popen, folder: Path) -> dict[str, float]:
    out, _ = proc.communicate()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{folder}: wrk_cpu.py failed:\n{out[-2000:]}")
    return json.loads(lines[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", type=Path, help="a checkout: the code before")
    ap.add_argument("second", type=Path, help="a checkout: the code after")
    ap.add_argument("--times", type=int, default=3)
    ap.add_argument("--second-options", default="",
                    help="wrk_cpu.py options for the second alone, as one string: two settings of one "
                         "checkout compared (e.g. . . --second-options '--gateway-processes 1')")
    ap.add_argument("extra", nargs="*", help="options for wrk_cpu.py (after --)")
    args = ap.parse_args()
    first, second = args.first.resolve(), args.second.resolve()
    pairs: list[tuple[dict[str, float], dict[str, float]]] = []
    for i in range(args.times):
        procs = (start(first, args.extra), start(second, [*args.extra, *shlex.split(args.second_options)]))
        pair = (result(procs[0], first), result(procs[1], second))
        pairs.append(pair)
        print(f"pair {i + 1}: " + "; ".join(f"{name} {pair[0][key]:.3f} -> {pair[1][key]:.3f}"
                                            for key, name, _ in FIGURES), flush=True)
    print(f"\n{len(pairs)} pairs, {first.name} -> {second.name}: each figure's medians, the median of the "
          "pairs' changes, and the pairs the second won")
    for key, name, more_is_better in FIGURES:
        a = statistics.median(p[0][key] for p in pairs)
        b = statistics.median(p[1][key] for p in pairs)
        change = statistics.median((p[1][key] - p[0][key]) / p[0][key] * 100 for p in pairs)
        won = sum((p[1][key] > p[0][key]) if more_is_better else (p[1][key] < p[0][key]) for p in pairs)
        print(f"  {name:20s} {a:9.3f} -> {b:9.3f}  (pairs: {change:+.1f} %; {won} of {len(pairs)})")


if __name__ == "__main__":
    main()
