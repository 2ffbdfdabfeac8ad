#!/usr/bin/env python3
"""One output of a stored batch result, in one process: what ``GET /jobs/<id>/results/<output>``
reads (``jobs.outputs.read_outputs``: the stored JSON a member at a time, one column kept),
beside parsing the whole result (``jsonutil.loads``, what reading every output costs).

Runs ``--runs`` runs of a PRAM model (kabam by default: 225 outputs a run) once, as a worker
stores them, then times each way ``--repeat`` times and measures the peak of the memory
Python allocates for it (tracemalloc, a separate pass). Prints the medians.

    .venv/bin/python benchmarks/bench_output.py [--model kabam] [--runs 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pram import batch  # noqa: E402
from flask_qed import jsonutil  # noqa: E402
from flask_qed.jobs.outputs import read_outputs  # noqa: E402
from flask_qed.model import Model  # noqa: E402
from flask_qed.stores.base import unpack  # noqa: E402


def measure(work, repeat: int) -> tuple[float, float]:
    """(median seconds, peak MB allocated) of ``work()``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="kabam")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    model = Model.from_module(importlib.import_module(f"pram_flask.models.{args.model}"))
    packed, _ = model.validate_packed(batch(args.model, args.runs))
    stored = bytes(model.run_packed(packed))
    name = next(iter(unpack(stored)["outputs"]))
    column = read_outputs(stored, [name]).one(name)
    assert column == unpack(stored)["outputs"][name] and len(column) == args.runs
    one = measure(lambda: read_outputs(stored, [name]).one(name), args.repeat)
    whole = measure(lambda: jsonutil.loads(unpack(stored, raw=True)), args.repeat)
    print(f"{args.model}, {args.runs} runs: stored result {len(stored) / 1e6:.1f} MB compressed; output {name}")
    print(f"  one output (read_outputs)      {one[0]:.3f} s, peak {one[1]:.0f} MB allocated")
    print(f"  the whole result (loads)       {whole[0]:.3f} s, peak {whole[1]:.0f} MB allocated"
          f"  (median of {args.repeat})")


if __name__ == "__main__":
    main()
