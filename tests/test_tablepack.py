"""A batch's columns kept for CSV (flask_qed.tablepack) give the CSV its JSON gives, for
every kind of column: floats with NaN and infinities (null in JSON), integers, booleans,
text with commas and quotes, lists, a column that is null in every run, and inputs that
no run gave (left out of both)."""
from __future__ import annotations

import zlib

import numpy as np
import orjson

from flask_qed.batch import TABLE_MIN_RUNS, _ResultWriter, run_chunked
from flask_qed.results import packed_table
from flask_qed.tablepack import json_in_table, json_of, read_table

N = TABLE_MIN_RUNS + 37


def _compute(columns):
    x = np.asarray(columns["x"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 1.0 / (x - 3.0)  # inf at x == 3
        root = np.sqrt(x - 5.0)  # NaN below 5
    return {"ratio": ratio, "root": root, "count": (x * 2).astype(np.int64), "big": x > 4,
            "label": [f'run "{int(v)}", ok' for v in x], "pair": [[v, v + 1] for v in x.tolist()],
            "never": np.full(len(x), np.nan), "tiny": x * 1e-9, "huge": x * 1e20}


def _result(chunk: int, in_table: bool = True, errors=None):
    writer = _ResultWriter(_compute, N, one_chunk=chunk >= N, progress=None, in_table=in_table)
    keys = [str(i) for i in range(N)]
    rows = [{"x": float(i % 9), "name": None, "note": "a,b" if i % 2 else "c"} for i in range(N)]
    for start in range(0, N, chunk):
        writer.add(keys[start:start + chunk], rows[start:start + chunk])
    return writer.close(errors=errors or {})


def test_a_batch_with_a_table_keeps_the_table_alone_and_its_json_is_the_json_written():
    """The JSON written from the table (tablepack.json_of) is the text the worker writes
    beside it, byte for byte: floats with NaN and infinities, integers, booleans, text,
    lists, a column null in every run, the runs' errors; in one chunk, several, and chunks
    too small for the numeric path."""
    errors = {"9999": [{"run": "9999", "field": "x", "rule": "a number"}]}
    for chunk in (N, 200, 7, N - 7):  # the last: a small chunk after large ones (integers: i8, then JSON)
        kept = _result(chunk, errors=errors)
        assert json_in_table(kept) and kept.table is not None
        written = _result(chunk, in_table=False, errors=errors)
        assert zlib.decompress(json_of(kept.table)) == zlib.decompress(written)
    assert orjson.loads(zlib.decompress(json_of(kept.table)))["errors"] == errors


def test_the_table_gives_the_csv_the_json_gives():
    for chunk in (N, 200, 7, N - 7):  # one chunk; several; too small for the numeric path; both
        data = _result(chunk, in_table=False)
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


def test_columns_that_change_type_between_chunks_are_kept_as_json():
    """A float column whose later chunk is words becomes a JSON column, the runs before
    included; one whose short last chunk comes as a list of floats and nulls stays floats."""
    def result(in_table):
        calls = iter([{"y": np.arange(300, dtype=float), "z": np.linspace(0, 1, 300)},
                      {"y": ["a"] * (N - 300 - 10), "z": np.full(N - 310, np.nan)},
                      {"y": [None] * 10, "z": [0.5, None] * 5}])
        writer = _ResultWriter(lambda columns: next(calls), N, one_chunk=False, progress=None, in_table=in_table)
        keys, rows = [str(i) for i in range(N)], [{"x": 1.0} for _ in range(N)]
        for start, stop in ((0, 300), (300, N - 10), (N - 10, N)):
            writer.add(keys[start:stop], rows[start:stop])
        return writer.close(errors={})
    kept, written = result(True), result(False)
    assert json_in_table(kept)
    assert zlib.decompress(json_of(kept.table)) == zlib.decompress(written)
    assert "".join(read_table(kept.table).rows()) == "".join(packed_table(written).rows())


def _packed_inputs(n: int):
    from flask_qed.batch import ChunkedInputs
    inputs = ChunkedInputs(n)
    for start in range(0, n, 100):
        keys = [str(i) for i in range(start, min(n, start + 100))]
        inputs.add(keys, orjson.dumps([{"x": float(i)} for i in range(start, start + len(keys))]))
    return inputs.close({})


def test_a_field_missing_from_some_runs_is_written_as_json():
    """A table holds every run of every field; a result with a field only some chunks give
    is run again and written as JSON, as it was before tables."""
    def compute(columns):
        x = np.asarray(columns["x"], dtype=float)
        return {"y": x * 2, **({"late": x + 1} if x[0] >= 300 else {})}
    packed = _packed_inputs(N)
    data = run_chunked(compute, packed, 100, None, lambda *a: None)
    assert not json_in_table(data)
    outputs = orjson.loads(zlib.decompress(data))["outputs"]
    assert len(outputs["y"]) == N and len(outputs["late"]) == N - 300
    assert data == run_chunked(compute, packed, 100, None, lambda *a: None, in_table=False)


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
    assert json_in_table(data) and data.table is not None
    written = run_chunked(model.compute, packed, model.chunk_rows, None, model.run, model.risk, in_table=False)
    assert zlib.decompress(json_of(data.table)) == zlib.decompress(written)  # exceeds and all
    from_table = "".join(read_table(data.table).rows())
    assert from_table == "".join(packed_table(written).rows())
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


def test_integer_columns_are_kept_as_integers_and_written_as_they_are():
    """An integer column (an integer input given back, an integer output) is kept as int64
    (kind ``i8``), read back as integers: the CSV and the JSON write ``4``, never ``4.0``."""
    from flask_qed.tablejson import head_of
    kept = _result(N)
    kinds = {c["name"]: c["kind"] for c in head_of(kept.table)[0]["columns"]}
    assert kinds["count"] == "i8" and kinds["ratio"] == "f8"
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO("".join(read_table(kept.table).rows()))))
    assert [row["count"] for row in rows[:3]] == ["0", "2", "4"]
    assert orjson.loads(zlib.decompress(json_of(kept.table)))["outputs"]["count"]["2"] == 4
