"""Flow routing: constant volume, changing volume and kinematic wave (run as the worker does)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from flask_qed.model import InputError, Model
from hms_flask.models import changing_volume, constant_volume, constant_volume_days, kinematic_wave
from hms_flask.science import routing

CV = Model.from_module(constant_volume_days)   # the original interface: timestep in days
CVS = Model.from_module(constant_volume)       # timestep in seconds, like the other methods
CHV = Model.from_module(changing_volume)
KW = Model.from_module(kinematic_wave)


def run(model, inputs):
    return model.run(model.validate(inputs))


def _rule(model, inputs):
    with pytest.raises(InputError) as err:
        model.validate(inputs)
    return " ".join(f"{e['field']}: {e['rule']}" for e in err.value.errors)


CHANNEL = {"start_date": "2020-03-01", "end_date": "2020-03-03T00:00", "timestep": 900,
           "length": [1500, 2500, 1000, 3000], "width": [12, 15, 15, 20],
           "slope": [0.002, 0.001, 0.0015, 0.0008], "mannings_n": 0.035}


def hydrograph(steps):
    t = np.arange(steps + 1)
    return (10 + 60 * np.exp(-((t - 40) / 12.0) ** 2) + 0.1 * t).tolist()  # ends above its start


# -- constant volume ---------------------------------------------------------

def test_constant_volume_keeps_the_original_semantics():
    out = run(CV, {"startDate": "2010-01-01", "endDate": "2010-01-03", "timestep": 0.25,
                   "boundary_flow": 12.5, "segments": 3})
    assert out["columns"] == ["DateTime", 0, 1, 2]
    assert out["index"] == list(range(8))                      # end date is exclusive
    assert [row[0] for row in out["data"][:3]] == ["2010-01-01 00:00", "2010-01-01 06:00", "2010-01-01 12:00"]
    assert out["data"][-1][0] == "2010-01-02 18:00"
    assert all(row[1:] == [12.5, 12.5, 12.5] for row in out["data"])


def test_constant_volume_rejects_timesteps_that_would_never_advance():
    base = {"startDate": "2010-01-01", "endDate": "2010-01-03", "boundary_flow": 1, "segments": 1}
    assert "timestep" in _rule(CV, {**base, "timestep": 0})
    assert "timestep" in _rule(CV, {**base, "timestep": -1})
    assert "less than one minute" in _rule(CV, {**base, "timestep": 0.0005})
    assert "endDate: must be after startDate" in _rule(CV, {**base, "timestep": 1, "endDate": "2009-12-31"})
    assert "at most" in _rule(CV, {**base, "timestep": 1 / 1440, "endDate": "2012-01-01"})


def test_all_routing_methods_take_the_timestep_in_seconds():
    days = run(CV, {"startDate": "2010-01-01", "endDate": "2010-01-03", "timestep": 0.25,
                    "boundary_flow": 12.5, "segments": 3})
    seconds = run(CVS, {"startDate": "2010-01-01", "endDate": "2010-01-03", "timestep": 6 * 3600,
                        "boundary_flow": 12.5, "segments": 3})
    assert seconds["data"] == days["data"] and seconds["metadata"]["units"]["timestep"] == "s"
    for model in (CVS, CHV, KW):
        assert model.describe()["inputs"]["properties"]["timestep"]["units"] == "s"
    assert CV.describe()["inputs"]["properties"]["timestep"]["units"] == "d"
    assert "less than one minute" in _rule(CVS, {"startDate": "2010-01-01", "endDate": "2010-01-03",
                                                 "timestep": 59, "boundary_flow": 1, "segments": 1})


@pytest.mark.parametrize("model", [CHV, KW])
def test_physically_meaningless_magnitudes_are_refused(model):
    base = {**CHANNEL, "boundary_flow": 5.0}
    for field, value in (("boundary_flow", 1e300), ("width", 1e-300), ("slope", 1e-300),
                         ("mannings_n", 1e300), ("length", 1e12), ("initial_flow", 1e9)):
        assert field in _rule(model, {**base, field: value})


def test_the_cost_limit_is_named_in_the_refusal():
    rule = _rule(KW, {**CHANNEL, "boundary_flow": 5.0, "subreaches": 50, "end_date": "2021-03-01",
                      "timestep": 3600})
    assert "at most" in rule
    assert KW.time_limit == 120 and KW.max_cost == 1_000_000


def test_the_solver_gives_up_instead_of_looping():
    reach = routing.ManningReach(np.array([1.0]), np.array([0.0]), np.array([np.inf]), np.array([1.0]))
    with pytest.raises(routing.NotConverged):
        routing.route(np.array([1.0, 2.0]), 60.0, reach, np.array([100.0]), 1, 1.0)


# -- mass conservation -------------------------------------------------------

@pytest.mark.parametrize("model,extra", [(CHV, {"side_slope": [0, 1.5, 2, 0.5]}),
                                         (KW, {"subreaches": 3})])
def test_routing_conserves_mass(model, extra):
    steps = 192
    out = run(model, {**CHANNEL, **extra, "boundary_flow": hydrograph(steps)})
    flow, volume = np.array(out["flow"]), np.array(out["volume"])
    inflow = np.array(out["boundary_flow"])
    assert flow.shape == volume.shape == (steps + 1, 4)
    dt = CHANNEL["timestep"]
    net = dt * inflow[1:].sum() - dt * flow[1:, -1].sum()
    storage_change = volume[-1].sum() - volume[0].sum()
    assert storage_change > 1e4                                  # a real change to balance
    assert net == pytest.approx(storage_change, rel=1e-9)
    # Each segment balances too: its inflow is the upstream segment's outflow.
    upstream = np.column_stack([inflow, flow[:, :-1]])
    per_segment = dt * (upstream[1:] - flow[1:]).sum(axis=0)
    assert per_segment == pytest.approx(volume[-1] - volume[0], rel=1e-9, abs=1e-6)
    assert (flow >= 0).all() and (np.array(out["depth"]) > 0).all()
    # The flood peak is attenuated and delayed downstream.
    assert flow[:, -1].max() < max(inflow)
    assert np.argmax(flow[:, -1]) > np.argmax(inflow)


# -- steady state ------------------------------------------------------------

def manning_depth_by_bisection(q, width, z, n, slope):
    lo, hi = 0.0, 100.0
    for _ in range(200):
        h = 0.5 * (lo + hi)
        area, perim = h * (width + z * h), width + 2 * h * math.sqrt(1 + z * z)
        lo, hi = (h, hi) if area * (area / perim) ** (2 / 3) * math.sqrt(slope) / n < q else (lo, h)
    return 0.5 * (lo + hi)


def test_kinematic_wave_reaches_manning_normal_depth_for_constant_inflow():
    q = 35.0
    out = run(KW, {**CHANNEL, "end_date": "2020-03-11", "boundary_flow": q, "initial_flow": 2.0})
    flow, depth = np.array(out["flow"]), np.array(out["depth"])
    assert flow[0] == pytest.approx([2.0] * 4, rel=1e-12)        # starts from another steady state
    assert flow[-1] == pytest.approx([q] * 4, rel=1e-9)
    # Wide-channel Manning (hydraulic radius = depth), the kinematic-wave rating.
    width, slope = np.array(CHANNEL["width"], float), np.array(CHANNEL["slope"])
    normal = (CHANNEL["mannings_n"] * q / (width * np.sqrt(slope))) ** 0.6
    assert depth[-1] == pytest.approx(normal, rel=1e-9)
    volume = np.array(out["volume"])[-1]
    assert volume == pytest.approx(normal * width * np.array(CHANNEL["length"]), rel=1e-9)


def test_changing_volume_reaches_normal_depth_of_its_trapezoid():
    q, z = 35.0, [0, 1.5, 2, 0.5]
    out = run(CHV, {**CHANNEL, "end_date": "2020-03-11", "boundary_flow": q, "initial_flow": 80.0,
                    "side_slope": z})
    depth = np.array(out["depth"])[-1]
    expected = [manning_depth_by_bisection(q, w, zz, CHANNEL["mannings_n"], s)
                for w, zz, s in zip(CHANNEL["width"], z, CHANNEL["slope"])]
    assert depth == pytest.approx(expected, rel=1e-9)
    assert np.array(out["flow"])[-1] == pytest.approx([q] * 4, rel=1e-9)


# -- textbook cases ----------------------------------------------------------

def test_textbook_channel_numbers():
    # Chow, Maidment & Mays (1988), Applied Hydrology, Example 9.6.1: rectangular
    # channel 200 ft wide, S0 = 0.01, n = 0.035 -> alpha = 3.49 (beta = 0.6, US units).
    assert round(float(routing.kinematic_alpha(0.035, 200.0, 0.01, k=routing.K_US)), 2) == 3.49
    # Chow (1959), Open-Channel Hydraulics, Example 6.2: trapezoid b = 20 ft,
    # z = 2, S = 0.0016, n = 0.025, Q = 400 cfs -> normal depth 3.36 ft.
    assert round(float(routing.normal_depth(400.0, 20.0, 2.0, 0.025, 0.0016, k=routing.K_US)), 2) == 3.36


def test_kinematic_wave_travels_at_the_kleitz_seddon_celerity():
    # Kinematic wave celerity c_k = dQ/dA = (5/3) V for a wide channel with
    # Manning friction (Chow, Maidment & Mays 1988, kinematic wave celerity;
    # Seddon 1900). A small flood pulse's centroid must lag by L / c_k.
    q0, width, n, slope, length = 100.0, 50.0, 0.03, 0.001, 20_000.0
    steps, dt = 1500, 60.0
    t = np.arange(steps + 1) * dt
    pulse = 0.1 * np.exp(-((t - 20_000.0) / 3000.0) ** 2)
    out = run(KW, {"start_date": "2021-01-01", "end_date": "2021-01-02T01:00", "timestep": dt,
                   "boundary_flow": (q0 + pulse).tolist(), "length": length, "width": width,
                   "slope": slope, "mannings_n": n, "subreaches": 20})
    outflow = np.array(out["flow"])[:, 0] - q0
    depth = (n * q0 / (width * math.sqrt(slope))) ** 0.6
    celerity = 5.0 / 3.0 * q0 / (width * depth)
    lag = (t * outflow).sum() / outflow.sum() - (t * pulse).sum() / pulse.sum()
    assert outflow.sum() == pytest.approx(pulse.sum(), rel=1e-3)
    assert lag == pytest.approx(length / celerity, rel=5e-4)


# -- validation --------------------------------------------------------------

@pytest.mark.parametrize("model", [CHV, KW])
def test_routing_validation_errors(model):
    base = {**CHANNEL, "boundary_flow": 5.0}
    assert "timestep" in _rule(model, {**base, "timestep": 0})
    assert "timestep" in _rule(model, {**base, "timestep": -60})
    assert "end_date: must be after startDate" in _rule(model, {**base, "end_date": "2020-02-01"})  # as given
    assert "shorter than one timestep" in _rule(model, {**base, "end_date": "2020-03-01T00:10"})
    assert "disagree" in _rule(model, {**base, "width": [10, 10]})
    assert "disagree" in _rule(model, {**base, "segments": 5})
    assert "boundary_flow has 3 values" in _rule(model, {**base, "boundary_flow": [1, 2, 3]})
    assert "mannings_n" in _rule(model, {**base, "mannings_n": 0})
    assert "boundary_flow" in _rule(model, {**base, "boundary_flow": -1})
    assert "at most" in _rule(model, {**base, "end_date": "2030-01-01", "timestep": 60})
    assert "length" in _rule(model, {**base, "length": []})
    assert "time zone" in _rule(model, {**base, "end_date": "2020-03-03T00:00+00:00"})


def test_boundary_series_forms_agree():
    steps = 192
    per_time = hydrograph(steps)
    a = run(KW, {**CHANNEL, "boundary_flow": per_time})
    b = run(KW, {**CHANNEL, "boundary_flow": per_time[1:], "initial_flow": per_time[0]})
    assert a["flow"] == b["flow"]
    assert len(a["dates"]) == steps + 1 and a["dates"][1] == "2020-03-01T00:15:00"


@pytest.mark.parametrize("model", [CHV, KW])
def test_timesteps_are_whole_seconds_and_steps_are_bounded(model):
    base = {**CHANNEL, "boundary_flow": 5.0}
    assert "greater than or equal to 1" in _rule(model, {**base, "timestep": 0.5})
    long = {**base, "timestep": 1, "start_date": "2020-01-01", "end_date": "2020-01-03"}
    assert "at most 100000" in _rule(model, long)


def test_a_long_period_with_a_short_step_is_refused_without_listing_it(client):
    """A century of one-minute steps is 52 million time steps: refused at once, counted
    rather than listed (listing them took gigabytes)."""
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = client.post("/hms/constant_volume", json={"inputs": {
        "startDate": "1900-01-01", "endDate": "2000-01-01", "timestep": 60, "boundary_flow": 1,
        "segments": 1}})
    assert response.status_code == 422
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB
