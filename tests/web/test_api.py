"""The gateway end to end: HTTP in, a real Redis broker, a real Celery worker, the store."""
from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.conftest import wait_for
from tests.pram.qaqc import load_cases, mismatches

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def submit(client, path: str, inputs, status: int = 202) -> dict:
    response = client.post(path, json={"inputs": inputs})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_rice_runs_end_to_end(client):
    response = client.post("/pram/rice", json={"inputs": RICE})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "PENDING" and uuid.UUID(body["job_id"]).version == 4
    assert response.headers["Location"] == f"/pram/data?job_id={body['job_id']}"
    record = wait_for(client, body["job_id"], prefix="/pram")
    assert record["status"] == "SUCCESS" and record["progress"] == 100, record
    assert record["id"] == record["job_id"] == body["job_id"]
    assert record["created"] and record["started"] and record["finished"]
    (_, _, expected), = [c for c in load_cases("rice") if c[0] == "0"]
    outputs = {k: v["0"] for k, v in record["data"]["outputs"].items()}
    assert not mismatches(expected, outputs, 1e-5)
    assert record["data"]["inputs"]["mai"] == {"0": 0.056}


def test_record_exists_before_the_submit_answer_returns(client):
    body = submit(client, "/testing/sleepy", {"seconds": 0.5})
    response = client.get(f"/jobs/{body['job_id']}")
    assert response.status_code == 200
    assert response.get_json()["status"] in {"PENDING", "STARTED", "SUCCESS"}
    assert wait_for(client, body["job_id"])["status"] == "SUCCESS"


def test_batch_returns_every_row_in_column_and_row_form(client):
    cases = load_cases("rice")
    rows = [{k: v for k, v in inputs.items() if k in RICE} for _, inputs, _ in cases]
    columns = {name: {str(i): row[name] for i, row in enumerate(rows)} for name in RICE}
    for inputs in (columns, rows):
        record = wait_for(client, submit(client, "/pram/rice", inputs)["job_id"])
        assert record["status"] == "SUCCESS"
        outputs = record["data"]["outputs"]
        assert set(outputs["out_cw"]) == {str(i) for i in range(len(cases))}
        for i, (case, _, expected) in enumerate(cases):
            row = {k: v[str(i)] for k, v in outputs.items()}
            assert not mismatches(expected, row, 1e-5), case


def test_unknown_and_missing_job_ids(client):
    unknown = str(uuid.uuid4())
    for url in (f"/pram/data?job_id={unknown}", f"/jobs/{unknown}", f"/hms/data?job_id={unknown}"):
        response = client.get(url)
        assert response.status_code == 404 and response.get_json()["code"] == 404
    response = client.get("/pram/data")
    assert response.status_code == 400 and "job_id" in response.get_json()["message"]


def test_a_job_is_only_found_under_its_own_app(client):
    job_id = submit(client, "/pram/rice", RICE)["job_id"]
    assert client.get(f"/hms/data?job_id={job_id}").status_code == 404
    assert client.get(f"/pram/data/?job_id={job_id}").status_code == 200  # trailing slash


@pytest.mark.parametrize("change,field,rule", [
    ({"area": -5}, "area", "greater than 0"),
    ({"mai": "lots"}, "mai", "valid number"),
    ({"osed": 3}, "osed", "less than or equal to 1"),
    ({"kd": "NaN"}, "kd", "finite number"),
    ({"dw": None}, "dw", "Field required"),  # null is "not given", and dw is required
    ({"mai": True}, "mai", "a number, not true"),  # never run as 1.0
    ({"kd": False}, "kd", "a number, not false"),
])
def test_invalid_inputs_give_422_naming_run_and_field(client, change, field, rule):
    errors = submit(client, "/pram/rice", {**RICE, **change}, status=422)["errors"]
    assert errors[0]["field"] == field and errors[0]["run"] == "0"
    assert rule in errors[0]["rule"]


def test_missing_field_in_second_run_is_named(client):
    rows = [RICE, {k: v for k, v in RICE.items() if k != "pb"}]
    body = submit(client, "/pram/rice", rows, status=422)
    assert body["errors"] == [{"run": "1", "field": "pb", "value": body["errors"][0]["value"],
                               "rule": "Field required"}]


@pytest.mark.parametrize("kwargs,status", [
    ({"data": "{not json", "content_type": "application/json"}, 400),
    ({"data": json.dumps([1, 2]), "content_type": "application/json"}, 400),
    ({"json": {"nothing": 1}}, 422),
    ({"json": {"inputs": []}}, 422),
    ({"json": {"inputs": "rice"}}, 422),
    ({"json": {"inputs": [1, 2]}}, 422),
    ({"data": "mai=1", "content_type": "application/x-www-form-urlencoded"}, 415),
    ({"data": "x"}, 415),
])
def test_malformed_requests_get_json_errors(client, kwargs, status):
    response = client.post("/pram/rice", **kwargs)
    assert response.status_code == status
    assert response.is_json and response.get_json()["code"] == status


def test_text_that_is_not_unicode_is_refused_naming_it(client):
    """Half a UTF-16 pair alone (``"\\ud800"``) is valid JSON but no text: refused before
    anything is stored, where it used to crash the validator (a 422 with its exception)."""
    body = '{"inputs": {"chemical_name": "x\\ud800", "mai": 0.056, "area": 10000, "dsed": 0.01, ' \
           '"pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}, "label": "ok \\ud83d\\ude00"}'
    response = client.post("/pram/rice", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == \
        "the body is not Unicode text: \\ud800 is the first half of a UTF-16 pair, alone"
    paired = client.post("/pram/rice", data=body.replace("x\\ud800", "x\\ud83d\\ude00"),
                         content_type="application/json")
    assert paired.status_code == 202 and paired.get_json()["label"] == "ok \U0001f600"
    marked = client.post("/pram/rice", data=b"\xef\xbb\xbf" + body.replace("x\\ud800", "x").encode(),
                         content_type="application/json")  # a byte order mark before it is no part of it
    assert marked.status_code == 202, marked.get_json()
    deep = client.post("/pram/rice", data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert deep.status_code == 400 and deep.get_json()["message"] == "the body is not valid JSON: nested too deeply"


def test_unknown_routes_and_methods(client):
    for url in ("/pram/nosuchmodel", "/nosuchapp/rice", "/jobs/x/nope", "/jobs/x/status/more", "/ogc"):
        response = client.get(url)
        assert response.status_code == 404 and response.is_json
    response = client.delete("/pram/rice")
    assert response.status_code == 405 and response.is_json
    assert "POST" in response.headers["Allow"]
    for method in (client.get, client.post):  # a model the app has not: which it has
        message = method("/pram/rcie").get_json()["message"]
        assert message.startswith("no model 'rcie' in pram; its models: ") and ", rice, " in message
    for url in ("/pram/data", "/pram/data/"):
        response = client.post(url)
        assert response.status_code == 405 and response.is_json and "GET" in response.headers["Allow"]


def test_descriptions_and_listing(client):
    listing = client.get("/pram/").get_json()
    names = {m["name"] for m in listing["models"]}
    assert "rice" in names and all(m["description"] for m in listing["models"])
    desc = client.get("/pram/rice").get_json()
    props = desc["inputs"]["properties"]
    assert props["area"]["units"] == "m2" and props["area"]["exclusiveMinimum"] == 0
    assert set(desc["inputs"]["required"]) >= set(RICE)
    assert desc["outputs"]["out_cw"]["units"]
    root = client.get("/").get_json()
    assert {a["name"] for a in root["apps"]} >= {"pram", "hms"}


def test_failure_stores_the_message_not_a_traceback(client):
    record = wait_for(client, submit(client, "/testing/sleepy", {"seconds": 0, "fail": True})["job_id"])
    assert record["status"] == "FAILURE"
    assert record["error"] == "ValueError: the sleepy model was asked to fail"
    assert "Traceback" not in json.dumps(record) and "data" not in record


def test_nan_results_become_null(client):
    response_record = wait_for(client, submit(client, "/testing/sleepy", {"seconds": 0})["job_id"])
    assert response_record["data"]["nan"] is None


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"broker": "ok", "store": "ok"}


def test_openapi_document_covers_every_model(client):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    listing = client.get("/").get_json()["apps"]
    for app in listing:
        for model in app["models"]:
            post = doc["paths"][f"/{app['name']}/{model}"]["post"]
            assert "422" in post["responses"] and "202" in post["responses"]
    assert "/hms/gis/percentage" in doc["paths"] and "/pram/data" in doc["paths"]
    schemas = doc["components"]["schemas"]
    refs = re.findall(r'"\$ref": ?"#/components/schemas/([^"]+)"', json.dumps(doc))
    assert refs and all(ref in schemas for ref in refs)
    assert schemas["pram.rice.Inputs"]["properties"]["area"]["units"] == "m2"


def test_a_10000_run_batch_returns_every_row(client):
    rows = [{**RICE, "mai": i / 100} for i in range(10_000)]
    record = wait_for(client, submit(client, "/pram/rice", rows)["job_id"], timeout=120)
    assert record["status"] == "SUCCESS"
    out = record["data"]["outputs"]["out_mass_area"]
    assert len(out) == 10_000 and out["9999"] == pytest.approx(99.99 / 10000 * 10000)
