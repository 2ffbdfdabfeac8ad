"""What PRAM inputs the gateway takes: blanks, numbers as text, descriptive fields, unknown
names, and batches that keep going past invalid runs (on_invalid="skip")."""
from __future__ import annotations

import json
import time

import pytest

from flask_qed.model import MAX_ERRORS
from tests.conftest import wait_for
from tests.pram.qaqc import MODELS, case_inputs, input_errors, load_cases, outputs


def test_misspelt_field_is_422_with_the_closest_name(gateway):
    inputs = {**case_inputs("trex"), "lc50_mam": 120}
    response = gateway.test_client().post("/pram/trex", json={"inputs": inputs})
    assert response.status_code == 422
    error, = [e for e in response.get_json()["errors"] if e["field"] == "lc50_mam"]
    assert error["run"] == "0" and error["value"] == 120
    assert "did you mean lc50_mamm?" in error["rule"]


@pytest.mark.parametrize("model", MODELS)
def test_every_model_refuses_an_unknown_field(model):
    errors = input_errors(model, {**case_inputs(model), "no_such_input": 1})
    assert [e["field"] for e in errors] == ["no_such_input"]
    assert errors[0]["rule"].startswith("unknown input")


@pytest.mark.parametrize("model,field", [("trex", "csrfmiddlewaretoken"), ("trex", "seed_crop_v"),
                                         ("agdrift", "epa_pond_width"), ("kabam", "csrfmiddlewaretoken")])
def test_fields_epa_clients_send_are_descriptive(model, field):
    """EPA's web client sends these; the model does not use them, but takes them."""
    assert outputs(model, {**case_inputs(model), field: "x1"}) == outputs(model, case_inputs(model))


def test_numeric_string_and_blank_in_one_batch():
    """Run 0 sends every number as text; run 1 leaves an optional input blank ("")
    and run 2 null: the same as numbers / the input left out."""
    base = case_inputs("trex")
    as_text = {k: str(v) if isinstance(v, (int, float)) else v for k, v in base.items()}
    rows = [as_text, {**base, "lc50_mamm": "", "tw_bird_noael": ""}, {**base, "lc50_mamm": None}]
    out = outputs("trex", rows)
    plain = outputs("trex", base)
    for name, values in plain.items():
        assert out[name]["0"] == values["0"], name
        assert out[name]["1"] == values["0"], name
        assert out[name]["2"] == values["0"], name


def test_descriptive_fields_take_numbers_as_text():
    m_inputs = {**case_inputs("trex"), "pc_code": 128976, "chemical_name": 42, "version": 1.5}
    from tests.pram.qaqc import pram_model
    m = pram_model("trex")
    echoed = m.run(m.validate(m_inputs))["inputs"]
    assert (echoed["pc_code"]["0"], echoed["chemical_name"]["0"], echoed["version"]["0"]) == \
        ("128976", "42", "1.5")


def test_a_blank_required_input_is_still_required():
    errors = input_errors("trex", {**case_inputs("trex"), "ld50_bird": ""})
    assert [(e["field"], e["rule"]) for e in errors] == [("ld50_bird", "Field required")]


def test_maleic_hydrazide_without_noaec_bird():
    """EPA's T-REX case 7 leaves noaec_bird blank: the chronic bird RQs are null, the rest
    is computed (and matches EPA's values, checked by the QA/QC tests)."""
    (inputs,) = [i for _, i, _ in load_cases("trex") if i["chemical_name"] == "Maleic Hydrazide"]
    assert inputs["noaec_bird"] == ""
    out = outputs("trex", inputs)
    for food in ("sg", "tg", "bp", "fp", "ar"):
        assert out[f"out_arq_diet_bird_{food}_c"]["0"] is None
        assert out[f"out_arq_diet_bird_{food}_a"]["0"] > 0
    assert out["out_eec_diet_sg"]["0"] > 0


def test_on_invalid_must_be_fail_or_skip(gateway):
    response = gateway.test_client().post(
        "/pram/rice", json={"inputs": case_inputs("rice"), "on_invalid": "ignore"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "on_invalid"


def test_by_default_one_bad_run_refuses_the_batch(gateway):
    rows = [case_inputs("rice")] * 10
    rows[3] = {**rows[3], "mai": "lots"}
    response = gateway.test_client().post("/pram/rice", json={"inputs": rows})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["run"] == "3"


def test_skip_computes_the_999_valid_runs_and_reports_the_bad_one(client):
    base = case_inputs("rice")
    rows = [{**base, "mai": 0.01 + i / 1000} for i in range(1000)]
    rows[417] = {**base, "mai": "lots", "dsed": -1}
    response = client.post("/pram/rice", json={"inputs": rows, "on_invalid": "skip"})
    assert response.status_code == 202, response.get_json()
    record = wait_for(client, response.get_json()["job_id"])
    assert record["status"] == "SUCCESS", record.get("error")
    data = record["data"]
    assert set(data["errors"]) == {"417"}
    assert {e["field"] for e in data["errors"]["417"]} == {"mai", "dsed"}
    cw = data["outputs"]["out_cw"]
    assert len(cw) == 999 and "417" not in cw
    single = outputs("rice", rows[:2])["out_cw"]
    assert (cw["0"], cw["1"]) == (single["0"], single["1"])
    # the runs skipped and why, alone: from the table the worker kept (1,000 runs)
    skipped = client.get(f"/jobs/{record['job_id']}/skipped").get_json()
    assert skipped == {"job_id": record["job_id"], "skipped": 1, "errors": data["errors"]}
    lines = client.get(f"/jobs/{record['job_id']}/skipped?f=csv").get_data(as_text=True).splitlines()
    assert lines[0] == "run,field,value,rule" and len(lines) == 3
    assert {tuple(line.split(",")[:3]) for line in lines[1:]} == {("417", "mai", "lots"), ("417", "dsed", "-1")}


def test_skip_with_every_run_invalid_is_422(gateway):
    response = gateway.test_client().post("/pram/rice", json={"inputs": [{}, {}], "on_invalid": "skip"})
    assert response.status_code == 422


def test_100000_empty_runs_are_refused_fast_with_a_small_answer(gateway):
    """Validation stops listing after MAX_ERRORS errors, says how many more, and stops."""
    body = json.dumps({"inputs": [{}] * 100_000})
    client = gateway.test_client()
    started = time.perf_counter()
    response = client.post("/pram/trex", data=body, content_type="application/json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert len(errors) == MAX_ERRORS + 1
    assert "validation stopped after 100 errors" in errors[-1]["rule"]
    assert "runs not checked" in errors[-1]["rule"]
    assert len(response.data) < 50_000
    assert elapsed < 5, f"{elapsed:.1f} s"


def test_a_physically_impossible_value_says_why():
    error, = input_errors("trex", {**case_inputs("trex"), "ld50_bird": 0})
    assert error["field"] == "ld50_bird"
    assert error["rule"].startswith("Input should be greater than 0: Avian acute oral LD50 [mg/kg-bw]")
    assert "physically impossible" in error["rule"]
