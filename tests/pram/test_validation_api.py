"""Every PRAM model refuses bad inputs with a 422 that names the run, the field and the rule;
no input, however odd, makes the gateway answer 500."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pram.qaqc import MODELS, load_cases, outputs, pram_model


def schema(model: str) -> dict:
    return pram_model(model).inputs.model_json_schema()


def numeric_fields(model: str) -> list[str]:
    props = schema(model)["properties"]
    return [n for n in schema(model).get("required", [])
            if props[n].get("type") in ("number", "integer")]


@pytest.mark.parametrize("model", MODELS)
def test_missing_required_field_is_named(gateway, model):
    client = gateway.test_client()
    _, inputs, _ = load_cases(model)[0]
    field = schema(model)["required"][0]
    rows = [inputs, {k: v for k, v in inputs.items() if k != field}]
    response = client.post(f"/pram/{model}", json={"inputs": rows})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"run": "1", "field": field, "rule": "Field required"}.items() <= errors[0].items()


@pytest.mark.parametrize("model", MODELS)
def test_wrong_type_and_out_of_range_are_named(gateway, model):
    client = gateway.test_client()
    _, inputs, _ = load_cases(model)[0]
    field = numeric_fields(model)[0]
    response = client.post(f"/pram/{model}", json={"inputs": {**inputs, field: "abc"}})
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert error["field"] == field and error["run"] == "0" and error["value"] == "abc"
    assert response.get_json()["message"].startswith("invalid inputs: run 0:")
    prop = schema(model)["properties"][field]
    bound = prop.get("exclusiveMinimum", prop.get("minimum"))
    if bound is not None:
        response = client.post(f"/pram/{model}", json={"inputs": {**inputs, field: bound - 1}})
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == field


@pytest.mark.parametrize("value", ["[1.15,,1.15]", "1.15", "[1.15, \"x\", 1]", "[]", "{\"a\": 1}"])
def test_malformed_trex_list_is_422(gateway, value):
    _, inputs, _ = load_cases("trex")[0]
    response = gateway.test_client().post("/pram/trex", json={"inputs": {**inputs, "app_rates": value}})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"].startswith("app_rates")


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_input_makes_a_500(gateway, model, data):
    """Case 0 with some fields replaced by arbitrary JSON, or arbitrary bodies."""
    _, inputs, _ = load_cases(model)[0]
    names = sorted(inputs)
    changed = data.draw(st.dictionaries(st.sampled_from(names), json_values, max_size=3))
    body = data.draw(st.sampled_from([{"inputs": {**inputs, **changed}},
                                      {"inputs": [{**inputs, **changed}]},
                                      {"inputs": {k: {"0": v} for k, v in {**inputs, **changed}.items()}},
                                      data.draw(json_values)]))
    # Sent as text by the standard library, which writes any integer, however large.
    response = gateway.test_client().post(f"/pram/{model}", data=json.dumps(body),
                                          content_type="application/json")
    assert response.status_code in (202, 400, 422), response.get_json()
    assert response.is_json
    if response.status_code == 202:  # accepted inputs must also compute without an exception
        outputs(model, json.loads(json.dumps(body))["inputs"])
