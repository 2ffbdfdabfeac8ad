"""Large batches in bounded memory: the body read a column at a time, inputs
stored in packed chunks, results written per chunk; the public JSON stays exactly as
Model.validate + Model.run give it."""
from __future__ import annotations

import importlib
import zlib

import orjson
import pytest

from flask_qed import jsonutil
from flask_qed.batch import TABLE_MIN_RUNS
from flask_qed.model import Columns, InputError, Model
from flask_qed.tablejson import json_in_table, json_of

from tests.pram.qaqc import load_cases


def _model(name: str, **changes) -> Model:
    model = Model.from_module(importlib.import_module(f"pram_flask.models.{name}"))
    if changes:
        from dataclasses import replace
        model = replace(model, **changes)
    return model


def _both(model: Model, body: dict, on_invalid: str = "fail"):
    """(the result of validate + run, the result of the bounded path) for a JSON body."""
    expected = model.run(model.validate(body["inputs"], on_invalid=on_invalid))
    parsed = jsonutil.loads_lazy(orjson.dumps(body).decode(), Columns.from_lazy)
    packed, rows = model.validate_packed(parsed["inputs"], on_invalid=on_invalid)
    got = model.run_packed(packed)
    # a batch of TABLE_MIN_RUNS or more is kept as its table: its JSON is what a store reads
    assert json_in_table(got) == (rows >= TABLE_MIN_RUNS)
    text = zlib.decompress(json_of(got.table) if json_in_table(got) else got)
    assert text == orjson.dumps(expected)  # byte for byte, key order included
    return expected, rows


def _columns(name: str, runs: int) -> dict:
    cases = [inputs for _, inputs, _ in load_cases(name)]
    names = sorted({k for c in cases for k in c})
    return {n: {str(i): cases[i % len(cases)][n] for i in range(runs) if n in cases[i % len(cases)]}
            for n in names}


@pytest.mark.parametrize("name", ["kabam", "trex", "rice"])
def test_column_form_gives_the_same_result(name):
    # chunk_rows small: several chunks, and validation chunks that straddle them
    model = _model(name, chunk_rows=700)
    data, rows = _both(model, {"inputs": _columns(name, 2_345)})
    assert rows == 2_345 and all(len(col) == 2_345 for col in data["outputs"].values())


def test_runs_out_of_order_missing_and_scalar_columns():
    model = _model("rice", chunk_rows=3)
    inputs = _columns("rice", 12)
    first = next(iter(inputs))
    inputs[first] = dict(reversed(list(inputs[first].items())))   # keys out of order
    second = list(inputs)[1]
    value = inputs[second].pop("10")                               # one run not given here ...
    inputs[second]["10"] = value                                   # ... then given last
    inputs["chemical_name"] = "same for every run"                 # a scalar column
    _both(model, {"inputs": inputs})


def test_rows_and_single_run_forms_give_the_same_result():
    model = _model("rice", chunk_rows=2)
    cases = [inputs for _, inputs, _ in load_cases("rice")]
    _both(model, {"inputs": [cases[i % len(cases)] for i in range(5)]})
    _both(model, {"inputs": cases[0]})


def _accepts(model: Model, inputs: dict) -> bool:
    try:
        model.validate(inputs)
    except InputError:
        return False
    return True


QAQC_MODELS = ["agdrift", "beerex", "earthworm", "iec", "kabam", "rice", "sip", "stir", "terrplant", "therps", "trex"]


@pytest.mark.parametrize("name", QAQC_MODELS)
def test_a_small_batch_run_whole_is_written_as_the_field_writer_writes_it(name, monkeypatch):
    """A few runs are run and written whole (batch._run_small): the same text, byte for
    byte, as Model.run's and as the field-by-field writer's, for one run, for all of EPA's
    cases at once, and with a run skipped as invalid."""
    from flask_qed import batch
    model = _model(name)
    cases = [inputs for _, inputs, _ in load_cases(name)]
    number = next(k for k, v in cases[0].items() if isinstance(v, (int, float)) and not _accepts(model, {
        **cases[0], k: "not a number"}))
    bodies = [({"inputs": cases[0]}, "fail"), ({"inputs": cases}, "fail"),
              ({"inputs": [*cases, {**cases[0], number: "not a number"}]}, "skip")]
    for body, on_invalid in bodies:
        _both(model, body, on_invalid)  # the small path, against Model.run
        parsed = jsonutil.loads_lazy(orjson.dumps(body).decode(), Columns.from_lazy)
        packed, rows = model.validate_packed(parsed["inputs"], on_invalid=on_invalid)
        assert 0 < rows <= batch.SMALL_RUNS
        assert rows == (len(cases) if isinstance(body["inputs"], list) else 1)  # the invalid run skipped
        small = zlib.decompress(model.run_packed(packed))
        monkeypatch.setattr(batch, "SMALL_RUNS", 0)
        assert zlib.decompress(model.run_packed(packed)) == small
        monkeypatch.undo()


def test_a_small_batch_with_a_value_orjson_cannot_write_is_written_field_by_field(monkeypatch):
    """An integer past 64 bits: the standard library writes that field alone, as the field
    writer does, not the whole result (which would escape the other fields' text)."""
    import numpy as np

    from flask_qed import batch
    from flask_qed.batch import ChunkedInputs, run_chunked
    inputs = ChunkedInputs(2)
    inputs.add(["0", "1"], orjson.dumps([{"name": "café", "x": 1e-7}, {"name": "naïve", "x": 2.5}]))
    packed = inputs.close({})

    def compute(columns):
        x = np.asarray(columns["x"], dtype=float)
        return {"y": x * 2, "big": np.array([2 ** 70, 3], dtype=object)}

    small = zlib.decompress(run_chunked(compute, packed, 100, None, lambda *a: None))
    monkeypatch.setattr(batch, "SMALL_RUNS", 0)
    assert zlib.decompress(run_chunked(compute, packed, 100, None, lambda *a: None)) == small
    assert "café".encode() in small and str(2 ** 70).encode() in small


def test_skipped_runs_are_reported_as_before():
    model = _model("rice", chunk_rows=4)
    inputs = _columns("rice", 9)
    field = next(iter(inputs))
    inputs[field]["3"] = -1e9
    inputs[field]["7"] = "not a number"
    data, rows = _both(model, {"inputs": inputs, "on_invalid": "skip"}, on_invalid="skip")
    assert rows == 7 and set(data["errors"]) == {"3", "7"}


def test_invalid_batches_are_refused_as_before():
    model = _model("rice")
    inputs = _columns("rice", 5)
    field = next(iter(inputs))
    inputs[field]["2"] = "x"
    with pytest.raises(InputError) as before:
        model.validate(inputs)
    parsed = jsonutil.loads_lazy(orjson.dumps({"inputs": inputs}).decode(), Columns.from_lazy)
    with pytest.raises(InputError) as now:
        model.validate_packed(parsed["inputs"])
    assert now.value.errors == before.value.errors
    with pytest.raises(InputError):
        model.validate_packed(jsonutil.loads_lazy('{"inputs": {"a": {}}}', Columns.from_lazy)["inputs"])
    with pytest.raises(InputError):
        _model("rice", max_rows=4).validate_packed(parsed["inputs"])


def test_numbers_keep_their_json_type():
    column = jsonutil.loads_lazy('{"inputs": {"a": {"0": 1, "1": 2.0, "2": 3, "3": 12345678901234567890}, '
                                 '"b": {"0": "x", "1": "x", "2": true, "3": null}}}', Columns.from_lazy)
    (keys, rows), = column["inputs"].chunks(10)
    assert keys == ["0", "1", "2", "3"]
    assert [type(r["a"]) for r in rows] == [int, float, int, int] and rows[3]["a"] == 12345678901234567890
    assert [r.get("b") for r in rows] == ["x", "x", True, None]


@pytest.mark.parametrize("text", ['{"inputs": {"a": NaN}}', '{"inputs": {"a": 1,}}', '{"inputs": [1 2]}',
                                  '{"inputs": {}} x', '{"a" 1}', ''])
def test_invalid_json_is_refused(text):
    with pytest.raises(ValueError):
        jsonutil.loads_lazy(text, Columns.from_lazy)


def test_csv_from_stored_results_is_the_same_table():
    from flask_qed.results import csv_rows, packed_table
    model = _model("kabam")
    data = model.run(model.validate(_columns("kabam", 1_500)))
    assert "".join(packed_table(zlib.compress(orjson.dumps(data))).rows()) == "".join(csv_rows(data))
    odd = {"inputs": {"c": {"5": 1.5}}, "outputs": {"a": {"1": 1, "0": None, "2": [1, 2]}, "b": {"0": "x"}},
           "errors": {"3": [{"run": "3"}]}}
    assert "".join(packed_table(zlib.compress(orjson.dumps(odd))).rows()) == "".join(csv_rows(odd))
    # a word or a number (kabam's "calculated" or a rate), and the like, with and without cells to quote
    mixed = {"outputs": {"w": {"0": "calculated", "1": 0.1, "2": None, "3": True, "4": 7, "5": 1e-7, "6": 2.5e16},
                         "q": {"0": "a,b", "1": 0.5, "2": 'say "x"', "3": None, "4": [1, 2], "5": "", "6": 3}}}
    assert "".join(packed_table(zlib.compress(orjson.dumps(mixed))).rows()) == "".join(csv_rows(mixed))
    for not_a_table in ({"outputs": {"a": 1}}, {"x": 1}, [1]):
        assert packed_table(zlib.compress(orjson.dumps(not_a_table))) is None


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_part = st.one_of(st.tuples(st.just("text"), st.binary(max_size=300)),
                  st.tuples(st.just("piece"), st.lists(st.binary(max_size=9000), max_size=4)))


@settings(max_examples=200, deadline=None)
@given(st.lists(_part, max_size=8))
def test_a_packed_join_is_one_zlib_stream_of_its_parts_in_order(parts):
    """Pieces compressed on their own and joined without decompressing read back,
    with zlib's own checks (Adler-32 included), as the text of every part in order."""
    join, expected = jsonutil.PackedJoin(), b""
    for kind, value in parts:
        if kind == "text":
            join.text(value)
            expected += value
        else:
            writer = jsonutil.PieceWriter()
            for text in value:
                writer.write(text)
                expected += text
            join.piece(writer.close())
    packed = join.close()
    assert zlib.decompress(packed) == expected
    assert b"".join(jsonutil.unpacked_pieces(packed, size=1000)) == expected


@given(st.binary(max_size=5000), st.binary(max_size=5000))
def test_adler32_combine_agrees_with_zlib(first, second):
    assert jsonutil.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second)) \
        == zlib.adler32(first + second)


def test_csv_cells_are_the_csv_modules():
    """The table's rows, made a column at a time, are the csv module's rows to the byte:
    quoting, numbers, integers past 2**53, nulls, booleans, nested values."""
    from flask_qed.results import csv_rows, packed_table
    texts = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\ronly", " padded ", "", "été", "tab\there",
             'mix, "all"\r\n']
    numbers = [1.5, -0.0, 1e16, 1e-05, 5e-324, 123456789.125, 7, None, -3, 2.5e-7]
    data = {"inputs": {"t": {str(i): v for i, v in enumerate(texts)},
                       "n": {str(i): v for i, v in enumerate(numbers)}},
            "outputs": {"big": {str(i): 2 ** 60 + i for i in range(10)},
                        "flag": {str(i): i % 3 == 0 for i in range(10)},
                        "nested": {str(i): [i, {"k": "v,w"}] if i % 2 else None for i in range(10)},
                        "key,odd": {str(i): i / 3 for i in range(10)}}}
    expected = "".join(csv_rows(data))
    assert "".join(packed_table(zlib.compress(orjson.dumps(data))).rows()) == expected
    assert '"a,b"' in expected and '"say ""hi"""' in expected and '"key,odd"' in expected
    odd_keys = {"outputs": {"a": {'run "1"': 1.0, "run,2": None, "3\n": "x"}}}
    assert "".join(packed_table(zlib.compress(orjson.dumps(odd_keys))).rows()) == "".join(csv_rows(odd_keys))


def test_csv_numbers_are_written_as_repr_writes_them():
    """Numbers of every size, each written as the csv module writes it (repr): the
    shortest text that reads back as the same float, with its exponent where repr puts one."""
    import random

    from flask_qed.results import csv_rows, packed_table
    rng = random.Random(7)
    values = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-320, 300) for _ in range(3000)]
    values += [1e-4, 9.999999999999999e-05, 1e16, 9999999999999998.0, -0.0, 0.0, 5e-324, 1.7976931348623157e308]
    data = {"outputs": {"x": {str(i): v for i, v in enumerate(values)},
                        "y": {str(i): (i if i % 7 else None) for i in range(len(values))}}}
    table = "".join(packed_table(zlib.compress(orjson.dumps(data))).rows())
    assert table == "".join(csv_rows(data))
    assert [float(line.split(",")[1]) for line in table.splitlines()[1:]] == values



_SPECIAL = [1.7976931348623157e308, -1.7976931348623157e308, 1e-4, 9.999999999999999e-05, 1e16, 5e-324, -0.0]
_cell = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.none(), st.sampled_from(_SPECIAL))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cell, min_size=40, max_size=40), min_size=1, max_size=5))
def test_float_columns_side_by_side_are_written_as_the_csv_module_writes_each_cell(columns):
    """Neighbouring float columns are written together, a row's cells joined at once
    (results.float_rows): the same text as the csv module's row by row, for nulls, every
    magnitude, and the value the writer uses as a stand-in."""
    from flask_qed.results import csv_rows, packed_table
    runs = 40
    data = {"outputs": {f"c{j}": {str(i): col[i] for i in range(runs)} for j, col in enumerate(columns)}}
    data["outputs"]["label"] = {str(i): "w" for i in range(runs)}  # a text column after the block
    data["outputs"]["last"] = {str(i): float(i) / 7 for i in range(runs)}  # and a float after that
    assert "".join(packed_table(zlib.compress(orjson.dumps(data))).rows()) == "".join(csv_rows(data))
