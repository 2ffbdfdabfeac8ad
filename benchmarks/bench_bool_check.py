"""What refusing booleans as numbers costs validation: kabam's 10,000 runs (127 inputs
each), validated in chunks as the gateway validates them, in row form (a JSON list of
runs: every chunk looked at by ``holds_bool``) and in column form (read a column at a
time: its columns are numbers only, so no chunk is looked at), against the same chunks
validated without the look. CPU time from ``time.process_time``, the ways interleaved
for ``--rounds`` rounds; medians.

    .venv/bin/python benchmarks/bench_bool_check.py [--rounds 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_qed import jsonutil  # noqa: E402
from flask_qed.columns import Columns  # noqa: E402
from flask_qed.model import Model  # noqa: E402
from flask_qed.validation import VALIDATE_CHUNK, holds_bool, validate_chunks  # noqa: E402
from pram_flask.models import kabam  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10_000)
    args = ap.parse_args()
    model = Model.from_module(kabam)
    example = dict(model.example or {})
    example = example.get("inputs", example)
    rows = [dict(example) for _ in range(args.runs)]
    columns = {name: {str(i): value for i in range(args.runs)} for name, value in example.items()}
    column_text = json.dumps({"inputs": columns})
    times: dict[str, list[float]] = {"rows, looked at": [], "rows, not looked at": [],
                                     "columns (none looked at)": [], "the look alone, rows": []}

    def timed(name: str, work) -> None:
        start = time.process_time()
        work()
        times[name].append(time.process_time() - start)

    def validate(cols: Columns, bools: bool) -> None:
        validate_chunks(model.inputs, cols.chunks(VALIDATE_CHUNK), cols.count, False,
                        lambda keys, part: None, as_text=True, bools=bools)

    for _ in range(args.rounds):
        timed("rows, looked at", lambda: validate(Columns.from_json(rows), True))
        timed("rows, not looked at", lambda: validate(Columns.from_json(rows), False))
        lazy = jsonutil.loads_lazy(column_text, Columns.from_lazy)["inputs"]
        assert isinstance(lazy, Columns) and not lazy.may_hold_bool
        timed("columns (none looked at)", lambda: validate(lazy, lazy.may_hold_bool))
        parts = [part for _, part in Columns.from_json(rows).chunks(VALIDATE_CHUNK)]
        timed("the look alone, rows", lambda: [holds_bool(part) for part in parts])
    print(f"kabam, {args.runs} runs of {len(example)} inputs, {args.rounds} rounds (CPU s, median):")
    for name, values in times.items():
        print(f"  {name:28s} {statistics.median(values):.3f}")
    looked, plain = statistics.median(times["rows, looked at"]), statistics.median(times["rows, not looked at"])
    print(f"  the look's share of row-form validation: {(looked - plain) / plain * 100:+.1f} %")


if __name__ == "__main__":
    main()
