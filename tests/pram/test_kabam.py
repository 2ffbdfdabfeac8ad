"""KABAM: validation rules, food-web identities, user rate constants, batches."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from pram_flask.models import kabam
from tests.pram.qaqc import input_errors, load_cases, outputs, pram_model

MODEL = pram_model("kabam")


def _base(case: int = 2) -> dict:
    """EPA's QA/QC case number ``case`` (its blanks left out)."""
    inputs = next(i for c, i, _ in load_cases("kabam") if c == str(case))
    return {k: v for k, v in inputs.items() if v != ""}


_run = functools.partial(outputs, "kabam")
_errors = functools.partial(input_errors, "kabam")


def test_diet_must_add_up_to_100_percent() -> None:
    errors = _errors({**_base(), "sfish_diet_beninv": "20"})
    assert errors[0]["run"] == "0" and "sfish diet" in errors[0]["rule"]


def test_other_tested_species_needs_its_body_weight() -> None:
    assert "bw_other_bird" in _errors({**_base(), "species_of_the_tested_bird": "other"})[0]["rule"]
    assert "bw_other_mammal" in _errors({**_base(), "species_of_the_tested_mammal": "other"})[0]["rule"]


@pytest.mark.parametrize("field,value", [
    ("zoo_k1_temp", "-1"), ("lfish_ke_temp", "fast"), ("zoo_lipid", "0"), ("sediment_oc", "120"),
    ("mammalian_chronic_endpoint_unit", "mg/L"), ("beninv_respire", "maybe"), ("conc_do", "0"),
])
def test_bad_values_name_the_field(field: str, value: str) -> None:
    assert _errors({**_base(), field: value})[0]["field"] == field


def test_text_options_are_case_insensitive() -> None:
    upper = {**_base(), "species_of_the_tested_bird": "Quail", "zoo_k1_temp": "Calculated",
             "beninv_respire": "YES"}
    assert _run(upper) == _run(_base())


def test_residue_is_respiratory_plus_dietary_part() -> None:
    out = _run(_base(4))
    for org in kabam.ANIMALS:
        assert out[f"out_cb_{org}"]["0"] == pytest.approx(
            out[f"out_cbr_{org}"]["0"] + out[f"out_cbd_{org}"]["0"], rel=1e-12)
    assert out["out_cb_phytoplankton"]["0"] == pytest.approx(out["out_cbr_phytoplankton"]["0"])


def test_factors_follow_from_the_residues() -> None:
    inputs = _base(4)
    out = _run(inputs)
    wc = float(inputs["water_column_eec"])
    free = out["out_free_pest_conc_watercol"]["0"]
    assert 0 < free < wc  # organic carbon binds part of the pesticide
    for org in kabam.ORGANISMS:
        cb, lipid = out[f"out_cb_{org}"]["0"], float(inputs[f"{org}_lipid"]) / 100
        assert out[f"out_cbaf_{org}"]["0"] == pytest.approx(cb / wc)
        assert out[f"out_cbl_{org}"]["0"] == pytest.approx(cb / lipid)
        assert out[f"out_cbafl_{org}"]["0"] == pytest.approx(cb / lipid / free)


def test_user_rate_constants_override_calculated_ones() -> None:
    inputs = _base(4)
    typed = MODEL.validate(inputs)["rows"][0]
    columns = {k: np.array([v], dtype=object if isinstance(v, str) or v is None else float)
               for k, v in typed.items()}
    kow = 10.0 ** float(inputs["log_kow"])
    rates = kabam.rate_constants(columns, np.array([kow]), kabam._composition(columns))
    given = dict(inputs)
    for org in kabam.ANIMALS:
        for k in ("k1", "k2", "kd", "ke"):
            given[f"{org}_{k}_temp"] = float(rates[org][k][0])
    same, base = _run(given), _run(inputs)
    for name in kabam.OUTPUTS:
        a, b = same[name]["0"], base[name]["0"]
        assert (a is None and b is None) or a == pytest.approx(b, rel=1e-9), name
    doubled = _run({**given, "lfish_k1_temp": 2 * float(rates["lfish"]["k1"][0])})
    assert doubled["out_cbr_lfish"]["0"] > base["out_cbr_lfish"]["0"]
    assert doubled["out_cb_mfish"]["0"] == pytest.approx(base["out_cb_mfish"]["0"])


def test_missing_mammal_lc50_gives_null_not_nan() -> None:
    inputs = {k: v for k, v in _base().items() if k != "mammalian_lc50"}
    out = _run(inputs)
    assert out["out_acute_rq_diet_m0"]["0"] is None
    assert out["out_acute_rq_dose_m0"]["0"] > 0


def test_chronic_endpoint_units() -> None:
    ppm = _run({**_base(), "mammalian_chronic_endpoint_unit": "ppm"})
    dose = _run({**_base(), "mammalian_chronic_endpoint_unit": "mg/kg-bw"})
    for i in range(6):
        assert dose[f"out_chronic_diet_based_m{i}"]["0"] == pytest.approx(20 * ppm[f"out_chronic_diet_based_m{i}"]["0"])
        assert dose[f"out_chronic_dose_based_m{i}"]["0"] == pytest.approx(20 * ppm[f"out_chronic_dose_based_m{i}"]["0"])


def test_every_output_is_declared() -> None:
    assert set(_run(_base())) == set(kabam.OUTPUTS)


def test_ten_thousand_row_batch() -> None:
    rows = [{**_base(2 * (i % 3)), "water_column_eec": 1 + i % 7, "log_kow": 3 + (i % 40) / 10}
            for i in range(10_000)]
    out = _run(rows)
    assert all(len(values) == 10_000 for values in out.values())
    bad = [name for name, values in out.items()
           if not all(v is not None and math.isfinite(v) for v in values.values())]
    assert bad == []
