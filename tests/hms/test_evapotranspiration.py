"""Potential evapotranspiration: FAO-56's worked examples, closed forms, refusals, and a run through the broker."""
from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_qed.model import InputError, Model
from hms_flask.models import evapotranspiration
from hms_flask.science import evapotranspiration as et
from tests.conftest import wait_for

ET = Model.from_module(evapotranspiration)


def run(inputs):
    return ET.run(ET.validate(inputs))


def test_fao56_example_8_extraterrestrial_radiation():
    # Allen et al. (1998) FAO-56, chapter 3, example 8: 20°S on 3 September (J = 246):
    # dr = 0.985, δ = 0.120 rad, ωs = 1.527 rad, Ra = 32.2 MJ m-2 day-1.
    dr, delta, omega = et.solar_geometry(-20.0, np.array([246]))
    assert dr[0] == pytest.approx(0.985, abs=5e-4)
    assert delta[0] == pytest.approx(0.120, abs=5e-4)
    assert omega[0] == pytest.approx(1.527, abs=5e-4)
    out = run({"algorithm": "hargreaves", "latitude": -20, "start_date": "2015-09-03", "tmin": [15], "tmax": [25]})
    assert out["out_ra"][0] == pytest.approx(32.2, abs=0.05)


def test_fao56_example_9_daylight_hours():
    # FAO-56 example 9: the same place and date have N = 11.7 hours of daylight.
    out = run({"algorithm": "hamon", "latitude": -20, "start_date": "2015-09-03", "tmin": [15], "tmax": [25]})
    assert out["out_daylight"][0] == pytest.approx(11.7, abs=0.05)


def test_fao56_example_11_net_radiation():
    # FAO-56 example 11: Rio de Janeiro (22°54'S), 15 May (J = 135), Tmax 25.1, Tmin 19.1 °C,
    # ea 2.1 kPa, Rs 14.5 MJ m-2 day-1 at sea level: Ra = 25.1, Rn = 7.6 MJ m-2 day-1.
    ra = et.extraterrestrial_radiation(-(22 + 54 / 60), np.array([135]))
    assert ra[0] == pytest.approx(25.1, abs=0.05)
    rn = et.net_radiation(np.array([14.5]), ra, np.array([19.1]), np.array([25.1]), np.array([2.1]))
    assert rn[0] == pytest.approx(7.6, abs=0.05)


def test_polar_night_and_day():
    winter = run({"algorithm": "hamon", "latitude": 80, "start_date": "2020-12-21", "tmin": [-30], "tmax": [-20]})
    summer = run({"algorithm": "hamon", "latitude": 80, "start_date": "2020-06-21", "tmin": [0], "tmax": [5]})
    assert winter["out_ra"] == [0.0] and winter["out_daylight"] == [0.0] and winter["out_pet"] == [0.0]
    assert summer["out_daylight"] == [pytest.approx(24.0)] and summer["out_ra"][0] > 40


temps = st.lists(st.tuples(st.floats(-40, 45), st.floats(0, 30)), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(lat=st.floats(-60, 60), start=st.dates(date(1900, 1, 1), date(2100, 1, 1)), pairs=temps,
       rs_frac=st.floats(0.2, 0.75))
def test_closed_forms(lat, start, pairs, rs_frac):
    tmin = [lo for lo, _ in pairs]
    tmax = [min(lo + spread, 70) for lo, spread in pairs]
    base = {"latitude": lat, "start_date": start.isoformat(), "tmin": tmin, "tmax": tmax}
    hg = run({**base, "algorithm": "hargreaves"})
    hm = run({**base, "algorithm": "hamon"})
    phi = math.radians(lat)
    for k, (lo, hi) in enumerate(zip(tmin, tmax)):
        j = (start + timedelta(days=k)).timetuple().tm_yday
        dr = 1 + 0.033 * math.cos(2 * math.pi * j / 365)
        d = 0.409 * math.sin(2 * math.pi * j / 365 - 1.39)
        ws = math.acos(-math.tan(phi) * math.tan(d))
        ra = 24 * 60 / math.pi * 0.082 * dr * (ws * math.sin(phi) * math.sin(d)
                                               + math.cos(phi) * math.cos(d) * math.sin(ws))
        assert hg["out_ra"][k] == pytest.approx(ra, rel=1e-9, abs=1e-9)
        assert hg["out_daylight"][k] == pytest.approx(24 / math.pi * ws, rel=1e-9)
        tm = (lo + hi) / 2
        assert hg["out_pet"][k] == pytest.approx(max(0.0, 0.0023 * (tm + 17.8) * math.sqrt(hi - lo) * 0.408 * ra),
                                                 rel=1e-9, abs=1e-12)
        es = 6.108 * math.exp(17.26939 * tm / (tm + 237.3))
        assert hm["out_pet"][k] == pytest.approx(0.1651 * ws * 24 / math.pi / 12 * 216.7 * es / (tm + 273.3) * 1.2,
                                                 rel=1e-9)
    rs = [rs_frac * 0.75 * r for r in hg["out_ra"]]
    pt = run({**base, "algorithm": "priestley_taylor", "rs": rs, "alpha": 1.0, "albedo": 0.23})
    for k, (lo, hi) in enumerate(zip(tmin, tmax)):
        tm = (lo + hi) / 2
        es = 0.6108 * math.exp(17.27 * tm / (tm + 237.3))
        slope = 4098 * es / (tm + 237.3) ** 2
        gamma = 0.665e-3 * 101.3
        ea = 0.6108 * math.exp(17.27 * lo / (lo + 237.3))
        rso = 0.75 * hg["out_ra"][k]
        ratio = min(rs[k] / rso, 1.0) if rso > 0 else 1.0
        rnl = 4.903e-9 * ((hi + 273.16) ** 4 + (lo + 273.16) ** 4) / 2 * (0.34 - 0.14 * math.sqrt(ea)) \
            * (1.35 * ratio - 0.35)
        rn = 0.77 * rs[k] - rnl
        assert pt["out_pet"][k] == pytest.approx(max(0.0, slope / (slope + gamma) * rn * 0.408), rel=1e-9, abs=1e-12)
        assert pt["out_pet"][k] >= 0


def test_more_radiation_more_priestley_taylor():
    base = {"algorithm": "priestley_taylor", "latitude": 35, "start_date": "2021-07-01",
            "tmin": [18, 18], "tmax": [30, 30]}
    low, high = run({**base, "rs": [12, 24]})["out_pet"]
    assert 0 < low < high
    assert run({**base, "rs": [12, 24], "alpha": 2.52})["out_pet"] == pytest.approx([2 * low, 2 * high])


@pytest.mark.parametrize("change,words", [
    ({"algorithm": "thornthwaite"}, "algorithm"),
    ({"latitude": 91}, "latitude"),
    ({"tmax": [20]}, "must match"),
    ({"tmin": [30, 10], "tmax": [20, 25]}, "tmin: above tmax on day 0"),
    ({"algorithm": "priestley_taylor"}, "rs: the priestley_taylor algorithm needs rs"),
    ({"algorithm": "priestley_taylor", "rs": [10]}, "must match"),
    ({"algorithm": "priestley_taylor", "rs": [10, -1]}, "rs"),
    ({"start_date": "2021-02-30"}, "start_date"),
    ({"start_date": "9999-12-31"}, "past the year 9999"),
    ({"tmin": [float("inf"), 1]}, "tmin"),
    ({"tmin": []}, "tmin"),
])
def test_bad_inputs_are_refused(change, words):
    base = {"algorithm": "hargreaves", "latitude": 40, "start_date": "2021-06-01", "tmin": [10, 12], "tmax": [25, 27]}
    with pytest.raises(InputError) as err:
        ET.validate({**base, **change})
    assert words in " ".join(f"{e['field']}: {e['rule']}" for e in err.value.errors)


def test_through_the_broker(client):
    inputs = {"algorithm": "hargreaves", "latitude": -20, "start_date": "2015-09-02", "tmin": [15, 15],
              "tmax": [25, 25]}
    response = client.post("/hms/evapotranspiration", json={"inputs": inputs})
    assert response.status_code == 202, response.get_json()
    record = wait_for(client, response.get_json()["job_id"], prefix="/hms")
    assert record["status"] == "SUCCESS", record.get("error")
    assert record["data"]["dates"] == ["2015-09-02", "2015-09-03"]
    assert record["data"]["out_ra"][1] == pytest.approx(32.2, abs=0.05)          # FAO-56 example 8
    bad = client.post("/hms/evapotranspiration", json={"inputs": {**inputs, "algorithm": "priestley_taylor"}})
    assert bad.status_code == 422
