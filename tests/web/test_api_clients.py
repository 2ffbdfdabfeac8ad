"""What a new client of the API meets first, against gunicorn and a real worker: the whole
process list in one page (OWSLib, unmodified), an example body in every description that
runs as it is (natively and through OGC), a clear 422 for a body without ``inputs``, and
HMS results as CSV from ``/jobs/<id>/results``."""
from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
import requests
from owslib.ogcapi.processes import Processes

from tests.conftest import stop
from tests.test_deployment import _deploy

APPS = ("hms", "pram")
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    started: list = []
    deployed = _deploy(tmp_path_factory.mktemp("clients"), started)
    yield {**deployed, "ogc": deployed["base"] + "/ogcapi"}
    for proc in started:
        stop(proc)


def models(base: str) -> list[tuple[str, str]]:
    return [(app, m["name"]) for app in APPS
            for m in requests.get(f"{base}/{app}/", timeout=10).json()["models"]]


def finished(base: str, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = requests.get(f"{base}/jobs/{job_id}/status", timeout=10).json()
        if record["status"] not in ("PENDING", "STARTED"):
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.1)


def test_owslib_lists_every_process_and_an_explicit_limit_still_pages(stack):
    base, ogc = stack["base"], stack["ogc"]
    declared = {f"{app}.{name}" for app, name in models(base)}
    assert len(declared) > 10  # more than the standard's example default of 10
    listed = [p["id"] for p in Processes(ogc).processes()]
    everything = [p["id"] for p in requests.get(f"{ogc}/processes?limit=10000", timeout=10).json()["processes"]]
    assert listed == everything and declared <= set(listed) and "pram.rice" in listed
    whole = requests.get(f"{ogc}/processes", timeout=10).json()
    assert not [link for link in whole["links"] if link["rel"] == "next"]
    page = requests.get(f"{ogc}/processes?limit=3", timeout=10).json()
    assert len(page["processes"]) == 3
    nxt = {link["rel"]: link["href"] for link in page["links"]}["next"]
    assert "limit=3" in nxt and "offset=3" in nxt
    assert requests.get(nxt, timeout=10).json()["processes"][0]["id"] == listed[3]
    default = {p["name"]: p for p in requests.get(f"{ogc}/api", timeout=30).json()[
        "paths"]["/processes"]["get"]["parameters"]}["limit"]["schema"]["default"]
    assert default >= len(everything)


def test_every_advertised_example_runs_natively_and_through_ogc(stack):
    base, ogc = stack["base"], stack["ogc"]
    api = requests.get(f"{ogc}/api", timeout=30).json()
    native3 = requests.get(f"{base}/openapi.json", timeout=30).json()
    jobs = {}
    for app, name in models(base):
        described = requests.get(f"{base}/{app}/{name}", timeout=10).json()
        body = described["example"]
        assert set(body) == {"inputs"} and body["inputs"], (app, name)
        operation = native3["paths"][f"/{app}/{name}"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["example"] == body
        answer = requests.post(f"{base}/{app}/{name}", json=body, timeout=30)
        assert answer.status_code == 202, (app, name, answer.text)
        jobs[f"native {app}.{name}"] = answer.json()["job_id"]

        process = requests.get(f"{ogc}/processes/{app}.{name}", timeout=10).json()
        execute = process["example"]
        assert set(execute) == {"inputs"} and set(execute["inputs"]) <= set(process["inputs"])
        media = api["paths"][f"/processes/{app}.{name}/execution"]["post"]["requestBody"]["content"]
        assert media["application/json"]["example"] == execute
        answer = requests.post(f"{ogc}/processes/{app}.{name}/execution", json=execute, headers=ASYNC,
                               timeout=30)
        assert answer.status_code == 201, (app, name, answer.text)
        jobs[f"ogc {app}.{name}"] = answer.json()["jobID"]
    assert any(k.startswith("native hms.") for k in jobs) and any(k.startswith("ogc pram.") for k in jobs)
    failed = {label: record.get("error") for label, job_id in jobs.items()
              if (record := finished(base, job_id))["status"] != "SUCCESS"}
    assert failed == {}


def test_a_flat_body_is_told_to_wrap_its_values_in_inputs(stack):
    base, ogc = stack["base"], stack["ogc"]
    example = requests.get(f"{base}/hms/curve_number", timeout=10).json()["example"]["inputs"]
    native = requests.post(f"{base}/hms/curve_number", json=example, timeout=10)
    assert native.status_code == 422, native.text
    message = native.json()["message"]
    assert '{"inputs": {...}}' in message and "precipitation" in message and "top level" in message
    rice = requests.post(f"{base}/pram/rice", json={"mai": 0.056, "area": 10000}, timeout=10)
    assert rice.status_code == 422 and "mai, area are inputs" in rice.json()["message"]
    ogc_flat = requests.post(f"{ogc}/processes/hms.curve_number/execution", json=example, timeout=10)
    assert ogc_flat.status_code == 422, ogc_flat.text
    detail = ogc_flat.json()["detail"]
    assert '{"inputs": {...}}' in detail and "precipitation" in detail
    assert ogc_flat.json()["errors"][0]["field"] == "inputs"
    empty = requests.post(f"{ogc}/processes/pram.rice/execution", json={"response": "document"}, timeout=10)
    assert empty.status_code == 422 and '{"inputs": {...}}' in empty.json()["detail"]


def test_a_body_member_the_api_does_not_know_is_named_not_ignored(stack):
    base = stack["base"]
    inputs = requests.get(f"{base}/pram/rice", timeout=10).json()["example"]["inputs"]
    def newest() -> list[str]:
        return [j["job_id"] for j in requests.get(f"{base}/jobs", params={"model": "rice", "limit": 1},
                                                  timeout=10).json()["jobs"]]
    before = newest()
    slip = requests.post(f"{base}/pram/rice", json={"inputs": inputs, "cahce": False, "outputs": ["out_cw"]},
                         timeout=10)
    assert slip.status_code == 422, slip.text
    errors = {e["field"]: e for e in slip.json()["errors"]}
    assert set(errors) == {"cahce", "outputs"}
    assert "did you mean cache?" in errors["cahce"]["rule"] and errors["cahce"]["value"] is False
    assert "unknown member of the body" in errors["outputs"]["rule"] and errors["outputs"]["value"] == '["out_cw"]'
    many = requests.post(f"{base}/pram/rice", json={"inputs": inputs, **{f"k{i}": i for i in range(250)}},
                         timeout=10)
    assert many.status_code == 422 and len(many.json()["errors"]) == 101, many.text[:300]
    assert many.json()["errors"][-1] == {"run": None, "field": "body", "value": None,
                                         "rule": "150 more members of the body not listed"}
    twice = requests.post(f"{base}/pram/rice", data='{"inputs": {"mai": 1, "mai": 2}}', timeout=10,
                          headers={"Content-Type": "application/json"})
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "mai", twice.text
    assert "named twice in inputs" in twice.json()["errors"][0]["rule"]
    for refused in (slip, many, twice):
        assert "job_id" not in refused.json()
    assert newest() == before  # nothing stored
    every = requests.post(f"{base}/pram/rice", timeout=30, json={
        "inputs": inputs, "label": "all members", "cache": False, "on_invalid": "fail",
        "subscriber": {"successUri": "http://127.0.0.1:9/done"}})
    assert every.status_code in (202, 422), every.text  # (the subscriber's host may not be allowed here)
    if every.status_code == 422:
        assert {e["field"] for e in every.json()["errors"]} == {"subscriber.successUri"}, every.text
        every = requests.post(f"{base}/pram/rice", timeout=30, json={
            "inputs": inputs, "label": "all members", "cache": False, "on_invalid": "fail"})
    assert every.status_code == 202 and every.json()["label"] == "all members", every.text


def test_the_inputs_a_job_gives_back_can_be_sent_again_as_they_are(stack):
    base = stack["base"]
    inputs = requests.get(f"{base}/pram/rice", timeout=10).json()["example"]["inputs"]
    job_id = requests.post(f"{base}/pram/rice", json={"inputs": inputs, "label": "again"}, timeout=10).json()["job_id"]
    given = requests.get(f"{base}/jobs/{job_id}/inputs", timeout=10).json()
    assert set(given) == {"job_id", "app", "model", "label", "runs", "inputs"}
    again = requests.post(f"{base}/pram/rice", json=given, headers={"Prefer": "wait=20"}, timeout=30)
    assert again.status_code in (200, 202) and again.json()["label"] == "again", again.text
    elsewhere = requests.post(f"{base}/pram/trex", json=given, timeout=10)
    assert elsewhere.status_code == 422, elsewhere.text
    refused = {e["field"]: e["rule"] for e in elsewhere.json()["errors"]}
    assert "model" in refused and "this route runs pram's trex" in refused["model"]
    assert "app" not in refused


def run(base: str, path: str, inputs: dict[str, Any]) -> tuple[str, Any]:
    job_id = requests.post(base + path, json={"inputs": inputs}, timeout=30).json()["job_id"]
    assert finished(base, job_id)["status"] == "SUCCESS"
    return job_id, requests.get(f"{base}/jobs/{job_id}/results", timeout=30).json()


def csv_of(base: str, job_id: str, **how: Any) -> list[list[str]]:
    answer = requests.get(f"{base}/jobs/{job_id}/results", timeout=30, **how)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv"), answer.text
    assert "attachment" in answer.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(answer.text)))


def test_hms_results_as_csv_where_they_are_a_table(stack):
    base = stack["base"]
    # a flood wave routed through 3 segments: one row per time step
    routing = requests.get(f"{base}/hms/kinematic_wave", timeout=10).json()["example"]["inputs"]
    job_id, data = run(base, "/hms/kinematic_wave", routing)
    table = csv_of(base, job_id, headers={"Accept": "text/csv"})
    assert table == csv_of(base, job_id, params={"f": "csv"})
    segments = data["segments"]
    assert table[0] == ["dates", "boundary_flow", *(f"{name} segment {s}" for name in ("flow", "depth", "volume")
                                                    for s in segments)]
    assert len(table) == len(data["dates"]) + 1
    for i, row in enumerate(table[1:]):
        assert row[0] == data["dates"][i] and float(row[1]) == data["boundary_flow"][i]
        assert [float(v) for v in row[2:2 + len(segments)]] == data["flow"][i]
        assert [float(v) for v in row[-len(segments):]] == data["volume"][i]
    # percent area: one row per grid cell of each feature
    area = requests.get(f"{base}/hms/percent_area", timeout=10).json()["example"]["inputs"]
    job_id, data = run(base, "/hms/percent_area", area)
    table = csv_of(base, job_id, params={"f": "csv"})
    fields = ["latitude", "longitude", "cellArea", "containedArea", "percentArea", "percentCatchment"]
    assert table[0] == ["feature", *fields]
    rows = [[feature, *(p[k] for k in fields)] for feature, v in data["geometry"].items() for p in v["points"]]
    assert [[r[0], *map(float, r[1:])] for r in table[1:]] == rows and rows
    # a split table (columns and rows) as the original constant-volume routing gives it
    constant = requests.get(f"{base}/hms/constant_volume", timeout=10).json()["example"]["inputs"]
    job_id, data = run(base, "/hms/constant_volume", constant)
    table = csv_of(base, job_id, params={"f": "csv"})
    assert table[0] == [str(c) for c in data["columns"]]
    assert [[r[0], *map(float, r[1:])] for r in table[1:]] == data["data"]
    # daily evapotranspiration: a dated series, the scalars left to the JSON
    et = requests.get(f"{base}/hms/evapotranspiration", timeout=10).json()["example"]["inputs"]
    job_id, data = run(base, "/hms/evapotranspiration", et)
    table = csv_of(base, job_id, headers={"Accept": "text/csv"})
    assert table[0] == ["dates", "out_pet", "out_ra", "out_daylight"]
    assert [float(r[1]) for r in table[1:]] == data["out_pet"] and [r[0] for r in table[1:]] == data["dates"]


def test_results_without_a_table_form_are_a_406_that_says_so(stack):
    base = stack["base"]
    job_id = requests.post(f"{base}/testing/sleepy", json={"inputs": {"seconds": 0}}, timeout=10).json()["job_id"]
    assert finished(base, job_id)["status"] == "SUCCESS"
    answer = requests.get(f"{base}/jobs/{job_id}/results", headers={"Accept": "text/csv"}, timeout=10)
    assert answer.status_code == 406 and answer.headers["Content-Type"].startswith("application/json")
    assert "no table form" in answer.json()["message"] and "application/json" in answer.json()["message"]
