"""A hydrological chain through OGC API – Processes Part 3: kinematic-wave routing of the
flow that curve-number runoff gives, nested in one execute request, equals running the two
one after the other; OWSLib (unmodified) submits it. Against gunicorn and a real worker."""
from __future__ import annotations

import pytest
import requests
from owslib.ogcapi.processes import Processes

from hms_flask.models.changing_volume import RIVER_EXAMPLE
from tests.conftest import stop
from tests.test_deployment import _deploy

RAIN = [0.0, 2.0, 12.5, 40.0, 63.5, 30.0, 8.0, 2.5] + [0.0] * 17      # mm per hour, 25 steps (t0..t24)
RUNOFF = {"precipitation": RAIN, "curve_number": 78, "area": 35.0, "timestep": 3600}
ROUTING = {k: v for k, v in RIVER_EXAMPLE.items() if k != "boundary_flow"}


@pytest.fixture(scope="module")
def ogc(tmp_path_factory):
    started: list = []
    deployed = _deploy(tmp_path_factory.mktemp("chains"), started, QED_SYNC_WAIT="30")
    yield deployed["base"] + "/ogcapi"
    for proc in started:
        stop(proc)


def outputs(answer: requests.Response) -> dict:
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    return {k: (v.get("value", v) if isinstance(v, dict) else v) for k, v in body.get("outputs", body).items()}


def execute(ogc: str, pid: str, inputs: dict, wanted: list[str]) -> dict:
    return outputs(requests.post(f"{ogc}/processes/{pid}/execution", timeout=60, json={
        "inputs": inputs, "outputs": {w: {} for w in wanted}, "response": "document"}))


def test_routing_over_curve_number_runoff_equals_the_two_one_after_the_other(ogc):
    flow = execute(ogc, "hms.curve_number", RUNOFF, ["out_flow"])["out_flow"]
    assert len(flow) == len(RAIN) and max(flow) > 0
    apart = execute(ogc, "hms.kinematic_wave", {**ROUTING, "boundary_flow": flow}, ["flow", "dates"])
    nested = {**ROUTING, "boundary_flow": {"process": f"{ogc}/processes/hms.curve_number", "inputs": RUNOFF,
                                           "outputs": {"out_flow": {}}}}
    together = execute(ogc, "hms.kinematic_wave", nested, ["flow", "dates"])
    assert together == apart


def test_owslib_submits_the_chain(ogc):
    nested = {**ROUTING, "boundary_flow": {"process": f"{ogc}/processes/hms.curve_number", "inputs": RUNOFF,
                                           "outputs": {"out_flow": {}}}}
    api = Processes(ogc)
    answer = api.execute("hms.kinematic_wave", nested, outputs={"flow": {}}, response="document")
    flow = answer.get("outputs", answer)["flow"]
    flow = flow.get("value", flow) if isinstance(flow, dict) else flow
    runoff = execute(ogc, "hms.curve_number", RUNOFF, ["out_flow"])["out_flow"]
    assert flow == execute(ogc, "hms.kinematic_wave", {**ROUTING, "boundary_flow": runoff}, ["flow"])["flow"]
