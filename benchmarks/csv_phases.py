#!/usr/bin/env python3
"""Where the time of one CSV batch goes, end to end: a PRAM batch posted as CSV with
``Prefer: wait`` and ``Accept: text/csv`` (as ``bench_pram.py --csv`` does), cut at the job
record's own times.

  upload, parse and validate   the POST sent → the job recorded (``created``)
  queue                        ``created`` → a worker starts it (``started``)
  run and store                ``started`` → the result stored (``finished``)
  wake                         ``finished`` → the answer's headers at the client
  CSV                          the headers → the last byte of the CSV at the client

Beside them, direct: ``Model.validate`` + ``Model.run`` in this process. The record's
times are the server's clock and the client's is the same machine's. Prints medians.

    .venv/bin/python benchmarks/csv_phases.py [--model kabam] [--runs 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import io
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pram import batch, direct, start_stack  # noqa: E402

PHASES = ("upload, parse and validate", "queue", "run and store", "wake", "CSV")


def _at(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="kabam")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    inputs = batch(args.model, args.runs)
    names = list(inputs)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows([["" if (v := inputs[n].get(str(i))) is None else v for n in names]
                      for i in range(args.runs)])
    body = out.getvalue().encode()
    t_direct, _ = direct(args.model, inputs, 3, args.runs)
    got: dict[str, list[float]] = {p: [] for p in (*PHASES, "total")}
    with tempfile.TemporaryDirectory() as instance:
        proc, base = start_stack(instance)
        try:
            session = requests.Session()
            for _ in range(args.repeat):
                sent = time.time()
                answer = session.post(f"{base}/pram/{args.model}", data=body, stream=True, timeout=300,
                                      headers={"Content-Type": "text/csv", "Prefer": "wait=120",
                                               "Accept": "text/csv", "Cache-Control": "no-cache"})
                headers = time.time()
                size = sum(len(piece) for piece in answer.iter_content(1 << 20))
                done = time.time()
                assert answer.status_code == 200 and size > 0, (answer.status_code, answer.headers)
                job = answer.headers["Content-Location"].split("/")[2]
                record = session.get(f"{base}/jobs/{job}/status", timeout=30).json()
                created, started, finished = (_at(record[k]) for k in ("created", "started", "finished"))
                for phase, took in zip(PHASES, (created - sent, started - created, finished - started,
                                               headers - finished, done - headers)):
                    got[phase].append(took)
                got["total"].append(done - sent)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    print(f"{args.model}, {args.runs} runs as CSV, {len(body) / 1e6:.1f} MB in; median of {args.repeat}")
    for phase, times in got.items():
        print(f"  {phase:28} {statistics.median(times):7.3f} s  ({min(times):.3f} to {max(times):.3f})")
    print(f"  {'direct (validate + run)':28} {t_direct:7.3f} s   end to end / direct "
          f"{statistics.median(got['total']) / t_direct:.2f}x")


if __name__ == "__main__":
    main()
