#!/usr/bin/env python3
"""The CSV of a large batch whose inputs are integers, written from its stored table: what
``GET /jobs/<id>/results?f=csv`` computes for it, without HTTP.

A batch of ``--runs`` runs with ``--integers`` integer inputs and one float input is kept
as a worker keeps it (``batch._ResultWriter``, 10,000 runs a chunk, its table alone); then
its CSV is written ``--repeat`` times (``tablepack.read_table(...).rows()``). Prints the
median CPU time, the kind each integer column is kept as and the first integer cells.

    .venv/bin/python benchmarks/bench_int_columns.py [--runs 200000] [--integers 8] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_qed.batch import _ResultWriter  # noqa: E402
from flask_qed.tablejson import head_of  # noqa: E402
from flask_qed.tablepack import read_table  # noqa: E402

CHUNK = 10_000


def stored(runs: int, integers: int) -> bytes:
    writer = _ResultWriter(lambda columns: {"y": np.asarray(columns["a"], dtype=float) * 2}, runs,
                           one_chunk=False, progress=None, in_table=True)
    keys = [str(i) for i in range(runs)]
    for start in range(0, runs, CHUNK):
        stop = min(runs, start + CHUNK)
        rows = [{**{f"n{j}": i % 97 + j for j in range(integers)}, "a": 0.5} for i in range(start, stop)]
        writer.add(keys[start:stop], rows)
    return writer.close({}).table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--integers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    table = stored(args.runs, args.integers)
    times, first = [], ""
    for _ in range(args.repeat):
        start = time.process_time()
        text = iter(read_table(table).rows())
        first = next(text)
        for _ in text:
            pass
        times.append(time.process_time() - start)
    kinds = sorted({c["kind"] for c in head_of(table)[0]["columns"] if c["name"].startswith("n")})
    print(f"CSV of {args.runs:,} runs x {args.integers} integer inputs: median {statistics.median(times):.3f} s "
          f"CPU ({args.repeat} times); integer columns kept as {', '.join(kinds)}")
    print("header:", first.splitlines()[0])


if __name__ == "__main__":
    main()
