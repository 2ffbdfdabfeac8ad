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
    deployed = _deploy(tmp_path_factory.mktemp("chains"), started, QED_SYNC_WAIT="30", QED_CACHE="on")
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


def _jobs_since(ogc: str, moment: str) -> list[dict]:
    root = ogc.rsplit("/ogcapi", 1)[0]
    return requests.get(f"{root}/jobs", params={"since": moment, "limit": 100}, timeout=10).json()["jobs"]


def _now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def test_a_refused_chain_submits_nothing(ogc):
    """Every level of a chain is checked before any job of it is written: a later step's
    unknown process, a step's invalid inputs and the outer job's own invalid inputs are
    each a 422 (the last listing every fault), and no step is left to run."""
    good = {"process": f"{ogc}/processes/hms.curve_number", "inputs": RUNOFF, "outputs": {"out_flow": {}}}
    cases = [
        ({**ROUTING, "boundary_flow": good, "length": {"process": f"{ogc}/processes/no.such",
                                                        "outputs": {"x": {}}}}, ["length"]),
        ({**ROUTING, "boundary_flow": {**good, "inputs": {**RUNOFF, "curve_number": 400}}}, ["curve_number"]),
        ({**ROUTING, "width": "abc", "slope": -5, "bogus": 1, "boundary_flow": good}, ["bogus", "slope", "width"]),
    ]
    for inputs, fields in cases:
        since = _now()
        answer = requests.post(f"{ogc}/processes/hms.kinematic_wave/execution", timeout=60,
                               json={"inputs": inputs}, headers={"Prefer": "respond-async"})
        assert answer.status_code == 422, answer.text[:300]
        assert sorted(e["field"] for e in answer.json()["errors"]) == fields, answer.json()
        assert _jobs_since(ogc, since) == []


def test_only_this_servers_processes_are_nested_whatever_loopback_name_it_is_given(ogc):
    far = {**ROUTING, "boundary_flow": {"process": "http://evil.example.com/ogcapi/processes/hms.curve_number",
                                        "inputs": RUNOFF, "outputs": {"out_flow": {}}}}
    answer = requests.post(f"{ogc}/processes/hms.kinematic_wave/execution", timeout=60, json={"inputs": far})
    assert answer.status_code == 422 and "another server (evil.example.com)" in answer.text, answer.text[:300]
    assert "127.0.0.1" in ogc
    named = ogc.replace("127.0.0.1", "localhost")  # this server, by another of its names
    near = {**ROUTING, "boundary_flow": {"process": f"{named}/processes/hms.curve_number", "inputs": RUNOFF,
                                         "outputs": {"out_flow": {}}}}
    assert execute(ogc, "hms.kinematic_wave", near, ["flow"])["flow"]


def test_a_chain_that_opts_out_of_the_result_cache_runs_its_steps_again(ogc):
    nested = {**ROUTING, "boundary_flow": {"process": f"{ogc}/processes/hms.curve_number", "inputs": RUNOFF,
                                           "outputs": {"out_flow": {}}}}
    root = ogc.rsplit("/ogcapi", 1)[0]

    def step_of(body: dict) -> dict:
        answer = requests.post(f"{ogc}/processes/hms.kinematic_wave/execution", timeout=60, json=body,
                               headers={"Prefer": "respond-async"})
        assert answer.status_code == 201, answer.text[:300]
        job = answer.headers["Location"].rsplit("/", 1)[-1]
        record = requests.get(f"{root}/jobs/{job}", params={"wait": 30}, headers={"Prefer": "wait=30"},
                              timeout=60).json()
        assert record["status"] == "SUCCESS", record
        return requests.get(f"{root}/jobs/{record['steps']['boundary_flow']}", timeout=10).json()

    step_of({"inputs": nested})  # once, so that the step is in the cache
    again = step_of({"inputs": nested})
    assert again.get("cached_from"), again
    assert not step_of({"inputs": nested, "cache": False}).get("cached_from")


def test_a_step_refused_after_others_were_submitted_cancels_them(client, monkeypatch):
    """A chain checked whole can still be refused by a later step's own write (another
    request took the owner's last place, the broker went away): the steps already
    submitted are cancelled, so that nothing of the refused chain runs."""
    from flask_qed.errors import ApiError
    from flask_qed.jobs import chain
    from flask_qed.jobs import submit as submit_module

    submitted: list[str] = []
    real = chain.submit

    def second_refused(*args, **kwargs):
        if submitted:
            raise ApiError(429, "the last place was taken meanwhile")
        submitted.append(real(*args, **kwargs))
        return submitted[-1]

    monkeypatch.setattr(chain, "submit", second_refused)
    monkeypatch.setattr(submit_module, "publish", lambda *args, **kwargs: None)  # the step stays queued
    runoff = {"process": "/ogcapi/processes/hms.curve_number", "inputs": RUNOFF, "outputs": {"out_flow": {}}}
    other = {**runoff, "inputs": {**RUNOFF, "curve_number": 80}}
    answer = client.post("/ogcapi/processes/hms.kinematic_wave/execution",
                         json={"inputs": {**ROUTING, "boundary_flow": runoff, "mannings_n": other}})
    assert answer.status_code == 429, answer.get_json()
    assert len(submitted) == 1
    assert client.get(f"/jobs/{submitted[0]}").get_json()["status"] == "REVOKED"


def test_a_process_url_through_a_proxy_names_this_server_by_its_host_alone(client):
    """Behind a proxy the gateway sees neither the client's scheme nor its port (compose's
    nginx publishes 7777 and passes Host without it; TLS may end before it): the URL a
    client gives for a nested process is compared by host name alone."""
    for url in ("http://localhost:7777/ogcapi/processes/hms.curve_number",
                "https://localhost/ogcapi/processes/hms.curve_number"):
        nested = {**ROUTING, "boundary_flow": {"process": url, "inputs": RUNOFF, "outputs": {"out_flow": {}}}}
        answer = client.post("/ogcapi/processes/hms.kinematic_wave/execution", base_url="http://localhost",
                             json={"inputs": nested}, headers={"Prefer": "respond-async"})
        assert answer.status_code == 201, (url, answer.get_json())
