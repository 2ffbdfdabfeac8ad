"""EPA's pram_flask routes: /rest/pram/<model>/ answered as pram_flask did, for requests built
exactly as EPA's web client (pram_app) builds them, computed by a real worker."""
from __future__ import annotations

import json

import pytest

from tests.conftest import wait_for
from tests.pram.qaqc import MODELS, load_cases, mismatches, pram_model, tolerance

ANSWER_KEYS = {"user_id", "inputs", "outputs", "exp_out", "_id", "run_type"}


def pram_app_body(inputs: dict) -> str:
    """What pram_app sends: every form value as text ("" when blank) under run "0", with
    run_type "single", dumped to a JSON string that requests' ``json=`` encodes once more."""
    args = {"inputs": {k: {"0": "" if v == "" else str(v)} for k, v in inputs.items()},
            "run_type": "single"}
    return json.dumps(json.dumps(args))


@pytest.mark.parametrize("model", MODELS)
def test_every_case_as_epas_web_client_sends_it(client, model):
    rtol = tolerance(model)
    for n, (case, inputs, expected) in enumerate(load_cases(model)):
        job = f"2026112309{n:02d}00000000"
        response = client.post(f"/rest/pram/{model}/{job}", data=pram_app_body(inputs),
                               content_type="application/json")
        assert response.status_code == 200, (case, response.get_json())
        body = response.get_json()
        assert ANSWER_KEYS <= set(body)
        assert body["_id"] == job and body["run_type"] == "single" and body["exp_out"] is None
        assert set(body["inputs"]) >= {k for k, v in inputs.items() if v != ""}
        outputs = {k: v["0"] for k, v in body["outputs"].items()}
        assert not mismatches(expected, outputs, rtol), f"{model} case {case}"
        # computed as a normal job of the store, which the native API also serves
        assert wait_for(client, body["job_id"])["status"] == "SUCCESS"


@pytest.mark.parametrize("model", MODELS)
def test_get_describes_the_answer(gateway, model):
    response = gateway.test_client().get(f"/rest/pram/{model}/")
    assert response.status_code == 200
    body = response.get_json()
    assert ANSWER_KEYS <= set(body)
    declared = pram_model(model)
    assert set(body["inputs"]) == set(declared.inputs.model_json_schema()["properties"])
    assert set(body["outputs"]) == set(declared.outputs)
    assert set(v["0"] for v in body["inputs"].values()) <= {"string", "number"}


def test_plain_json_body_and_unknown_model(client):
    (_, inputs, expected), *_ = load_cases("rice")
    response = client.post("/rest/pram/rice/1", json={"inputs": inputs})
    assert response.status_code == 200
    assert not mismatches(expected, {k: v["0"] for k, v in response.get_json()["outputs"].items()}, 1e-5)
    assert client.post("/rest/pram/nope/1", json={"inputs": inputs}).status_code == 404


def test_bad_inputs_are_422_and_malformed_json_400(gateway):
    client = gateway.test_client()
    (_, inputs, _), *_ = load_cases("rice")
    response = client.post("/rest/pram/rice/1", data=pram_app_body({**inputs, "mia": "1"}),
                           content_type="application/json")
    assert response.status_code == 422
    assert "did you mean mai?" in response.get_json()["errors"][0]["rule"]
    assert client.post("/rest/pram/rice/1", data="{oops", content_type="application/json").status_code == 400
    for body in ('{"inputs": {"chemical_name": "\\udfff"}}', json.dumps('{"inputs": {"chemical_name": "\\ud800"}}')):
        lone = client.post("/rest/pram/rice/1", data=body, content_type="application/json")
        assert lone.status_code == 400 and "not Unicode text" in lone.get_json()["message"], body


def test_a_job_slower_than_the_wait_is_answered_202(stack_env, monkeypatch):
    """With QED_REST_WAIT=0 a job not finished at once is answered 202 with the poll URL."""
    from flask_qed.runtime import Runtime
    from flask_qed.tasks import create_celery
    from flask_qed.web import create_gateway
    client = create_gateway(create_celery(Runtime.load({**stack_env, "QED_REST_WAIT": "0"}))).test_client()
    (_, inputs, _), *_ = load_cases("rice")
    # run, not answered from an identical job of an earlier test (a result at once: 200)
    response = client.post("/rest/pram/rice/77", data=pram_app_body(inputs), content_type="application/json",
                           headers={"Cache-Control": "no-cache"})
    assert response.status_code == 202
    body = response.get_json()
    assert body["_id"] == "77" and body["url"] == f"/pram/data?job_id={body['job_id']}"
    assert response.headers["Location"] == body["url"]
