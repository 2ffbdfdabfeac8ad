"""A batch's columns kept for CSV (flask_qed.tablepack) give the CSV its JSON gives, for
every kind of column: floats with NaN and infinities (null in JSON), integers, booleans,
text with commas and quotes, lists, a column that is null in every run, and inputs that
no run gave (left out of both)."""
from __future__ import annotations

import numpy as np

from flask_qed.batch import TABLE_MIN_RUNS, _ResultWriter
from flask_qed.results import packed_table
from flask_qed.tablepack import read_table

N = TABLE_MIN_RUNS + 37


def _compute(columns):
    x = np.asarray(columns["x"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 1.0 / (x - 3.0)  # inf at x == 3
        root = np.sqrt(x - 5.0)  # NaN below 5
    return {"ratio": ratio, "root": root, "count": (x * 2).astype(np.int64), "big": x > 4,
            "label": [f'run "{int(v)}", ok' for v in x], "pair": [[v, v + 1] for v in x.tolist()],
            "never": np.full(len(x), np.nan), "tiny": x * 1e-9, "huge": x * 1e20}


def _result(chunk: int):
    writer = _ResultWriter(_compute, N, one_chunk=False, progress=None)
    keys = [str(i) for i in range(N)]
    rows = [{"x": float(i % 9), "name": None, "note": "a,b" if i % 2 else "c"} for i in range(N)]
    for start in range(0, N, chunk):
        writer.add(keys[start:start + chunk], rows[start:start + chunk])
    return writer.close(errors={})


def test_the_table_gives_the_csv_the_json_gives():
    for chunk in (N, 200, 7):  # one chunk; several; chunks too small for the numeric path
        data = _result(chunk)
        assert data.table is not None
        from_json = "".join(packed_table(data).rows())
        from_table = "".join(read_table(data.table).rows())
        assert from_table == from_json
        head = from_table.splitlines()[0].split(",")
        assert "name" not in head and "note" in head and "never" in head  # an input no run gave: out
        assert ",inf" not in from_table and "nan" not in from_table.lower()


def test_a_small_batch_keeps_no_table():
    writer = _ResultWriter(_compute, 10, one_chunk=True, progress=None)
    writer.add([str(i) for i in range(10)], [{"x": float(i)} for i in range(10)])
    assert writer.close(errors={}).table is None


def test_columns_that_change_type_between_chunks_fall_back_to_the_json():
    calls = iter([np.arange(300, dtype=float), ["a"] * (N - 300)])

    def compute(columns):
        return {"y": next(calls)}
    writer = _ResultWriter(compute, N, one_chunk=False, progress=None)
    keys, rows = [str(i) for i in range(N)], [{"x": 1.0} for _ in range(N)]
    writer.add(keys[:300], rows[:300])
    writer.add(keys[300:], rows[300:])
    data = writer.close(errors={})
    assert data.table is None and "".join(packed_table(data).rows()).count("\n") == N + 1


def test_something_else_is_not_a_table():
    assert read_table(b'{"inputs": {}}') is None


def test_a_risk_models_table_carries_its_exceedances_as_the_json_does():
    """T-REX over 600 runs of EPA's QA/QC cases: the table's CSV, ``exceeds`` column and
    all, is the JSON's."""
    import importlib

    from benchmarks.bench_pram import batch
    from flask_qed.model import Model
    model = Model.from_module(importlib.import_module("pram_flask.models.trex"))
    packed, _ = model.validate_packed(batch("trex", 600))
    data = model.run_packed(packed)
    assert data.table is not None
    from_table = "".join(read_table(data.table).rows())
    assert from_table == "".join(packed_table(data).rows())
    head = from_table.splitlines()[0]
    assert head.endswith(",exceeds") and ">=1.0 (chronic)" in from_table


def test_the_csv_is_written_a_chunk_at_a_time_from_the_stored_columns():
    """Writing the CSV of 200,000 runs of ten float columns (16 MB of float64) holds a chunk
    of each column at a time, not the whole table."""
    import tracemalloc

    runs, chunk = 200_000, 20_000

    def compute(columns):
        x = np.asarray(columns["x"], dtype=float)
        return {f"y{i}": x * (i + 1) + 0.5 for i in range(10)}
    writer = _ResultWriter(compute, runs, one_chunk=False, progress=None)
    for start in range(0, runs, chunk):
        writer.add([str(i) for i in range(start, start + chunk)], [{"x": float(i % 977)} for i in range(chunk)])
    data = writer.close(errors={})
    table = read_table(data.table)
    tracemalloc.start()
    lines = 0
    for piece in table.rows():
        lines += piece.count("\n")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lines == runs + 1
    assert peak < 4_000_000, peak  # the floats alone are 16 MB
