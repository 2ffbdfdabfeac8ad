"""SCS curve-number runoff: TR-55's published values, the closed form, refusals, and a run through the broker."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_qed.model import InputError, Model
from hms_flask.models import curve_number
from tests.conftest import wait_for

CN = Model.from_module(curve_number)
INCH = 25.4


def run(inputs):
    return CN.run(CN.validate(inputs))


def test_tr55_table_2_1_runoff_depth():
    # USDA SCS (1986) TR-55, Table 2-1 "Runoff depth for selected CN's and rainfall amounts":
    # 5.0 in of rainfall on CN 75 gives 2.45 in of runoff (Ia = 0.2 S).
    out = run({"precipitation": [5.0 * INCH], "curve_number": 75})
    assert out["out_runoff"][0] / INCH == pytest.approx(2.45, abs=0.005)
    assert out["retention"] / INCH == pytest.approx(1000 / 75 - 10)        # TR-55 eq. 2-4


def test_tr55_table_2_2_lookup():
    # TR-55 Table 2-2c: pasture, grassland or range in good condition is CN 61 on group B and
    # 74 on group C (the two soils of TR-55's chapter 2 examples); Table 2-2a: impervious 98.
    for cover, group, expected in (("pasture_good", "B", 61), ("pasture_good", "C", 74),
                                   ("open_space_good", "C", 74), ("impervious", "A", 98),
                                   ("woods_good", "D", 77), ("commercial", "B", 92)):
        out = run({"precipitation": [10.0], "land_cover": cover, "hydrologic_soil_group": group})
        assert out["curve_number"] == expected


def test_antecedent_moisture_follows_chow_et_al():
    # Chow, Maidment & Mays (1988) eqs. 5.5.3 and 5.5.4 for CN(II) = 75.
    dry = run({"precipitation": [50.0], "curve_number": 75, "antecedent_moisture": "I"})
    wet = run({"precipitation": [50.0], "curve_number": 75, "antecedent_moisture": "III"})
    assert dry["curve_number"] == pytest.approx(315 / 5.65)
    assert wet["curve_number"] == pytest.approx(1725 / 19.75)
    assert dry["out_runoff"][0] < run({"precipitation": [50.0], "curve_number": 75})["out_runoff"][0] \
        < wet["out_runoff"][0]


@settings(max_examples=60, deadline=None)
@given(p=st.lists(st.floats(0, 2000), min_size=1, max_size=30), cn=st.floats(1, 100),
       ratio=st.floats(0, 1), area=st.floats(0.01, 1e4), dt=st.floats(60, 86400))
def test_closed_form(p, cn, ratio, area, dt):
    out = run({"precipitation": p, "curve_number": cn, "initial_abstraction_ratio": ratio,
               "area": area, "timestep": dt})
    s = 25400 / cn - 254
    for depth, q, f in zip(p, out["out_runoff"], out["out_flow"]):
        ia = ratio * s
        expected = (depth - ia) ** 2 / (depth - ia + s) if depth > ia else 0.0
        assert q == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert 0 <= q <= depth + 1e-9                      # never more runoff than rain
        assert f == pytest.approx(q / 1000 * area * 1e6 / dt, rel=1e-9, abs=1e-15)


def test_cn_100_runs_off_everything():
    out = run({"precipitation": [0, 3.5, 40], "curve_number": 100})
    assert out["out_runoff"] == [0, 3.5, 40]


@pytest.mark.parametrize("inputs,words", [
    ({"precipitation": [10], "curve_number": 0}, "curve_number"),
    ({"precipitation": [10], "curve_number": 101}, "curve_number"),
    ({"precipitation": [-1], "curve_number": 70}, "precipitation"),
    ({"precipitation": [], "curve_number": 70}, "precipitation"),
    ({"precipitation": [10]}, "curve_number, or both"),
    ({"precipitation": [10], "land_cover": "woods_good"}, "curve_number, or both"),
    ({"precipitation": [10], "curve_number": 70, "land_cover": "woods_good",
      "hydrologic_soil_group": "B"}, "not both"),
    ({"precipitation": [10], "land_cover": "lava", "hydrologic_soil_group": "B"}, "land_cover"),
    ({"precipitation": [10], "land_cover": "woods_good", "hydrologic_soil_group": "E"},
     "hydrologic_soil_group"),
    ({"precipitation": [10], "curve_number": 70, "area": 5}, "go together"),
    ({"precipitation": [10], "curve_number": 70, "antecedent_moisture": "IV"}, "antecedent_moisture"),
    ({"precipitation": [float("nan")], "curve_number": 70}, "precipitation"),
])
def test_bad_inputs_are_refused(inputs, words):
    with pytest.raises(InputError) as err:
        CN.validate(inputs)
    assert words in " ".join(f"{e['field']}: {e['rule']}" for e in err.value.errors)


def test_through_the_broker_feeds_kinematic_wave(client):
    inputs = {"precipitation": [0, 5.0 * INCH, 15.0], "curve_number": 75, "area": 10.0, "timestep": 3600}
    response = client.post("/hms/curve_number", json={"inputs": inputs})
    assert response.status_code == 202, response.get_json()
    record = wait_for(client, response.get_json()["job_id"], prefix="/hms")
    assert record["status"] == "SUCCESS", record.get("error")
    data = record["data"]
    assert data["out_runoff"][1] / INCH == pytest.approx(2.45, abs=0.005)
    assert data["out_runoff"][0] == 0 and data["out_runoff"][2] == 0    # 15 mm < Ia = 16.9 mm
    flow = data["out_flow"]
    assert flow[1] == pytest.approx(data["out_runoff"][1] * 10.0 * 1e3 / 3600)
    routed = client.post("/hms/kinematic_wave", json={"inputs": {
        "start_date": "2020-03-01", "end_date": "2020-03-01T03:00", "timestep": 3600, "length": [1500],
        "width": [12], "slope": [0.002], "mannings_n": 0.035, "boundary_flow": flow}})
    assert routed.status_code == 202, routed.get_json()
    assert wait_for(client, routed.get_json()["job_id"], prefix="/hms")["status"] == "SUCCESS"
    bad = client.post("/hms/curve_number", json={"inputs": {**inputs, "curve_number": 0}})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "curve_number"
    assert math.isfinite(sum(flow)) and np.all(np.array(flow) >= 0)
