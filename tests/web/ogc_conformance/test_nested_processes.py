"""OGC API – Processes Part 3, nested processes (model chains): an input given as
another process's output runs that process first, as a job of its own, and the
client sees one job. Run against gunicorn and a real worker (this package's stack)."""
from __future__ import annotations

import requests

from .common import ECHO, execute, monitor, run_async

NESTED = "http://www.opengis.net/spec/ogcapi-processes-3/0.0/conf/nested-processes"


def step(ogc: str, inputs: dict, output: str = "arrayOutput", pid: str = ECHO) -> dict:
    return {"process": f"{ogc}/processes/{pid}", "inputs": inputs, "outputs": {output: {}}}


def record(ogc: str, job_url: str) -> dict:
    """The job's native record (steps, feeds), read through the native API."""
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    base = ogc.rsplit("/ogcapi", 1)[0]
    answer = requests.get(f"{base}/jobs/{job_id}/status", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_conformance_class_is_declared(ogc):
    classes = requests.get(f"{ogc['ogc']}/conformance", timeout=10).json()["conformsTo"]
    assert NESTED in classes


def test_a_nested_process_feeds_its_output_in_and_runs_as_its_own_job(ogc):
    """echo(arrayInput = echo(arrayInput=[1, 2, 3]).arrayOutput): the same answer as the two run
    one after the other; each step is a job in the store, linked to the job it fed."""
    root = ogc["ogc"]
    body = {"inputs": {"stringInput": "outer", "arrayInput": step(root, {"stringInput": "inner",
                                                                         "arrayInput": [1, 2, 3]})},
            "outputs": {"arrayOutput": {}, "stringOutput": {}}, "response": "document"}
    answer = execute(root, body)
    assert answer.status_code == 200, answer.text
    outputs = answer.json()
    outputs = outputs.get("outputs", outputs)
    assert outputs["arrayOutput"] in ([1.0, 2.0, 3.0], {"value": [1.0, 2.0, 3.0]}), outputs
    # the same two, one after the other
    first = execute(root, {"inputs": {"stringInput": "inner", "arrayInput": [1, 2, 3]},
                           "outputs": {"arrayOutput": {}}, "response": "document"}).json()
    first = first.get("outputs", first)["arrayOutput"]
    first = first.get("value", first) if isinstance(first, dict) else first
    second = execute(root, {"inputs": {"stringInput": "outer", "arrayInput": first},
                            "outputs": {"arrayOutput": {}}, "response": "document"}).json()
    assert second.get("outputs", second)["arrayOutput"] == outputs["arrayOutput"]
    outer = record(root, monitor(answer))
    assert set(outer["steps"]) == {"arrayInput"}
    inner = record(root, f"{root}/jobs/{outer['steps']['arrayInput']}")
    assert inner["status"] == "SUCCESS" and inner["feeds"] == outer["job_id"]


def test_chains_nest_and_run_asynchronously(ogc):
    root = ogc["ogc"]
    innermost = step(root, {"stringInput": "3", "arrayInput": [4.5]})
    middle = step(root, {"stringInput": "2", "arrayInput": innermost, "pause": 0.5})
    location, status = run_async(root, {"inputs": {"stringInput": "1", "arrayInput": middle},
                                        "outputs": {"arrayOutput": {}}, "response": "document"})
    assert status["status"] == "successful", status
    results = requests.get(f"{location}/results", timeout=10)
    assert results.status_code == 200, results.text
    results = results.json()
    value = results.get("outputs", results)["arrayOutput"]
    assert (value.get("value", value) if isinstance(value, dict) else value) == [4.5]


def test_a_failed_step_fails_the_chain_naming_it(ogc):
    root = ogc["ogc"]
    failing = step(root, {"stringInput": "inner", "fail": True})
    location, status = run_async(root, {"inputs": {"stringInput": "outer", "arrayInput": failing}})
    assert status["status"] == "failed"
    assert "step arrayInput" in status["message"] and "asked to fail" in status["message"], status


def test_a_steps_output_that_does_not_fit_fails_the_chain(ogc):
    """A string output into a number input: validated as any submission is, after the step ran."""
    root = ogc["ogc"]
    wrong = step(root, {"stringInput": "not a number"}, output="stringOutput")
    location, status = run_async(root, {"inputs": {"stringInput": "outer", "doubleInput": wrong}})
    assert status["status"] == "failed" and "doubleInput" in status["message"], status


def test_bad_nesting_is_refused_at_once(ogc):
    root = ogc["ogc"]
    cases = [
        ({"stringInput": "x", "arrayInput": {"process": f"{root}/processes/no.such", "outputs": {"a": {}}}},
         "no such process"),
        ({"stringInput": "x", "arrayInput": step(root, {"stringInput": "y"}, output="nothing")}, "no output"),
        ({"stringInput": "x", "arrayInput": {"process": f"{root}/processes/{ECHO}", "inputs": {"stringInput": "y"},
                                             "outputs": {"arrayOutput": {}, "stringOutput": {}}}}, "one output"),
        ({"stringInput": "x", "notAnInput": step(root, {"stringInput": "y"})}, "no input"),
        ({"stringInput": "x", "arrayInput": step(root, {"stringInput": "y", "integerInput": -5})}, "integerInput"),
    ]
    for inputs, words in cases:
        answer = execute(root, {"inputs": inputs})
        assert answer.status_code in (400, 422), (inputs, answer.status_code, answer.text)
        assert words in answer.text, (words, answer.text)


def test_a_chains_provenance_links_its_steps(ogc):
    """The outer job used each step's result for its input, and its inputs derive from it;
    the PROV-JSON reads back with the prov package."""
    from prov.model import ProvDocument
    root = ogc["ogc"]
    body = {"inputs": {"stringInput": "outer", "arrayInput": step(root, {"stringInput": "in", "arrayInput": [2]})},
            "outputs": {"arrayOutput": {}}, "response": "document"}
    answer = execute(root, body)
    assert answer.status_code == 200, answer.text
    outer = record(root, monitor(answer))
    inner_id = outer["steps"]["arrayInput"]
    doc = requests.get(f"{root}/jobs/{outer['job_id']}/prov", timeout=10).json()
    used = [u for u in doc["used"].values() if u["prov:activity"] == f"job:{outer['job_id']}"]
    assert {"prov:activity": f"job:{outer['job_id']}", "prov:entity": f"job:{inner_id}/result",
            "prov:role": {"$": "qed:arrayInput", "type": "prov:QUALIFIED_NAME"}} in used, used
    derived = [d["prov:usedEntity"] for d in doc["wasDerivedFrom"].values()]
    assert f"job:{inner_id}/result" in derived
    ProvDocument.deserialize(content=requests.get(f"{root}/jobs/{outer['job_id']}/prov", timeout=10).text,
                             format="json")
    step_doc = requests.get(f"{root}/jobs/{inner_id}/prov", timeout=10).json()
    assert step_doc["activity"][f"job:{inner_id}"]["qed:feeds"] == outer["job_id"]


RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def test_a_pram_model_feeds_a_pram_model(ogc):
    """rice(mai = rice(...).out_cw): a PRAM output is a column of runs in the job's data
    (``outputs.out_cw = {"0": v}``), read as any output is and fed in as that column; the
    answer is the one the two runs give one after the other."""
    root = ogc["ogc"]
    inner = {**RICE, "mai": 0.0561}
    body = {"inputs": {**RICE, "mai": step(root, inner, output="out_cw", pid="pram.rice")},
            "outputs": {"out_cw": {}}, "response": "document"}
    answer = execute(root, body, pid="pram.rice")
    assert answer.status_code == 200, answer.text
    chained = answer.json()
    chained = chained.get("outputs", chained)["out_cw"]
    base = root.rsplit("/ogcapi", 1)[0]
    first = requests.post(f"{base}/pram/rice", json={"inputs": inner}, headers={"Prefer": "wait=30"}, timeout=60)
    assert first.status_code == 200, first.text
    mai = first.json()["data"]["outputs"]["out_cw"]["0"]
    second = requests.post(f"{base}/pram/rice", json={"inputs": {**RICE, "mai": mai}},
                           headers={"Prefer": "wait=30"}, timeout=60)
    assert second.status_code == 200, second.text
    expected = second.json()["data"]["outputs"]["out_cw"]["0"]
    assert (chained.get("value") if isinstance(chained, dict) else chained) == expected
    assert abs(expected - 27.5) > 1  # the chained input made a difference (27.5 with mai 0.056)


def test_a_chain_is_listed_and_shown_as_its_process_while_it_waits(ogc):
    """While its steps run, a chain's job is the outer process's (``processID``), in its
    statusInfo and in the job list filtered by process."""
    root = ogc["ogc"]
    slow = step(root, {"stringInput": "inner", "arrayInput": [1.0], "pause": 1.5})
    response = execute(root, {"inputs": {"stringInput": "outer", "arrayInput": slow}}, "respond-async")
    assert response.status_code == 201, response.text
    status = response.json()
    assert status["processID"] == ECHO and status["status"] == "accepted", status
    listed = requests.get(f"{root}/jobs", params={"processID": ECHO, "limit": 50}, timeout=10).json()
    assert status["jobID"] in [job["jobID"] for job in listed["jobs"]]
    assert [job["processID"] for job in listed["jobs"] if job["jobID"] == status["jobID"]] == [ECHO]


def test_a_chain_failed_by_its_step_answers_as_that_step_would():
    """The exception of a chain's job that failed: the innermost step's own failure decides
    (bad values found by the science are the client's, 422; anything else the server's, 500);
    a step cancelled or expired is a conflict (409), never a server error."""
    from flask_qed.web.ogc.results import failure
    cases = {
        "step mai (pram.rice, job a) ended FAILURE: ValueError: kd must be positive": 422,
        "step mai (pram.rice, job a) ended FAILURE: step kd (pram.rice, job b) ended FAILURE: "
        "InputError: mai: must be a number": 422,
        "step mai (pram.rice, job a) ended REVOKED": 409,
        "step mai (pram.rice, job a) expired before the chain went on": 409,
        "step mai (pram.rice, job a) ended FAILURE: step kd (pram.rice, job b) expired before the chain went on": 409,
        "step mai (pram.rice, job a) ended FAILURE: RuntimeError: the worker lost its store": 500,
        "InputError: the steps' outputs do not make valid inputs: mai": 422,
    }
    assert {error: failure({"error": error}).status for error in cases} == cases
