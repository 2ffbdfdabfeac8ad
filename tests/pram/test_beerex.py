"""BeeREX: validation rules, EEC per application method, empirical residues, batches."""
from __future__ import annotations

import functools
import math

import pytest

from pram_flask.models import beerex
from tests.pram.qaqc import input_errors, load_cases, outputs, pram_model

MODEL = pram_model("beerex")


def _base() -> dict:
    (_, inputs, _), *_ = load_cases("beerex")  # case 0: soil application, model EEC
    return dict(inputs)


_run = functools.partial(outputs, "beerex")
_errors = functools.partial(input_errors, "beerex")


@pytest.mark.parametrize("change,fragment", [
    ({"empirical_residue": "yes"}, "empirical_pollen"),
    ({"log_kow": ""}, "log_kow"),
    ({"application_method": "tree trunk"}, "mass_tree_vegetation"),
])
def test_cross_field_rules(change: dict, fragment: str) -> None:
    inputs = {k: v for k, v in {**_base(), **change}.items() if v != ""}
    errors = _errors(inputs)
    assert errors[0]["run"] == "0" and fragment in errors[0]["rule"]


@pytest.mark.parametrize("field,value", [
    ("application_method", "dusting"), ("empirical_residue", "maybe"),
    ("larval_ld50", "0"), ("adult_oral_noael", "-1"), ("application_rate", "abc"),
])
def test_bad_values_name_the_field(field: str, value: str) -> None:
    errors = _errors({**_base(), field: value})
    assert errors[0]["field"] == field


def test_method_text_is_case_insensitive() -> None:
    out = _run({**_base(), "application_method": "Soil Application", "empirical_residue": "NO"})
    assert out["out_eec"]["0"] == out["out_eec_soil"]["0"] > 0


def test_eec_only_for_the_chosen_method() -> None:
    rate = 2.0
    runs = [{**_base(), "application_rate": rate, "application_method": "foliar spray"},
            {**_base(), "application_rate": rate, "application_method": "seed treatment"},
            {**_base(), "application_rate": rate, "application_method": "tree trunk",
             "mass_tree_vegetation": 40.0}]
    out = _run(runs)
    assert out["out_eec_spray"]["0"] == pytest.approx(110 * rate / 1000)
    assert out["out_eec_seed"]["1"] == pytest.approx(1 / 1000)
    assert out["out_eec_tree"]["2"] == pytest.approx(rate / 40.0 / 1000)
    for run, own in (("0", "spray"), ("1", "seed"), ("2", "tree")):
        assert out["out_eec"][run] == out[f"out_eec_{own}"][run]
        others = {"spray", "soil", "seed", "tree"} - {own}
        assert all(out[f"out_eec_{o}"][run] is None for o in others)


def test_empirical_residues_replace_the_model_eec() -> None:
    inputs = {**_base(), "empirical_residue": "yes", "empirical_pollen": 2.0,
              "empirical_nectar": 0.5, "empirical_jelly": 0.1}
    out = _run(inputs)
    jelly, pollen, nectar = 0.1 / 1000, 2.0 / 1000, 0.5 / 1000
    assert out["out_lw1_total_dose"]["0"] == pytest.approx(jelly * float(inputs["lw1_jelly"]))
    assert out["out_aw_pollen_total_dose"]["0"] == pytest.approx(
        pollen * float(inputs["aw_fpollen_pollen"]) + nectar * float(inputs["aw_fpollen_nectar"]))
    assert out["out_aq_total_dose"]["0"] == pytest.approx(jelly * float(inputs["aq_jelly"]))


def test_risk_quotients_divide_by_the_right_endpoint() -> None:
    inputs = _base()
    out = _run(inputs)
    assert out["out_lq4_acute_rq"]["0"] == pytest.approx(
        out["out_lq4_total_dose"]["0"] / float(inputs["larval_ld50"]))
    assert out["out_ad_chronic_rq"]["0"] == pytest.approx(
        out["out_ad_total_dose"]["0"] / float(inputs["adult_oral_noael"]))


def test_default_consumption_rates_are_the_beerex_defaults() -> None:
    inputs = {k: v for k, v in _base().items() if not k.startswith(("lw", "ld", "lq", "aw_", "ad_", "aq_"))}
    assert _run(inputs) == _run(_base())


def test_schema_carries_units_and_every_output_is_declared() -> None:
    schema = MODEL.describe()["inputs"]["properties"]
    assert schema["adult_oral_ld50"]["units"] == "ug a.i./bee"
    assert schema["lw1_jelly"]["default"] == 1.9
    assert set(_run(_base())) == set(beerex.OUTPUTS)


def test_ten_thousand_row_batch() -> None:
    rows = []
    for i in range(10_000):
        row = {**_base(), "application_rate": 0.1 + i % 50}
        if i % 2:
            row.update(application_method="foliar spray")
        rows.append(row)
    out = _run(rows)
    assert all(len(values) == 10_000 for values in out.values())
    for name in beerex.OUTPUTS:
        if name.startswith("out_eec_"):
            continue
        assert all(v is not None and math.isfinite(v) for v in out[name].values()), name
