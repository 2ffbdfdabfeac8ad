"""Model declarations: input forms, run keys, JSON safety, chunked batches."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from flask_qed.model import InputError, Model, columns_to_json, json_safe, to_rows
from pram_flask.models import rice

RICE = Model.from_module(rice)
ROW = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def test_three_input_forms_give_the_same_rows():
    rows = [ROW, {**ROW, "mai": 4.5}]
    columns = {k: {"0": ROW[k], "1": rows[1][k]} for k in ROW}
    assert to_rows(rows) == (["0", "1"], rows)
    assert to_rows(columns) == (["0", "1"], rows)
    assert to_rows(ROW) == (["0"], [ROW])


def test_run_keys_sort_numerically_and_scalars_apply_to_every_run():
    keys, rows = to_rows({"mai": {"10": 1, "2": 2, "b": 3}, "area": 5})
    assert keys == ["2", "10", "b"]
    assert [r["mai"] for r in rows] == [2, 1, 3] and all(r["area"] == 5 for r in rows)


@pytest.mark.parametrize("inputs", [[], {}, "x", 3, {"mai": {}}, [1]])
def test_no_runs_or_wrong_shapes_are_input_errors(inputs):
    with pytest.raises(InputError):
        to_rows(inputs)


def test_output_keys_mirror_the_input_keys():
    data = RICE.run(RICE.validate({k: {"7": v, "3": v} for k, v in ROW.items()}))
    assert list(data["outputs"]["out_cw"]) == ["3", "7"]


def test_chunked_batch_equals_one_pass_and_reports_progress():
    rng = np.random.default_rng(3)
    rows = [{**ROW, "mai": float(m)} for m in rng.uniform(0, 10, 1001)]
    whole = dataclasses.replace(RICE, chunk_rows=10_000)
    chunked = dataclasses.replace(RICE, chunk_rows=400)
    seen: list[float] = []
    assert chunked.run(chunked.validate(rows), progress=seen.append) == whole.run(whole.validate(rows))
    assert seen == [400 / 1001, 800 / 1001, 1.0]


def test_nan_and_infinity_become_null():
    cols = {"a": np.array([1.0, np.nan, np.inf]), "b": np.array(["x", None, "z"], dtype=object),
            "c": np.array([1, 2, 3])}
    out = columns_to_json(cols, ["0", "1", "2"])
    assert out == {"a": {"0": 1.0, "1": None, "2": None}, "b": {"0": "x", "1": None, "2": "z"},
                   "c": {"0": 1, "1": 2, "2": 3}}
    assert json_safe({"x": [np.float64("nan"), np.int64(2), (math.inf,)]}) == {"x": [None, 2, [None]]}


@pytest.mark.parametrize("n", [1, 3, 16, 17, 200])
def test_few_and_many_runs_give_the_same_json(n: int) -> None:
    """A few runs are checked for NaN in Python, many in numpy: the same answer either way."""
    rng = np.random.default_rng(n)
    values = rng.normal(size=n)
    values[rng.random(n) < 0.3] = np.nan
    values[rng.random(n) < 0.1] = -np.inf
    keys = [str(i) for i in range(n)]
    expected = {k: (None if not math.isfinite(v) else v) for k, v in zip(keys, values.tolist())}
    assert columns_to_json({"a": values}, keys)["a"] == expected
    # one value for every run, a scalar, and a table column (runs x values) too
    assert columns_to_json({"a": np.array([2.5])}, keys)["a"] == dict.fromkeys(keys, 2.5)
    assert columns_to_json({"a": np.array(np.nan)}, keys)["a"] == dict.fromkeys(keys)
    table = np.array([[1.0, np.nan]] * n)
    assert columns_to_json({"a": table}, keys)["a"] == {k: [1.0, None] for k in keys}


def test_an_output_of_the_wrong_length_is_an_error():
    with pytest.raises(ValueError, match="2 values for 3 runs"):
        columns_to_json({"a": np.array([1.0, 2.0])}, ["0", "1", "2"])


def test_too_many_runs_is_an_input_error():
    small = dataclasses.replace(RICE, max_rows=2)
    with pytest.raises(InputError, match="at most 2 runs"):
        small.validate([ROW, ROW, ROW])


def test_description_carries_units_and_ranges():
    desc = RICE.describe()
    assert desc["inputs"]["properties"]["osed"]["maximum"] == 1
    assert desc["inputs"]["properties"]["mai"]["units"] == "kg"
    assert desc["outputs"]["out_cw"]["units"] == "ug/L"


def test_blank_or_null_optional_inputs_are_not_given():
    from flask_qed.model import drop_blanks
    rows = [{"a": 1, "b": ""}, {"a": None, "b": 2}, {"a": 0, "b": [1]}]
    assert drop_blanks(rows) == [{"a": 1}, {"b": 2}, {"a": 0, "b": [1]}]
    clean = [{"a": 1}]
    assert drop_blanks(clean) is clean  # nothing copied when there is no blank


def test_listing_stops_after_max_errors_and_says_how_many_more():
    from flask_qed.model import MAX_ERRORS
    with pytest.raises(InputError) as info:
        RICE.validate([{}] * 5000)
    errors = info.value.errors
    assert len(errors) == MAX_ERRORS + 1
    per_run = len(RICE.inputs.model_json_schema()["required"])
    assert errors[-1]["rule"] == (f"validation stopped after {MAX_ERRORS} errors: "
                                  f"{1000 * per_run - MAX_ERRORS} more errors not listed, "
                                  f"and the last 4000 runs not checked")


def test_skip_leaves_out_invalid_runs_and_keeps_their_keys():
    rows = {k: {"0": v, "5": v, "9": v} for k, v in ROW.items()}
    rows["mai"]["5"] = "lots"
    validated = RICE.validate(rows, on_invalid="skip")
    assert validated["keys"] == ["0", "9"]
    assert [e["field"] for e in validated["errors"]["5"]] == ["mai"]
    data = RICE.run(validated)
    assert list(data["outputs"]["out_cw"]) == ["0", "9"] and set(data["errors"]) == {"5"}


def test_unknown_input_names_the_closest_declared_one():
    with pytest.raises(InputError) as info:
        RICE.validate({**ROW, "ared": 5})
    assert info.value.errors == [{"run": "0", "field": "ared", "value": 5,
                                  "rule": "unknown input: not an input of this model; did you mean area?"}]


def test_a_validator_that_crashes_gives_an_input_error_not_a_500(monkeypatch):
    """Both ways in (whole and packed) report a crash in validation as an input error."""
    import importlib
    from flask_qed import model as model_module
    from flask_qed.model import InputError, Model
    rice = Model.from_module(importlib.import_module("pram_flask.models.rice"))

    def crash(*args, **kwargs):
        raise TypeError("unforeseen input")

    monkeypatch.setattr(Model, "_validate", crash)
    monkeypatch.setattr(model_module, "_validate_chunks", crash)
    for call in (lambda: rice.validate({"mai": 1}), lambda: rice.validate_packed({"mai": {"0": 1}})):
        try:
            call()
        except InputError as exc:
            assert "could not be validated: TypeError: unforeseen input" in str(exc.errors)
        else:
            raise AssertionError("no InputError")


def test_a_boolean_is_not_a_number_in_any_form_but_text_numbers_are():
    """pydantic's lax mode would run ``true`` as 1.0; every way in refuses it, naming the run."""
    for inputs, run in (({**ROW, "mai": True}, "0"),
                        ([ROW, {**ROW, "kd": False}], "1"),
                        ({k: {"0": v, "7": (True if k == "pb" else v)} for k, v in ROW.items()}, "7")):
        for validate in (RICE.validate, RICE.validate_packed):
            with pytest.raises(InputError) as info:
                validate(inputs)
            [error] = info.value.errors
            assert error["run"] == run and error["value"] in (True, False)
            assert error["rule"].startswith("Input should be a number, not ")
    assert RICE.validate({**ROW, "mai": "0.056"})["rows"][0]["mai"] == 0.056
    # a body read a column at a time (as the gateway reads one): numbers-only columns are
    # known to hold no boolean, a column that holds one is looked at
    import json

    from flask_qed import jsonutil
    from flask_qed.columns import Columns
    columns = {k: {"0": v, "1": v} for k, v in ROW.items()}
    clean = jsonutil.loads_lazy(json.dumps({"inputs": columns}), Columns.from_lazy)["inputs"]
    assert isinstance(clean, Columns) and not clean.may_hold_bool and RICE.validate_packed(clean)[1] == 2
    columns["dsed"]["1"] = True
    lazy = jsonutil.loads_lazy(json.dumps({"inputs": columns}), Columns.from_lazy)["inputs"]
    assert lazy.may_hold_bool
    with pytest.raises(InputError) as info:
        RICE.validate_packed(lazy)
    assert [(e["run"], e["field"]) for e in info.value.errors] == [("1", "dsed")]
    # the row's other errors are listed with the boolean, in one answer
    with pytest.raises(InputError) as info:
        RICE.validate_packed({**ROW, "mai": True, "area": -5, "pb": "x", "kdd": 1})
    assert [(e["field"], e["value"]) for e in info.value.errors] == \
        [("mai", True), ("area", -5), ("pb", "x"), ("kdd", 1)]
    assert info.value.errors[3]["rule"].endswith("did you mean kd?")
    assert "outside this range" in info.value.errors[1]["rule"]
    skipped = RICE.validate([ROW, {**ROW, "area": True}, ROW], on_invalid="skip")
    assert skipped["keys"] == ["0", "2"] and [e["field"] for e in skipped["errors"]["1"]] == ["area"]


def test_only_numeric_inputs_refuse_booleans_and_one_run_models_too():
    from typing import Literal, Optional, Union

    from pydantic import AliasChoices, BaseModel, Field

    class Inputs(BaseModel):
        flag: bool = False
        rate: Union[float, Literal["calculated"]] = "calculated"
        steps: Optional[int] = Field(None, validation_alias=AliasChoices("steps", "n"))
        label: str = ""

    model = Model(name="toy", title="toy", description="", version="1", inputs=Inputs,
                  compute=lambda inputs: {"ok": 1}, batch=False)
    assert model.validate({"flag": True, "rate": 0.5}) == {"flag": True, "rate": 0.5, "steps": None, "label": ""}
    for given, field in (({"rate": True}, "rate"), ({"n": False}, "n"), ({"steps": True}, "steps")):
        with pytest.raises(InputError) as info:
            model.validate({"flag": True, **given})
        assert [(e["field"], e["rule"]) for e in info.value.errors] == \
            [(field, f"Input should be a number, not {str(list(given.values())[0]).lower()}")]
    with pytest.raises(InputError) as info:
        model.validate({"label": True})  # a text input refuses a boolean as pydantic does
    assert info.value.errors[0]["field"] == "label"

    class Series(BaseModel):
        values: list[float]

    series = Model(name="s", title="s", description="", version="1", inputs=Series,
                   compute=lambda inputs: {"ok": 1}, batch=False)
    with pytest.raises(InputError) as info:  # a list's own message, not "a number"
        series.validate({"values": True})
    assert info.value.errors[0]["rule"] == "Input should be a valid list"

    class Matrix(BaseModel):
        grid: list[list[float]]
        names: list[list[str]] = []

    matrix = Model(name="m", title="m", description="", version="1", inputs=Matrix,
                   compute=lambda inputs: {"ok": 1}, batch=False)
    assert matrix.validate({"grid": [[1, 0.5], ["2", 3]]})["grid"] == [[1.0, 0.5], [2.0, 3.0]]
    with pytest.raises(InputError) as info:  # a matrix's items, named by row and column
        matrix.validate({"grid": [[1, 0.5], [False, 3], [True, True]]})
    assert [(e["field"], e["value"]) for e in info.value.errors] == \
        [("grid.1.0", False), ("grid.2.0", True), ("grid.2.1", True)]
    with pytest.raises(InputError) as info:  # a matrix of text refuses them as pydantic does
        matrix.validate({"grid": [[1]], "names": [["a", True]]})
    assert [e["field"] for e in info.value.errors] == ["names.0.1"]
    with pytest.raises(InputError) as info:  # a series' items: named by place
        series.validate({"values": [1.5, True, 2, False]})
    assert [(e["field"], e["value"]) for e in info.value.errors] == [("values.1", True), ("values.3", False)]
    assert series.validate({"values": [1.5, "2", 3]}) == {"values": [1.5, 2.0, 3.0]}


def test_a_check_of_the_whole_run_names_the_input_a_field_error_names():
    from pydantic import AliasChoices, BaseModel, Field, model_validator

    from flask_qed import FieldError

    class Inputs(BaseModel):
        low: float
        high: float = Field(..., validation_alias=AliasChoices("high", "upper"))
        steps: list[float] = [1.0]

        @model_validator(mode="after")
        def _ordered(self) -> "Inputs":
            if self.high < self.low:
                raise FieldError("high", "must be at least low")
            if len(self.steps) > 3:
                raise ValueError("low, high and steps disagree")
            return self

    model = Model(name="toy", title="toy", description="", version="1", inputs=Inputs,
                  compute=lambda inputs: {"ok": 1}, batch=True)
    for given, field in (({"low": 2, "high": 1}, "high"), ({"low": 2, "upper": 1}, "upper")):
        with pytest.raises(InputError) as info:
            model.validate([{"low": 0, "high": 1}, given])
        assert info.value.errors == [{"run": "1", "field": field, "value": 1, "rule": "must be at least low"}]
    with pytest.raises(InputError) as info:  # no input named: the run's inputs, no value shown
        model.validate({"low": 0, "high": 1, "steps": [0.5, 1, 2, 3]})
    assert [(e["field"], e["value"]) for e in info.value.errors] == [("inputs", None)]
    with pytest.raises(InputError) as info:  # a run that is not an object still shows what it was
        model.validate([{"low": 0, "high": 1}, [1, 2]])
    assert [(e["run"], e["field"], e["value"]) for e in info.value.errors] == [("1", "inputs", "[1, 2]")]


def test_a_number_or_a_list_of_numbers_refuses_booleans_in_both_forms_and_names_no_union_member():
    """An input that is a number or a list of them (HMS's boundary_flow) refuses ``true``
    as the value and as an item; its errors name the input (``flow``, ``flow.1``), never
    pydantic's member of the union (``flow.list[float]``), and only the form given: a
    list's items' errors for a list, a number's error for text. A model's own check has
    no "Value error, " before its rule."""
    from typing import Union

    from pydantic import BaseModel, model_validator

    class Inputs(BaseModel):
        flow: Union[float, list[float]] = 0.0
        steps: int = 1

        @model_validator(mode="after")
        def _count(self) -> "Inputs":
            if isinstance(self.flow, list) and len(self.flow) != self.steps:
                raise ValueError(f"flow has {len(self.flow)} values for {self.steps} steps")
            return self

    model = Model(name="toy", title="toy", description="", version="1", inputs=Inputs,
                  compute=lambda inputs: {"ok": 1}, batch=False)
    assert model.validate({"flow": [1, 2], "steps": 2})["flow"] == [1.0, 2.0]
    cases = [({"flow": True}, [("flow", "Input should be a number, not true")]),
             ({"flow": [1, True, 3], "steps": 3}, [("flow.1", "Input should be a number, not true")]),
             ({"flow": [1, "x", 3], "steps": 3},
              [("flow.1", "Input should be a valid number, unable to parse string as a number")]),
             ({"flow": "abc"}, [("flow", "Input should be a valid number, unable to parse string as a number")]),
             ({"flow": [1, 2, 3]}, [("inputs", "flow has 3 values for 1 steps")])]
    for given, expected in cases:
        with pytest.raises(InputError) as info:
            model.validate(given)
        assert [(e["field"], e["rule"]) for e in info.value.errors] == expected, given
    with pytest.raises(InputError) as info:  # neither form: one error that names both
        model.validate({"flow": {"a": 1}})
    assert [(e["field"], e["rule"]) for e in info.value.errors] == \
        [("flow", "Input should be a valid number or a valid list")]
