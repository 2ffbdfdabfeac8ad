"""A job's outputs read from its stored data a member at a time
(``flask_qed.jobs.outputs.read_outputs``) are those the parsed data gives
(``outputs_of``): column form, other objects, data that is no object, an ``outputs``
member that is not a table; by hand, then data made by hypothesis."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_qed.jobs.outputs import NoSuchOutput, csv_text, outputs_of, read_outputs
from flask_qed.stores.base import pack

TABLE = {"inputs": {"mai": {"0": 1, "1": 2}}, "outputs": {"out_cw": {"0": 1.5, "1": None}, "out_x": {"0": "a"}},
         "errors": {"2": [{"run": "2"}]}}
SERIES = {"dates": ["t0", "t1"], "flow": [[1, 2.5], [3, 4]], "outputs": {"k": 1}, "metadata": {"a": [1]}}


def same(data: Any, wanted: list[str]) -> None:
    whole, streamed = outputs_of(data), read_outputs(pack(data), wanted)
    assert streamed.names == whole.names and streamed.columns == whole.columns
    assert streamed.values == {k: v for k, v in whole.values.items() if k in wanted}
    assert streamed.index == whole.index or (streamed.index is None and whole.columns)


@pytest.mark.parametrize("data, names, columns", [
    (TABLE, ["out_cw", "out_x"], True), (SERIES, ["dates", "flow", "outputs", "metadata"], False),
    ([1, 2], ["result"], False), (3.5, ["result"], False), ({}, [], False),
    ({"outputs": {}}, [], True), ({"outputs": {"a": {"0": 1}, "b": 2}}, ["outputs"], False)])
def test_the_outputs_of_each_kind_of_data(data, names, columns):
    found = outputs_of(data)
    assert found.names == names and found.columns == columns
    for wanted in ([], names[:1], names, ["nothing"]):
        same(data, wanted)
    with pytest.raises(NoSuchOutput) as missing:
        read_outputs(pack(data), ["nothing"]).one("nothing")
    assert missing.value.available == names and ", ".join(names or ["none"]) in str(missing.value)


def test_a_column_a_series_and_rows_as_csv():
    rows = lambda name, found: list(csv.reader(io.StringIO("".join(csv_text(name, found.one(name),  # noqa: E731
                                                                            found.columns, found.index)))))
    table = read_outputs(pack(TABLE), ["out_cw"])
    assert rows("out_cw", table) == [["run", "out_cw"], ["0", "1.5"], ["1", ""]]
    series = read_outputs(pack(SERIES), ["flow"])
    assert rows("flow", series) == [["dates", "flow[0]", "flow[1]"], ["t0", "1", "2.5"], ["t1", "3", "4"]]
    plain = read_outputs(pack({"x": [0.1, None, "a,b"]}), ["x"])
    assert rows("x", plain) == [["index", "x"], ["0", "0.1"], ["1", ""], ["2", "a,b"]]
    for value in ({"a": 1}, 3, [], [[1], [1, 2]], [{"a": 1}], "text"):
        assert csv_text("v", value, False) is None, value


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                           | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=12)
names = st.sampled_from(["outputs", "inputs", "dates", "a", "b"])
data_strategy = st.one_of(json_values, st.dictionaries(names, json_values, max_size=4),
                          st.fixed_dictionaries({"outputs": st.dictionaries(
                              st.text(max_size=3), st.dictionaries(st.text(max_size=2), json_values, max_size=3),
                              max_size=3)}))


@settings(max_examples=300, deadline=None)
@given(data=data_strategy, wanted=st.lists(st.one_of(names, st.text(max_size=3)), max_size=3))
def test_streamed_outputs_are_the_parsed_ones(data, wanted):
    same(data, wanted)
