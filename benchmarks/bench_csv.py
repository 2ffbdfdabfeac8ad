#!/usr/bin/env python3
"""The CSV download of a stored batch result, in one process: what ``GET /jobs/<id>/results?f=csv``
computes, without HTTP.

Runs ``--runs`` runs of a PRAM model (kabam by default: 130 inputs and 225 outputs a run)
once, as a worker stores them (``Model.validate_packed`` then ``Model.run_packed``), then
times, ``--repeat`` times, reading the stored result a field at a time
(``results.packed_table``) and writing every row as CSV (``Table.rows``). Prints the
medians, the size of the CSV and a digest of it (the same digest before and after a change
means the same bytes).

    .venv/bin/python benchmarks/bench_csv.py [--model kabam] [--runs 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pram import batch  # noqa: E402
from flask_qed.model import Model  # noqa: E402
from flask_qed.results import packed_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="kabam")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    model = Model.from_module(importlib.import_module(f"pram_flask.models.{args.model}"))
    packed, _ = model.validate_packed(batch(args.model, args.runs))
    stored = bytes(model.run_packed(packed))
    reads, writes, digest, size = [], [], "", 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        table = packed_table(stored)
        read = time.perf_counter()
        text = "".join(table.rows())
        end = time.perf_counter()
        reads.append(read - start)
        writes.append(end - read)
        digest, size = hashlib.sha256(text.encode()).hexdigest()[:16], len(text)
        del table, text
    print(f"{args.model}, {args.runs} runs: stored result {len(stored) / 1e6:.1f} MB compressed; "
          f"CSV {size / 1e6:.1f} MB (sha256 {digest})")
    print(f"  read the stored result (packed_table)  {statistics.median(reads):.3f} s")
    print(f"  write the rows (Table.rows)             {statistics.median(writes):.3f} s")
    print(f"  total                                   {statistics.median(r + w for r, w in zip(reads, writes)):.3f} s"
          f"  (median of {args.repeat})")


if __name__ == "__main__":
    main()
