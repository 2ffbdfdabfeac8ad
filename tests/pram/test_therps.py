"""T-HERPS: schedule validation, residue algebra, ubertool quirks and big batches."""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

from flask_qed.model import InputError
from pram_flask.models import therps
from tests.pram.qaqc import case_inputs, load_cases, outputs, pram_model

MODEL = pram_model("therps")
BASE = load_cases("therps")[0][1]


def base_row(**changes: Any) -> dict[str, Any]:
    """EPA's first QA/QC case (Fluxapyroxad) with some inputs changed."""
    return case_inputs("therps", **changes)


run = functools.partial(outputs, "therps")


def first(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v["0"] for k, v in run([row]).items()}


@pytest.mark.parametrize("changes,field,words", [
    ({"num_apps": "0"}, "num_apps", "greater than or equal to 1"),
    ({"num_apps": "2.5"}, "num_apps", "integer"),
    ({"num_apps": "[2]"}, "num_apps", "integer"),
    ({"app_interval": "0"}, "app_interval", "must be at least 1 day"),
    ({"app_interval": "-3"}, "app_interval", "greater than or equal to 0"),
    ({"num_apps": "40", "app_interval": "10"}, "inputs", "after day 365"),
    ({"application_rate": "-1"}, "application_rate", "greater than or equal to 0"),
    ({"application_rate": "abc"}, "application_rate", "number"),
    ({"foliar_diss_hlife": "0"}, "foliar_diss_hlife", "greater than 0"),
    ({"awc_herp_md": "100"}, "awc_herp_md", "less than 100"),
    ({"aw_herp_sm": "0"}, "aw_herp_sm", "greater than 0"),
    ({"lc50_bird": "NaN"}, "lc50_bird", "finite"),
])
def test_bad_inputs_are_input_errors(changes: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        MODEL.validate([base_row(), base_row(**changes)])
    err = info.value.errors[0]
    assert (err["run"], err["field"]) == ("1", field)
    assert words in err["rule"]


def test_single_application_needs_no_interval() -> None:
    out = first(base_row(num_apps=1, app_interval=0, application_rate=2, percent_act_ing=50))
    assert out["out_eec_diet_herp_bl"] == pytest.approx(2 * 0.5 * 135, rel=1e-12)
    assert out["out_eec_diet_herp_fr_mean"] == pytest.approx(2 * 0.5 * 7, rel=1e-12)


def test_equal_applications_follow_the_geometric_sum() -> None:
    n, interval, hl, rate = 5, 9, 12.0, 0.7
    out = first(base_row(num_apps=n, app_interval=interval, foliar_diss_hlife=hl, application_rate=rate))
    q = 0.5 ** (interval / hl)
    peak = rate * (1 - q ** n) / (1 - q)
    assert out["out_eec_diet_herp_bl"] == pytest.approx(135 * peak, rel=1e-10)
    assert out["out_eec_diet_herp_bl_mean"] == pytest.approx(45 * peak, rel=1e-10)


def test_prey_pathways_follow_ubertool() -> None:
    row = base_row()
    out = first(row)
    prey = float(row["bw_frog_prey_mamm"])
    for sz in ("md", "lg"):
        aw = float(row[f"aw_herp_{sz}"])
        assert out[f"out_eec_dose_hm_{sz}"] == pytest.approx(out["out_eec_diet_herp_hm"] * prey / aw, rel=1e-12)
        assert out[f"out_arq_dose_hm_{sz}"] == pytest.approx(out[f"out_eec_dose_hm_{sz}"] / out[f"out_ld50_ad_{sz}"])
    assert out["out_eec_crq_herp_tp"] == pytest.approx(out["out_eec_diet_herp_tp"] / float(row["noaec_bird"]))


def test_amphibian_prey_dose_uses_medium_diet_water_for_all_sizes() -> None:
    """ubertool quirk kept: large herptiles eating amphibians use awc_herp_md, not awc_herp_lg."""
    a, b = first(base_row(awc_herp_lg=85)), first(base_row(awc_herp_lg=50))
    assert a["out_eec_dose_tp_lg"] == b["out_eec_dose_tp_lg"]
    assert a["out_eec_dose_bp_lg"] != b["out_eec_dose_bp_lg"]
    c = first(base_row(awc_herp_md=50))
    assert c["out_eec_dose_tp_lg"] != a["out_eec_dose_tp_lg"]


def test_every_declared_output_is_returned() -> None:
    out = first(base_row())
    assert set(out) == set(therps.OUTPUTS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in out.values())


def _random_rows(n: int, seed: int = 5) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        apps = int(rng.integers(1, 8))
        rows.append(base_row(num_apps=apps, app_interval=int(rng.integers(1, 40)),
                             application_rate=float(rng.uniform(0.01, 5)),
                             foliar_diss_hlife=float(rng.uniform(1, 60)),
                             percent_act_ing=float(rng.uniform(1, 100))))
    return rows


def test_ten_thousand_runs() -> None:
    out = run(_random_rows(10_000))
    for name, values in out.items():
        assert len(values) == 10_000, name
        assert all(isinstance(v, float) and math.isfinite(v) for v in values.values()), name


def test_batch_rows_equal_single_runs() -> None:
    rows = _random_rows(30, seed=9)
    batch = run(rows)
    for i in (0, 13, 29):
        single = first(rows[i])
        for name in ("out_eec_diet_herp_bl", "out_arq_dose_tp_lg_mean", "out_eec_crq_herp_im"):
            assert batch[name][str(i)] == single[name], (i, name)
