"""Risk at a glance: the PRAM models' risk quotients (RQs) against their levels of concern
(LOCs), checked against EPA's published QA/QC cases — their RQ values and, where EPA's
models publish one, their own words on whether a ratio is a concern."""
from __future__ import annotations

import csv
import io
import math
import types

import numpy as np
import pytest

from flask_qed.risk import LOCS, Risk, exceeds_text
from tests.conftest import wait_for
from tests.pram.qaqc import case_inputs, load_cases, pram_model

RQ_MODELS = ["trex", "therps", "terrplant", "sip", "stir", "beerex", "kabam"]

# The levels each model compares its RQs to (name -> level), as EPA's models and guidance say.
LEVELS = {
    "trex": {"acute": 0.5, "acute_restricted": 0.2, "acute_endangered": 0.1, "chronic": 1.0},
    "therps": {"acute": 0.5, "acute_restricted": 0.2, "acute_endangered": 0.1, "chronic": 1.0},
    "kabam": {"acute": 0.5, "acute_restricted": 0.2, "acute_endangered": 0.1, "chronic": 1.0},
    "terrplant": {"plant": 1.0},
    "sip": {"sip_acute": 0.1, "sip_chronic": 1.0},
    "stir": {"stir": 0.1},
    "beerex": {"bee_acute": 0.4, "bee_chronic": 1.0},
}


def flags(model: str, outputs: dict[str, dict[str, object]]) -> dict[str, list[dict]]:
    """Each run's exceedances, as the worker computes them, of outputs in column form."""
    keys = list(next(iter(outputs.values())))
    arrays = {name: [col.get(k) for k in keys] for name, col in outputs.items()}
    return dict(zip(keys, pram_model(model).risk.exceeds(arrays, len(keys))))


def expected_loc(model: str, output: str, value: float) -> str | None:
    """The highest LOC an RQ of EPA's published value reaches (None: none)."""
    risk = pram_model(model).risk
    reached = [n for n in risk.rqs[output] if value >= risk.locs[n].level]
    return max(reached, key=lambda n: risk.locs[n].level) if reached else None


# -- declarations ------------------------------------------------------------------------
@pytest.mark.parametrize("model", RQ_MODELS)
def test_each_rq_model_declares_its_rqs_and_their_levels(model):
    risk = pram_model(model).risk
    assert risk is not None and risk.rqs
    assert {n: loc.level for n, loc in risk.locs.items()} == LEVELS[model]
    outputs = pram_model(model).outputs
    assert set(risk.rqs) <= set(outputs)
    assert all(risk.locs[n].source for names in risk.rqs.values() for n in names)


def test_trex_acute_rqs_meet_the_three_acute_locs_and_chronic_rqs_the_chronic_one():
    rqs = pram_model("trex").risk.rqs
    assert rqs["out_crq_dose_mamm_sg_sm"] == ("chronic",)
    assert rqs["out_arq_diet_bird_sg_c"] == ("chronic",)  # the birds' chronic dietary RQ
    assert rqs["out_arq_bird_sg_sm"] == ("acute", "acute_restricted", "acute_endangered")
    assert rqs["out_sc_mamm_s"] == ("chronic",) and rqs["out_sa_bird_1_s"][0] == "acute"
    assert "out_eec_diet_sg" not in rqs  # an EEC is no RQ


@pytest.mark.parametrize("model", ["rice", "iec", "earthworm", "agdrift"])
def test_models_without_rqs_declare_none(model):
    assert pram_model(model).risk is None


def test_a_declaration_naming_an_unknown_loc_is_refused():
    module = types.ModuleType("made_up")
    module.OUTPUTS = {"out_rq": {"description": "an RQ"}}
    module.RISK = {"out_rq": ["no_such_loc"]}
    with pytest.raises(ValueError, match="no_such_loc"):
        Risk.from_module(module)


def test_the_glossary_explains_the_abbreviations_of_output_names():
    glossary = pram_model("trex").risk.glossary
    for term in ("sg", "tg", "bp", "fp", "ar", "ld50", "lc50", "noaec", "noael", "rq", "eec"):
        assert glossary[term], term
    assert pram_model("therps").risk.glossary["tp"] == "terrestrial-phase amphibians"
    assert {n: loc.level for n, loc in LOCS.items()} == LEVELS["trex"]  # EPA's standard LOCs


# -- the science: EPA's QA/QC cases ------------------------------------------------------
def test_trex_qaqc_chronic_dose_rq_of_small_mammals_is_flagged_chronic():
    outputs = pram_model("trex").run(pram_model("trex").validate(case_inputs("trex", 0)))["outputs"]
    found = {e["output"]: e for e in flags("trex", outputs)["0"]}
    hit = found["out_crq_dose_mamm_sg_sm"]
    assert hit["loc"] == "chronic" and hit["level"] == 1.0
    assert math.isclose(hit["value"], 7.960519978, rel_tol=1e-6)  # EPA's published value
    assert math.isclose(hit["ratio"], 7.960519978, rel_tol=1e-6)


@pytest.mark.parametrize("model", RQ_MODELS)
def test_flags_agree_with_epas_published_rqs(model):
    """Every RQ of every QA/QC case: flagged at the highest LOC EPA's value reaches, and
    not flagged when EPA's value is below all its LOCs (values within 1e-6 of a level are
    left out: they hold no information about the rule)."""
    m = pram_model(model)
    cases = load_cases(model)
    checked = below = 0
    for index, (case, _, expected) in enumerate(cases):
        outputs = m.run(m.validate(case_inputs(model, index)))["outputs"]
        found = {e["output"]: e for e in flags(model, outputs)["0"]}
        for output in m.risk.rqs:
            try:
                want = float(expected[output])
            except (KeyError, ValueError):
                continue
            if math.isnan(want) or any(math.isclose(want, m.risk.locs[n].level, rel_tol=1e-6)
                                       for n in m.risk.rqs[output]):
                continue
            loc = expected_loc(model, output, want)
            got = found.get(output)
            assert (got and got["loc"]) == (loc or None), f"{model} case {case} {output}={want}: {got}"
            checked += 1
            below += loc is None
    assert checked >= 10 and below >= 1, (checked, below)


# EPA's own words, in the published QA/QC cases, for a ratio that is (True) or is not a concern.
WORDS = {
    "terrplant": (lambda o: o.replace("_rq_", "_loc_"), "indicates a potential risk."),
    "stir": (lambda o: o.replace("out_ratio_", "out_loc_"), "Proceed to Refinements"),
    "sip": (lambda o: {"out_acute_bird": "out_acuconb", "out_acute_mamm": "out_acuconm",
                       "out_chron_bird": "out_chronconb", "out_chron_mamm": "out_chronconm"}[o],
            "is a potential concern"),
}


@pytest.mark.parametrize("model", sorted(WORDS))
def test_flags_agree_with_the_levels_of_concern_epas_models_publish(model):
    """TerrPlant, STIR and SIP publish, beside each ratio, whether it is a concern: the
    runs flagged here are exactly those."""
    text_of, concern = WORDS[model]
    m = pram_model(model)
    agreed = concerns = 0
    for index, (case, _, expected) in enumerate(load_cases(model)):
        outputs = m.run(m.validate(case_inputs(model, index)))["outputs"]
        found = {e["output"] for e in flags(model, outputs)["0"]}
        for output in m.risk.rqs:
            words = expected.get(text_of(output))
            if not words or words == "nan":
                continue
            assert (output in found) == (concern in words), f"{model} case {case} {output}: {words}"
            agreed += 1
            concerns += output in found
    assert agreed >= 10 and 0 < concerns < agreed, (agreed, concerns)


def test_a_big_batch_in_chunks_flags_every_run_as_one_run_does():
    """12,000 T-REX runs, stored and computed a chunk at a time: every run has its list,
    each equal to that of the same inputs run alone."""
    m = pram_model("trex")
    rows = [case_inputs("trex", i) for i in range(len(load_cases("trex")))]
    alone = [m.run(m.validate(r))["exceeds"]["0"] for r in rows]
    packed, count = m.validate_packed(rows * 1200)
    assert count == 12_000
    from flask_qed.stores.base import stored_data, unpack
    result = m.run_packed(packed)
    data = unpack(stored_data(result, lambda: result.table))  # as a store reads it
    assert list(data) == ["inputs", "outputs", "exceeds"]
    assert len(data["exceeds"]) == 12_000
    for k in (0, 1, 5_003, 11_999):
        assert data["exceeds"][str(k)] == alone[k % len(rows)], k


def test_nulls_text_and_infinities_are_handled():
    risk = pram_model("sip").risk
    runs = risk.exceeds({"out_acute_bird": np.array([0.05, 0.1, np.inf, np.nan]),
                         "out_chron_mamm": [None, 2.0, None, 0.5]}, 4)
    assert runs[0] == [] and runs[3] == []
    assert runs[1] == [{"output": "out_acute_bird", "loc": "sip_acute", "level": 0.1, "value": 0.1, "ratio": 1.0},
                       {"output": "out_chron_mamm", "loc": "sip_chronic", "level": 1.0, "value": 2.0, "ratio": 2.0}]
    assert runs[2][0]["value"] is None and runs[2][0]["loc"] == "sip_acute"  # infinite: null, still flagged
    assert risk.exceeds({"out_acute_bird": ["a", "b"]}, 2) == [[], []]  # not numbers: nothing
    assert exceeds_text(runs[1]) == "out_acute_bird>=0.1 (sip_acute); out_chron_mamm>=1.0 (sip_chronic)"


# -- through the API: a real worker, the JSON data and the CSV ------------------------------
def test_api_json_and_csv_carry_the_flags(client):
    rows = [case_inputs("trex", i) for i in range(3)]
    response = client.post("/pram/trex", json={"inputs": rows})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()["job_id"]
    assert wait_for(client, job)["status"] == "SUCCESS"
    data = client.get(f"/jobs/{job}/results").get_json()
    assert set(data["exceeds"]) == {"0", "1", "2"}
    first = {e["output"]: e for e in data["exceeds"]["0"]}
    assert first["out_crq_dose_mamm_sg_sm"]["loc"] == "chronic"
    assert math.isclose(first["out_crq_dose_mamm_sg_sm"]["value"], 7.960519978, rel_tol=1e-6)
    below = [o for o in pram_model("trex").risk.rqs
             if isinstance(data["outputs"][o]["0"], float) and data["outputs"][o]["0"] < 0.1]
    assert below and not set(below) & set(first)  # an RQ below every LOC is not flagged

    text = client.get(f"/jobs/{job}/results", headers={"Accept": "text/csv"})
    assert text.status_code == 200 and text.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(text.get_data(as_text=True))))
    assert list(table[0])[-1] == "exceeds" and len(table) == 3
    cell = table[0]["exceeds"].split("; ")
    assert "out_crq_dose_mamm_sg_sm>=1.0 (chronic)" in cell
    assert len(cell) == len(data["exceeds"]["0"])
    assert not any(c.startswith(o + ">=") for o in below for c in cell)

    record = client.get(f"/jobs/{job}").get_json()  # the record's data holds them too
    assert record["data"]["exceeds"] == data["exceeds"]


def test_a_model_without_rqs_has_no_exceeds(client):
    response = client.post("/pram/rice", json={"inputs": case_inputs("rice", 0)})
    job = response.get_json()["job_id"]
    assert wait_for(client, job)["status"] == "SUCCESS"
    assert "exceeds" not in client.get(f"/jobs/{job}/results").get_json()
    header = client.get(f"/jobs/{job}/results?f=csv").get_data(as_text=True).splitlines()[0]
    assert "exceeds" not in header.split(",")


# -- descriptions ------------------------------------------------------------------------
def test_native_description_carries_the_levels_of_concern_and_glossary(gateway):
    body = gateway.test_client().get("/pram/trex").get_json()
    risk = body["risk"]
    assert risk["levels_of_concern"]["chronic"]["level"] == 1.0
    assert risk["levels_of_concern"]["acute"]["level"] == 0.5
    assert risk["risk_quotients"]["out_crq_dose_mamm_sg_sm"] == ["chronic"]
    assert risk["glossary"]["sg"] == "short grass"
    beerex = gateway.test_client().get("/pram/beerex").get_json()["risk"]["levels_of_concern"]
    assert beerex["bee_acute"]["level"] == 0.4 and beerex["bee_chronic"]["level"] == 1.0
    assert "risk" not in gateway.test_client().get("/pram/rice").get_json()


def test_ogc_description_carries_them_as_additional_parameters(gateway):
    body = gateway.test_client().get("/ogcapi/processes/pram.trex").get_json()
    params = {p["name"]: p["value"] for p in body["additionalParameters"]["parameters"]}
    locs = {loc["name"]: loc["level"] for loc in params["levels_of_concern"]}
    assert locs == LEVELS["trex"]
    assert {"output": "out_crq_dose_mamm_sg_sm", "levels_of_concern": ["chronic"]} in params["risk_quotients"]
    assert {"term": "sg", "meaning": "short grass"} in params["glossary"]
    output = body["outputs"]["out_crq_dose_mamm_sg_sm"]["additionalParameters"]["parameters"]
    assert [p["value"][0]["level"] for p in output if p["name"] == "levels_of_concern"] == [1.0]


def test_the_stored_results_csv_is_the_reference_writers():
    """The CSV read from stored results a field at a time is the in-memory writer's, with
    the exceeds column last (quoted where a cell needs it)."""
    import zlib

    import orjson

    from flask_qed.results import csv_rows, packed_table
    m = pram_model("sip")
    data = m.run(m.validate([case_inputs("sip", i) for i in range(len(load_cases("sip")))]))
    assert any(data["exceeds"].values()) and not all(data["exceeds"].values())
    stored = "".join(packed_table(zlib.compress(orjson.dumps(data))).rows())
    assert stored == "".join(csv_rows(data))
    header = next(csv.reader(io.StringIO(stored)))
    assert header[-1] == "exceeds"
