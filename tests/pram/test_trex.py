"""T-REX: list-input validation, schedules, ubertool unit-test values and big batches."""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

from flask_qed.model import InputError
from pram_flask.models import trex
from pram_flask.science import dietary
from tests.pram.qaqc import case_inputs, load_cases, outputs, pram_model

MODEL = pram_model("trex")


BASE = load_cases("trex")[0][1]


def base_row(**changes: Any) -> dict[str, Any]:
    """EPA's first QA/QC case (Triticonazole on turf) with some inputs changed."""
    return case_inputs("trex", **changes)


run = functools.partial(outputs, "trex")


def rule_for(row: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(InputError) as info:
        MODEL.validate([base_row(), row])
    err = info.value.errors[0]
    assert err["run"] == "1"
    return err


@pytest.mark.parametrize("changes,field,words", [
    ({"app_rates": "[1.15,1.15"}, "app_rates", "not a list of numbers"),
    ({"app_rates": "1.15,1.15,1.15"}, "app_rates", "not a list of numbers"),
    ({"app_rates": "1.15"}, "app_rates", "list"),
    ({"app_rates": "{}"}, "app_rates", "list"),
    ({"app_rates": "[]", "day_out": "[]"}, "app_rates", "at least one"),
    ({"app_rates": '[1.15,"a",1.15]'}, "app_rates", "app_rates[1] is not a number"),
    ({"app_rates": "[1.15,true,1.15]"}, "app_rates", "not a number"),
    ({"app_rates": "[1.15,[1],1.15]"}, "app_rates", "not a number"),
    ({"app_rates": "[1.15,NaN,1.15]"}, "app_rates", "finite"),
    ({"app_rates": "[1.15,Infinity,1.15]"}, "app_rates", "finite"),
    ({"app_rates": "[1.15,-1,1.15]"}, "app_rates", "negative"),
    ({"day_out": "[1,11.5,21]"}, "day_out", "whole day"),
    ({"day_out": "[1,x,21]"}, "day_out", "not a list of numbers"),
    ({"app_rates": "[1.15,1.15]"}, "inputs", "app_rates has 2 value(s) but num_apps is 3"),
    ({"day_out": "[1,11]"}, "inputs", "day_out has 2 value(s) but app_rates has 3"),
    ({"num_apps": "2"}, "inputs", "num_apps is 2"),
    ({"day_out": "[1,21,11]"}, "inputs", "ascending"),
    ({"day_out": "[1,11,11]"}, "inputs", "ascending"),
    ({"day_out": "[0,11,21]"}, "inputs", "between 1 and 365"),
    ({"day_out": "[1,11,400]"}, "inputs", "between 1 and 365"),
    ({"num_apps": "0"}, "num_apps", "greater than or equal to 1"),
    ({"num_apps": "2.5"}, "num_apps", "integer"),
    ({"application_type": "Aerial"}, "application_type", "Broadcast-Liquid"),
    ({"application_type": "Row/Band/In-furrow-Liquid", "bandwidth": "0"}, "bandwidth", "must be > 0"),
    ({"application_type": "Row/Band/In-furrow-Granular", "bandwidth": "6", "row_spacing": "0"},
     "row_spacing", "must be > 0"),
    ({"application_type": "Seed Treatment"}, "inputs", "density and max_seed_rate"),
    ({"foliar_diss_hlife": "0"}, "foliar_diss_hlife", "greater than 0"),
    ({"percent_act_ing": "101"}, "percent_act_ing", "less than or equal to 100"),
])
def test_bad_inputs_are_input_errors(changes: dict[str, Any], field: str, words: str) -> None:
    err = rule_for(base_row(**changes))
    assert err["field"] == field
    assert words in err["rule"]


def test_missing_list_is_an_input_error() -> None:
    row = base_row()
    del row["app_rates"]
    assert rule_for(row)["field"] == "app_rates"


def test_list_strings_and_lists_give_the_same_result() -> None:
    as_text = run([base_row(app_rates="[ 1.15, 1.15, 1.15 ]", day_out="[1, 11, 21]")])
    as_list = run([base_row(app_rates=[1.15, 1.15, 1.15], day_out=[1.0, 11, 21])])
    assert as_text == as_list


def test_inputs_echo_parsed_lists() -> None:
    data = MODEL.run(MODEL.validate([base_row(app_rates="[2,1]", day_out="[5,9]", num_apps="2")]))
    assert data["inputs"]["app_rates"]["0"] == [2.0, 1.0]
    assert data["inputs"]["day_out"]["0"] == [5, 9]


def test_single_application_eec_is_the_kenaga_value() -> None:
    out = run([base_row(app_rates="[2]", day_out="[100]", num_apps=1, percent_act_ing=50)])
    for food, mult in (("sg", 240), ("tg", 110), ("bp", 135), ("fr", 15), ("ar", 94)):
        assert out[f"out_eec_diet_{food}"]["0"] == pytest.approx(2 * 0.5 * mult, rel=1e-12)


def test_later_applications_add_to_decayed_residue() -> None:
    hl = 10.0
    out = run([base_row(app_rates="[1,3]", day_out="[1,21]", num_apps=2, foliar_diss_hlife=hl)])
    want = 240 * (1 * 0.5 ** (20 / hl) + 3)
    assert out["out_eec_diet_sg"]["0"] == pytest.approx(want, rel=1e-12)


def test_peak_may_come_from_an_early_large_application() -> None:
    out = run([base_row(app_rates="[5,0.1]", day_out="[1,60]", num_apps=2, foliar_diss_hlife=5)])
    assert out["out_eec_diet_sg"]["0"] == pytest.approx(240 * 5, rel=1e-12)


def test_peak_residue_matches_the_daily_series() -> None:
    rng = np.random.default_rng(7)
    n, width = 300, 6
    counts = rng.integers(1, width + 1, n)
    rates = np.empty(n, dtype=object)
    days = np.empty(n, dtype=object)
    for i, k in enumerate(counts):
        rates[i] = list(rng.uniform(0, 5, k))
        days[i] = sorted(rng.choice(np.arange(1, 366), k, replace=False).tolist())
    halflife = rng.uniform(0.5, 60, n)
    r, d = dietary.pad_schedule(rates, days)
    assert r.shape == (n, width)
    series = dietary.daily_residues(r, d, halflife)
    np.testing.assert_allclose(dietary.peak_residue(r, d, halflife), series.max(axis=1), rtol=1e-10)


def test_seed_treatment_matches_ubertool_unit_tests() -> None:
    """Values published in ubertool's test_trex_unittest.py (sa_bird_1, sa_bird_2, sa_mamm_1/2, sc_mamm)."""
    common = dict(application_type="Seed Treatment", ld50_bird=100, tw_bird_ld50=175, mineau_sca_fact=1.15,
                  aw_bird_sm=15, aw_bird_md=115, aw_bird_lg=1015, percent_act_ing=34, density=8.33,
                  max_seed_rate=33.19, app_rates="[0.34,1.384,13.54]", day_out="[1,2,3]", num_apps=3,
                  tw_mamm=350, ld50_mamm=321, noael_mamm=2.5, aw_mamm_sm=15, aw_mamm_md=35,
                  aw_mamm_lg=1015)
    out = {k: v["0"] for k, v in run([base_row(**common)]).items()}
    want = {"out_sa_bird_1_s": 0.228229, "out_sa_bird_1_m": 0.126646, "out_sa_bird_1_l": 0.037707,
            "out_sa_bird_2_s": 0.018832, "out_sa_bird_2_m": 2.774856e-3, "out_sa_bird_2_l": 2.001591e-4,
            "out_sa_mamm_1_s": 0.022593, "out_sa_mamm_1_m": 0.019298, "out_sa_mamm_1_l": 0.010471,
            "out_sa_mamm_2_s": 2.46206e-3, "out_sa_mamm_2_m": 1.304116e-3, "out_sa_mamm_2_l": 1.0592147e-4,
            "out_sc_mamm_s": 2.90089, "out_sc_mamm_m": 2.477926, "out_sc_mamm_l": 1.344461}
    for name, value in want.items():
        assert out[name] == pytest.approx(value, rel=1e-4), name
    # LD50/ft2 tables do not apply to seed treatments
    assert all(out[f"out_ld50_{m}_bird_sm"] is None for m in ("rg", "rl", "bg", "bl"))


def test_row_band_granular_ld50_matches_ubertool_unit_test() -> None:
    # ubertool's unit test sets band width and row spacing after its inch -> foot
    # conversion (2 ft and 20 ft); clients send inches: 24 in and 240 in.
    rows = [base_row(application_type="Row/Band/In-furrow-Granular", percent_act_ing=34,
                     app_rates="[0.34,1.384,13.54]", day_out="[1,2,3]", percent_incorp=25,
                     bandwidth=24, row_spacing=240, ld50_bird=100, tw_bird_ld50=175,
                     mineau_sca_fact=1.15, aw_bird_sm=15),
            base_row(application_type="Row/Band/In-furrow-Granular", percent_act_ing=84,
                     app_rates="[0.78,11.34,3.54]", day_out="[1,2,3]", percent_incorp=76,
                     bandwidth=120, row_spacing=384, ld50_bird=125, tw_bird_ld50=100,
                     mineau_sca_fact=0.9, aw_bird_sm=20)]
    out = run(rows)
    assert out["out_ld50_rg_bird_sm"]["0"] == pytest.approx(346.4856, rel=1e-4)
    assert out["out_ld50_rg_bird_sm"]["1"] == pytest.approx(25.94132, rel=1e-4)
    assert out["out_ld50_bl_bird_sm"]["0"] is None


def test_initial_and_mean_residues_match_ubertool_unit_test() -> None:
    """conc_initial: first rate x fraction a.i. x Kenaga multiplier (ubertool's unit test:
    0.34 lb/ac at 34 % a.i. on tall grass -> 12.716 mg/kg)."""
    out = run([base_row(percent_act_ing=34, app_rates="[0.34,1.384,13.54]", day_out="[1,2,3]",
                        num_apps=3)])
    assert out["out_c_0_tg"]["0"] == pytest.approx(12.7160, rel=1e-4)
    assert out["out_c_0_sg"]["0"] == pytest.approx(0.34 * 0.34 * 240, rel=1e-12)
    assert out["out_c_mean_sg"]["0"] == pytest.approx(0.34 * 0.34 * 85, rel=1e-12)
    assert out["out_c_mean_arthro"]["0"] == pytest.approx(0.34 * 0.34 * 65, rel=1e-12)


def test_optional_toxicity_gives_null_not_error() -> None:
    out = run([base_row()])
    assert out["out_arq_diet_mamm_sg"]["0"] is None            # no lc50_mamm
    assert out["out_sa_bird_1_s"]["0"] is None                 # no density
    row = base_row(lc50_mamm=100)
    assert run([row])["out_arq_diet_mamm_sg"]["0"] == pytest.approx(
        run([row])["out_eec_diet_sg"]["0"] / 100, rel=1e-12)


def test_every_declared_output_is_returned() -> None:
    assert set(run([base_row()])) == set(trex.OUTPUTS)
    assert all("units" in v and v["description"] for v in trex.OUTPUTS.values())


def _random_rows(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    types = ["Broadcast-Liquid", "Broadcast-Granular", "Row/Band/In-furrow-Liquid",
             "Row/Band/In-furrow-Granular"]
    rows = []
    for i in range(n):
        k = int(rng.integers(1, 12))
        days = sorted(rng.choice(np.arange(1, 366), k, replace=False).tolist())
        rates = [round(float(x), 3) for x in rng.uniform(0.01, 4, k)]
        rows.append(base_row(app_rates=str(rates), day_out=str(days), num_apps=k,
                             foliar_diss_hlife=float(rng.uniform(1, 60)), bandwidth=6, row_spacing=3,
                             application_type=types[i % 4], lc50_mamm=500, density=8, max_seed_rate=30))
    return rows


def test_ten_thousand_ragged_runs() -> None:
    rows = _random_rows(10_000)
    out = run(rows)
    for name, values in out.items():
        assert len(values) == 10_000, name
        if not name.startswith("out_ld50_"):
            assert all(isinstance(v, float) and math.isfinite(v) for v in values.values()), name
    # exactly one LD50/ft2 table applies to each run
    for i in (0, 1, 2, 3, 9_999):
        filled = [m for m in ("bl", "bg", "rl", "rg") if out[f"out_ld50_{m}_bird_sm"][str(i)] is not None]
        assert len(filled) == 1


def test_batch_rows_equal_single_runs() -> None:
    rows = _random_rows(40, seed=11)
    batch = run(rows)
    for i in (0, 7, 23, 39):
        single = run([rows[i]])
        for name in ("out_eec_diet_sg", "out_arq_bird_se_lg", "out_crq_dose_mamm_ar_md", "out_ld50_bg_mamm_lg"):
            assert batch[name][str(i)] == single[name]["0"], (i, name)
