"""AgDRIFT Tier I: validation, deposition curves, forward/inverse calculations, batches."""
from __future__ import annotations

import csv
import functools
import importlib
import math
from pathlib import Path

import numpy as np
import pytest

from pram_flask.models import agdrift
from tests.pram.qaqc import case_inputs, input_errors, load_cases, outputs, pram_model

MODEL = pram_model("agdrift")

POND = {"application_rate": 0.5, "application_method": "tier_1_aerial", "drop_size_aerial": "fine_to_medium",
        "ecosystem_type": "aquatic_assessment", "aquatic_body_type": "epa_defined_pond",
        "calculation_input": "distance_to_point_or_area_ft", "downwind_distance": 100}
POINT = {"application_rate": 0.5, "application_method": "tier_1_ground", "drop_size_ground": "very_fine",
         "boom_height": "low", "ecosystem_type": "terrestrial_assessment",
         "terrestrial_field_type": "epa_defined_terrestrial",
         "calculation_input": "distance_to_point_or_area_ft", "downwind_distance": 50}


_run = functools.partial(outputs, "agdrift")
_errors = functools.partial(input_errors, "agdrift")


def _table_column(name: str) -> tuple[np.ndarray, np.ndarray]:
    with open(agdrift.DATA_FILE, newline="") as fh:
        rows = [(float(r["distance_ft"]), float(r[name])) for r in csv.DictReader(fh) if r[name]]
    x, y = zip(*rows)
    return np.array(x), np.array(y)


@pytest.mark.parametrize("change,fragment", [
    ({"drop_size_aerial": None}, "drop_size_aerial"),
    ({"application_method": "tier_1_ground"}, "boom_height"),
    ({"aquatic_body_type": "user_defined_wetland"}, "user_wetland_width"),
    ({"calculation_input": "fraction_of_applied"}, "user_frac_applied"),
    ({"calculation_input": "initial_deposition_mgcm2", "user_avg_dep_mgcm2": 1e-6}, "terrestrial"),
    ({"ecosystem_type": "terrestrial_assessment"}, "terrestrial_field_type"),
])
def test_scenario_must_be_complete(change: dict, fragment: str) -> None:
    inputs = {k: v for k, v in {**POND, **change}.items() if v is not None}
    errors = _errors(inputs)
    assert errors[0]["run"] == "0" and fragment in errors[0]["rule"]


@pytest.mark.parametrize("field,value", [
    ("downwind_distance", 2e6), ("downwind_distance", -1), ("application_rate", 0),
    ("drop_size_aerial", "huge"), ("calculation_input", "distance"), ("user_pond_width", 0),
])
def test_bad_values_name_the_field(field: str, value: object) -> None:
    assert _errors({**POND, field: value})[0]["field"] == field


def test_blank_irrelevant_fields_are_ignored() -> None:
    noisy = {**POND, "drop_size_ground": " ", "boom_height": "", "user_terrestrial_width": " "}
    assert _run(noisy) == _run(POND)


def test_data_is_package_data_loaded_lazily_once() -> None:
    assert agdrift.DATA_FILE.parent.parent == Path(agdrift.__file__).parent
    fresh = importlib.reload(agdrift)
    assert fresh.curves.cache_info().currsize == 0
    first = fresh.curves()
    assert fresh.curves() is first and len(first) == 13


def test_curves_are_extended_to_twice_the_table() -> None:
    for name, (x, y) in agdrift.curves().items():
        tx, ty = _table_column(name)
        assert np.array_equal(x[:len(tx)], tx) and np.array_equal(y[:len(ty)], ty)
        assert x[-1] >= 2 * agdrift.MAX_DISTANCE and np.all(np.diff(x) > 0)
        tail = y[len(ty):]
        assert np.all(tail > 0) and np.all(np.diff(tail) < 0), name


def test_point_deposition_is_read_off_the_curve() -> None:
    x, y = _table_column("ground_low_vf")
    out = _run(POINT)
    foa = np.interp(50, x, y)
    assert out["out_avg_dep_foa"]["0"] == pytest.approx(round(foa, 4))  # shown to 4 decimals
    assert out["out_avg_dep_lbac"]["0"] == pytest.approx(round(foa * 0.5, 4))
    assert out["out_avg_waterconc_ngl"]["0"] is None
    assert out["out_sim_scenario_chk"]["0"] == "Valid Tier I Terrestrial Ground Scenario"
    assert out["out_sim_scenario_id"]["0"] == "ground_low_vf"


def test_pond_average_lies_between_near_and_far_edge_depositions() -> None:
    x, y = agdrift.curves()["aerial_f2m"]
    foa = _run(POND)["out_avg_dep_foa"]["0"]
    assert np.interp(100 + agdrift.DEFAULT_WIDTH, x, y) < foa < np.interp(100, x, y)


@pytest.mark.parametrize("distance", [0, 40, 250, 700, 990])
def test_inverse_finds_the_distance_back(distance: float) -> None:
    forward = _run({**POND, "downwind_distance": distance})
    foa = forward["out_avg_dep_foa"]["0"]
    back = _run({**POND, "calculation_input": "fraction_of_applied", "user_frac_applied": foa})
    assert back["out_range_chk"]["0"] == "in range"
    assert abs(back["out_distance_downwind"]["0"] - distance) <= 2 * agdrift.EXTENSION_STEP
    assert back["out_avg_dep_foa"]["0"] == pytest.approx(foa)


def test_units_of_deposition_inputs_agree() -> None:
    lbac = 0.004
    by_unit = {
        "initial_deposition_lbac": {"user_avg_dep_lbac": lbac},
        "initial_deposition_gha": {"user_avg_dep_gha": lbac * agdrift.GRAMS_PER_LB * agdrift.ACRES_PER_HECTARE},
        "fraction_of_applied": {"user_frac_applied": lbac / 0.5},
        "initial_concentration_ngL": {"user_avg_conc_ngl": float(agdrift._lbac_to_ngl(np.array(lbac), 6.56))},
    }
    results = [_run({**POND, "calculation_input": calc, **value}) for calc, value in by_unit.items()]
    for name in ("out_distance_downwind", "out_avg_dep_foa", "out_avg_dep_gha", "out_avg_waterconc_ngl"):
        assert len({r[name]["0"] for r in results}) == 1, name


def test_deposition_never_reached_is_out_of_range() -> None:
    out = _run({**POND, "calculation_input": "fraction_of_applied", "user_frac_applied": 1e-9})
    assert out["out_range_chk"]["0"] == "out of range" and out["out_distance_downwind"]["0"] is None
    near = _run({**POND, "calculation_input": "fraction_of_applied", "user_frac_applied": 0.9})
    assert near["out_distance_downwind"]["0"] == 0.0


USER_POND = {**POND, "aquatic_body_type": "user_defined_pond", "user_pond_depth": 6.56}


@pytest.mark.parametrize("change", [{"downwind_distance": 998}, {"user_pond_width": 1200},
                                    {"user_pond_width": 5}])
def test_distance_runs_past_the_curves_are_invalid_scenarios_as_in_ubertool(change: dict) -> None:
    """ubertool's agdrift_exe: a distance run whose area starts past 997 ft or is narrower than
    6.56 ft or wider than 997 ft is named 'Invalid ... Due to Distance Violation', no deposition."""
    out = _run({**USER_POND, "user_pond_width": 300, **change})
    assert out["out_sim_scenario_chk"]["0"] == "Invalid Tier I Aquatic Aerial Scenario Due to Distance Violation"
    assert out["out_range_chk"]["0"] == "out of range"
    assert out["out_avg_dep_foa"]["0"] is None and out["out_avg_waterconc_ngl"]["0"] is None
    assert out["out_distance_downwind"]["0"] == change.get("downwind_distance", 100)
    assert out["out_area_width"]["0"] == change.get("user_pond_width", 300)
    valid = _run({**USER_POND, "user_pond_width": 997, "downwind_distance": 997})
    assert valid["out_sim_scenario_chk"]["0"] == "Valid Tier I Aquatic Aerial Scenario"
    assert valid["out_range_chk"]["0"] == "in range" and valid["out_avg_dep_foa"]["0"] > 0


def test_wide_areas_are_found_or_out_of_range_as_in_ubertool() -> None:
    """Inverse runs take any width (ubertool's locate_integrated_avg): the running average over a
    1,200 ft pond is found on the extended curve; over a pond wider than the curve it is out of range."""
    wide = {**USER_POND, "user_pond_width": 1200, "calculation_input": "fraction_of_applied"}
    x, y = agdrift.curves()["aerial_f2m"]
    target = float(agdrift.area_average(x, y, np.array([50.0]), np.array([1200.0]))[0])
    out = _run({**wide, "user_frac_applied": target})
    assert out["out_sim_scenario_chk"]["0"] == "Valid Tier I Aquatic Aerial Scenario"
    assert out["out_range_chk"]["0"] == "in range"
    assert abs(out["out_distance_downwind"]["0"] - 50) <= 2 * agdrift.EXTENSION_STEP
    too_wide = _run({**wide, "user_pond_width": 5000, "user_frac_applied": target})
    assert too_wide["out_range_chk"]["0"] == "out of range" and too_wide["out_distance_downwind"]["0"] is None


def test_a_point_past_its_extended_curve_is_invalid() -> None:
    x, y = agdrift.curves()["ground_low_vf"]
    inside = _run({**POINT, "downwind_distance": 1500})
    assert inside["out_avg_dep_foa"]["0"] == pytest.approx(float(agdrift.opp_round(np.interp(1500, x, y))))
    assert inside["out_sim_scenario_chk"]["0"] == "Valid Tier I Terrestrial Ground Scenario"
    past = _run({**POINT, "downwind_distance": x[-1] + 10})
    assert past["out_sim_scenario_chk"]["0"].startswith("Invalid Tier I Terrestrial Ground Scenario")
    assert past["out_range_chk"]["0"] == "out of range" and past["out_avg_dep_foa"]["0"] is None


def test_opp_rounding() -> None:
    got = agdrift.opp_round(np.array([0.123456, 12.3456, 1.23456e-5, 1.0, np.nan]))
    assert got[:4].tolist() == pytest.approx([0.1235, 12.35, 1.23e-5, 1.0])
    assert math.isnan(got[4])


def test_ten_thousand_row_batch_mixing_scenarios() -> None:
    rows = []
    for i in range(10_000):
        if i % 3 == 0:
            rows.append({**POND, "downwind_distance": i % 997})
        elif i % 3 == 1:
            rows.append({**POINT, "calculation_input": "fraction_of_applied", "user_frac_applied": 0.001 + i % 7 / 100})
        else:
            rows.append({**POND, "calculation_input": "initial_deposition_gha", "user_avg_dep_gha": 1 + i % 9,
                         "application_method": "tier_1_airblast", "airblast_type": "orchard"})
    out = _run(rows)
    assert all(len(values) == 10_000 for values in out.values())
    for name in ("out_distance_downwind", "out_avg_dep_foa", "out_avg_dep_lbac", "out_avg_dep_gha"):
        assert all(v is not None and math.isfinite(v) for v in out[name].values()), name
    assert set(out["out_range_chk"].values()) == {"in range"}


def test_area_dimensions_are_reported_as_ubertool_does() -> None:
    """EPA pond/wetland 208.7 x 515.8 ft (6.56 / 0.4921 ft deep); a user's width sets the
    length of a one-hectare (107,636 ft2) area; the EPA terrestrial point has no size."""
    rows = [case_inputs("agdrift", i) for i in range(len(load_cases("agdrift")))]
    out = outputs("agdrift", rows)
    for i, row in enumerate(rows):
        body, field = row.get("aquatic_body_type"), row.get("terrestrial_field_type")
        got = (out["out_area_width"][str(i)], out["out_area_length"][str(i)], out["out_area_depth"][str(i)])
        if row["ecosystem_type"] == "aquatic_assessment" and body == "epa_defined_pond":
            assert got == (208.7, 515.8, 6.56)
        elif row["ecosystem_type"] == "aquatic_assessment" and body == "epa_defined_wetland":
            assert got == (208.7, 515.8, 0.4921)
        elif row["ecosystem_type"] == "aquatic_assessment" and body == "user_defined_pond":
            width = float(row["user_pond_width"])
            assert got == pytest.approx((width, 107636.0 / width, float(row["user_pond_depth"])))
        elif row["ecosystem_type"] == "terrestrial_assessment" and field == "user_defined_terrestrial":
            width = float(row["user_terrestrial_width"])
            assert got == pytest.approx((width, 107636.0 / width, 0.0))
        elif row["ecosystem_type"] == "terrestrial_assessment":
            assert got == (0.0, 0.0, 0.0)
