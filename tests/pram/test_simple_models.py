"""Focused tests of the terrplant, sip, stir, iec and earthworm models.

The QA/QC values are checked in test_qaqc_science.py; here: validation rules,
large batches, level-of-concern thresholds and physical relations between
outputs that follow from the equations.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from flask_qed.model import InputError
from tests.pram.qaqc import case_inputs, outputs, pram_model

MODELS = ["terrplant", "sip", "stir", "iec", "earthworm"]


_model, _case, _run = pram_model, case_inputs, outputs


def _one(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v["0"] for k, v in _run(name, inputs).items()}


def _errors(name: str, inputs: Any) -> list[dict[str, Any]]:
    with pytest.raises(InputError) as info:
        _model(name).validate(inputs)
    return info.value.errors


# -- declarations and batches ------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_outputs_match_declaration_and_inputs_carry_units(name: str) -> None:
    m = _model(name)
    outputs = _one(name, _case(name))
    assert set(outputs) == set(m.outputs)
    assert all(spec["units"] and spec["description"] for spec in m.outputs.values())
    props = m.describe()["inputs"]["properties"]
    numeric = [k for k, v in props.items() if "units" in v]
    assert numeric, "numeric inputs must declare units"


def _random_rows(name: str, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Row-list batch of n valid runs with inputs drawn over wide ranges."""
    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    def logu(lo: float, hi: float) -> np.ndarray:
        return 10.0 ** rng.uniform(math.log10(lo), math.log10(hi), n)

    cols: dict[str, Any] = {}
    if name == "terrplant":
        cols = {"incorporation_depth": u(0.5, 6), "application_rate": logu(0.01, 10),
                "drift_fraction": u(0, 1), "runoff_fraction": u(0, 1)}
        for field in _model(name).inputs.model_fields:
            if field.startswith(("ec25", "noaec")):
                cols[field] = logu(1e-5, 10)
    elif name == "sip":
        cols = {"solubility": logu(0.01, 1e5), "ld50_mammal_water": logu(1, 5000),
                "noael_mammal_water": logu(0.01, 100), "ld50_avian_water": logu(1, 5000),
                "mineau_scaling_factor": u(1, 1.5), "noaec_duck": logu(0.5, 500),
                "noaec_quail": logu(0.5, 500),
                "ld50_species_tested_mammal": rng.choice(["laboratory rat", "other"], n),
                "ld50_bodyweight_tested_mammal_other": u(20, 500),
                "noael_species_tested_mammal": rng.choice(["laboratory rat", "other"], n),
                "noael_bodyweight_tested_mammal_other": u(20, 500),
                "ld50_species_tested_bird": rng.choice(["bobwhite quail", "mallard duck", "other"], n),
                "ld50_bodyweight_tested_bird_other": u(10, 2000)}
    elif name == "stir":
        cols = {"application_rate": logu(0.01, 10), "column_height": u(1, 5),
                "spray_drift_fraction": u(0, 1), "direct_spray_duration": u(0, 2),
                "molecular_weight": u(50, 600), "vapor_pressure": logu(1e-9, 1),
                "avian_oral_ld50": logu(1, 5000), "body_weight_assessed_bird": u(0.01, 2),
                "body_weight_tested_bird": u(0.1, 2), "mineau_scaling_factor": u(1, 1.5),
                "mammal_inhalation_lc50": logu(0.01, 10), "duration_mammal_inhalation_study": u(1, 8),
                "body_weight_assessed_mammal": u(0.01, 1), "body_weight_tested_mammal": u(0.2, 0.5),
                "mammal_oral_ld50": logu(1, 5000)}
    elif name == "iec":
        cols = {"lc50": logu(0.01, 1e4), "threshold": logu(1e-3, 100), "dose_response": u(0.5, 9)}
    elif name == "earthworm":
        cols = {"k_ow": logu(1, 1e8), "l_f_e": u(0, 0.2), "c_s": logu(1e-3, 10),
                "k_d": logu(1e-3, 1e5), "p_s": u(1, 2)}
    return [{k: col[i].item() for k, col in cols.items()} for i in range(n)]


@pytest.mark.parametrize("name", MODELS)
def test_ten_thousand_runs_return_ten_thousand_finite_rows(name: str) -> None:
    n = 10_000
    outputs = _run(name, _random_rows(name, n, np.random.default_rng(7)))
    for out_name, values in outputs.items():
        assert len(values) == n, out_name
        assert set(values) == {str(i) for i in range(n)}, out_name
        leaked = [k for k, v in values.items()
                  if v is None or (isinstance(v, float) and not math.isfinite(v))]
        assert not leaked, f"{out_name}: null at runs {leaked[:5]}"


@pytest.mark.parametrize("name", MODELS)
def test_nan_and_missing_inputs_are_rejected(name: str) -> None:
    inputs = _case(name)
    schema = _model(name).describe()["inputs"]
    numeric = next(k for k in schema["required"] if "units" in schema["properties"][k])
    assert _errors(name, {**inputs, numeric: float("nan")})[0]["field"] == numeric
    missing = {k: v for k, v in inputs.items() if k != numeric}
    assert any(e["field"] == numeric for e in _errors(name, missing))


# -- terrplant ---------------------------------------------------------------

@pytest.mark.parametrize("field,value", [("drift_fraction", 1.5), ("runoff_fraction", -0.1),
                                         ("incorporation_depth", 0),
                                         ("noaec_listed_vegetative_vigor_dicot", 0)])
def test_terrplant_rejects_out_of_range(field: str, value: float) -> None:
    batch = {k: {"0": v, "1": v} for k, v in _case("terrplant").items()}
    batch[field]["1"] = value
    errors = _errors("terrplant", batch)
    assert [(e["run"], e["field"]) for e in errors] == [("1", field)]


def test_terrplant_exposure_relations_and_spray_uses_lowest_endpoint() -> None:
    inputs = _case("terrplant", 5)
    out = _one("terrplant", inputs)
    assert math.isclose(out["out_run_semi"], 10 * out["out_run_dry"])
    assert math.isclose(out["out_total_dry"], out["out_run_dry"] + out["out_spray"])
    seedling = float(inputs["ec25_nonlisted_seedling_emergence_dicot"])
    vigor = float(inputs["ec25_nonlisted_vegetative_vigor_dicot"])
    assert out["out_min_nds_spray"] == min(seedling, vigor)
    assert math.isclose(out["out_nds_rq_spray"], out["out_spray"] / min(seedling, vigor))
    assert math.isclose(out["out_nds_rq_dry"], out["out_total_dry"] / seedling)


def test_terrplant_rq_of_exactly_one_is_a_potential_risk() -> None:
    inputs = {**_case("terrplant"), "application_rate": 1, "drift_fraction": 0.5,
              "runoff_fraction": 0, "ec25_nonlisted_seedling_emergence_monocot": 0.5,
              "ec25_nonlisted_vegetative_vigor_monocot": 0.5}
    out = _one("terrplant", inputs)
    assert out["out_nms_rq_spray"] == 1.0 and out["out_nms_rq_dry"] == 1.0
    assert out["out_nms_loc_spray"].endswith("spray drift indicates a potential risk.")
    assert out["out_nms_loc_dry"].endswith("dry areas indicates a potential risk.")
    low = _one("terrplant", {**inputs, "application_rate": 0.999})
    assert low["out_nms_loc_spray"].endswith("indicates that potential risk is minimal.")


# -- sip ---------------------------------------------------------------------

@pytest.mark.parametrize("species_field,weight_field", [
    ("ld50_species_tested_mammal", "ld50_bodyweight_tested_mammal_other"),
    ("noael_species_tested_mammal", "noael_bodyweight_tested_mammal_other"),
    ("ld50_species_tested_bird", "ld50_bodyweight_tested_bird_other")])
def test_sip_other_species_needs_its_body_weight(species_field: str, weight_field: str) -> None:
    inputs = {**_case("sip"), species_field: "other"}
    inputs.pop(weight_field, None)
    errors = _errors("sip", inputs)
    assert len(errors) == 1 and weight_field in errors[0]["rule"]
    assert _one("sip", {**inputs, weight_field: 350})["out_dose_bird"] > 0


def test_sip_rejects_unknown_species_and_accepts_other_spellings() -> None:
    errors = _errors("sip", {**_case("sip"), "ld50_species_tested_bird": "pigeon"})
    assert errors[0]["field"] == "ld50_species_tested_bird"
    assert "mallard duck" in errors[0]["rule"]
    loose = _one("sip", {**_case("sip"), "ld50_species_tested_bird": "  Bobwhite   Quail "})
    assert loose == _one("sip", _case("sip"))


def test_sip_other_bird_noaec_needs_weight_and_lowers_the_chronic_value() -> None:
    base = _case("sip")
    errors = _errors("sip", {**base, "noaec_bird_other_1": 1.0})
    assert "noaec_bodyweight_bird_other_1" in errors[0]["rule"]
    plain = _one("sip", base)
    sensitive = _one("sip", {**base, "noaec_bird_other_2": 0.001, "noaec_bodyweight_bird_other_2": 500})
    assert sensitive["out_det"] < plain["out_det"]
    assert sensitive["out_chron_bird"] > plain["out_chron_bird"]
    tolerant = _one("sip", {**base, "noaec_bird_other_1": 1e6, "noaec_bodyweight_bird_other_1": 500})
    assert tolerant["out_det"] == plain["out_det"]


def test_sip_same_weights_as_standard_species_give_same_results() -> None:
    base = _case("sip")  # laboratory rat (350 g), bobwhite quail (178 g)
    other = {**base, "ld50_species_tested_mammal": "other", "ld50_bodyweight_tested_mammal_other": 350,
             "ld50_species_tested_bird": "other", "ld50_bodyweight_tested_bird_other": 178}
    a, b = _one("sip", base), _one("sip", other)
    assert a["out_at_bird"] == pytest.approx(b["out_at_bird"])
    assert a["out_at_mamm"] == pytest.approx(b["out_at_mamm"])


@pytest.mark.parametrize("ratio,limit,text", [
    ("out_acute_bird", 0.1, "out_acuconb"), ("out_acute_mamm", 0.1, "out_acuconm"),
    ("out_chron_bird", 1.0, "out_chronconb"), ("out_chron_mamm", 1.0, "out_chronconm")])
def test_sip_level_of_concern_follows_its_threshold(ratio: str, limit: float, text: str) -> None:
    out = _run("sip", _random_rows("sip", 2000, np.random.default_rng(3)))
    values = [(out[ratio][k], out[text][k]) for k in out[ratio]]
    assert {t.startswith("Drinking water exposure alone is NOT") for r, t in values if r < limit} == {True}
    assert {t.startswith("Exposure through drinking water alone is a") for r, t in values if r >= limit} \
        == {True}


# -- stir --------------------------------------------------------------------

def test_stir_no_spray_drift_means_no_droplet_dose() -> None:
    out = _one("stir", {**_case("stir"), "spray_drift_fraction": 0})
    assert out["out_sid_avian"] == 0 and out["out_sid_mammal"] == 0
    assert out["out_loc_sid_avian"] == out["out_loc_sid_mammal"] == "Exposure not Likely Significant"


def test_stir_vapour_dose_is_proportional_to_vapour_pressure() -> None:
    base = _case("stir")
    a = _one("stir", base)
    b = _one("stir", {**base, "vapor_pressure": 2 * float(base["vapor_pressure"])})
    assert b["out_vid_avian"] == pytest.approx(2 * a["out_vid_avian"])
    assert b["out_vid_mammal"] == pytest.approx(2 * a["out_vid_mammal"])
    assert b["out_sid_avian"] == a["out_sid_avian"]


@pytest.mark.parametrize("field", ["spray_drift_fraction", "column_height", "body_weight_tested_bird"])
def test_stir_rejects_out_of_range(field: str) -> None:
    value = 2 if field == "spray_drift_fraction" else 0
    assert _errors("stir", {**_case("stir"), field: value})[0]["field"] == field


def test_stir_level_of_concern_follows_ratio() -> None:
    out = _run("stir", _random_rows("stir", 2000, np.random.default_rng(5)))
    for key in ("vid_avian", "sid_avian", "vid_mammal", "sid_mammal"):
        for run, ratio in out[f"out_ratio_{key}"].items():
            want = "Exposure not Likely Significant" if ratio < 0.1 else "Proceed to Refinements"
            assert out[f"out_loc_{key}"][run] == want


# -- iec ---------------------------------------------------------------------

def test_iec_threshold_at_the_lc50_is_an_even_chance() -> None:
    out = _one("iec", {"lc50": 3.0, "threshold": 1.0, "dose_response": 4.5})
    assert out["out_z_score_f"] == pytest.approx(0.0, abs=1e-15)
    assert out["out_f8_f"] == pytest.approx(0.5)
    assert out["out_chance_f"] == pytest.approx(2.0)


def test_iec_probabilities_are_symmetric_and_independent_of_lc50() -> None:
    runs = [{"lc50": lc50, "threshold": t, "dose_response": 3.0}
            for lc50 in (0.5, 800.0) for t in (0.2, 5.0)]
    out = _run("iec", runs)
    f8 = [out["out_f8_f"][str(i)] for i in range(4)]
    assert f8[0] + f8[1] == pytest.approx(1.0) and f8[2] + f8[3] == pytest.approx(1.0)
    assert f8[0] == pytest.approx(f8[2]) and f8[1] == pytest.approx(f8[3])


def test_iec_far_tail_stays_finite() -> None:
    out = _one("iec", {"lc50": 1.0, "threshold": 1e-3, "dose_response": 9.0})  # z = -27
    assert 0 < out["out_f8_f"] < 1e-100
    assert out["out_chance_f"] == pytest.approx(1 / out["out_f8_f"])


@pytest.mark.parametrize("field", ["lc50", "threshold", "dose_response"])
def test_iec_rejects_non_positive(field: str) -> None:
    inputs = {"lc50": 1.0, "threshold": 0.25, "dose_response": 4.5, field: 0}
    assert _errors("iec", inputs)[0]["field"] == field


# -- earthworm ---------------------------------------------------------------

def test_earthworm_scales_with_kow_and_soil_concentration() -> None:
    base = _case("earthworm")
    a = _one("earthworm", base)["out_earthworm_fugacity"]
    assert _one("earthworm", {**base, "k_ow": 10 * float(base["k_ow"])})["out_earthworm_fugacity"] \
        == pytest.approx(10 * a)
    assert _one("earthworm", {**base, "k_d": 2 * float(base["k_d"])})["out_earthworm_fugacity"] \
        == pytest.approx(a / 2)
    assert _one("earthworm", {**base, "c_s": 0})["out_earthworm_fugacity"] == 0


@pytest.mark.parametrize("field,value", [("l_f_e", 1.2), ("k_d", 0), ("p_s", -1), ("k_ow", 0)])
def test_earthworm_rejects_out_of_range(field: str, value: float) -> None:
    assert _errors("earthworm", {**_case("earthworm"), field: value})[0]["field"] == field


def test_model_names() -> None:
    assert [_model(n).name for n in MODELS] == MODELS
