"""OGC API - Processes - Part 1: Core (OGC 18-062r2), requirements class Core: a job's
status and its results — asynchronous results in each response form and transmission
mode, results of a synchronous execution, and the exceptions (no such job, not ready,
failed). One test per requirement, each naming it in its docstring; the last test is
the one-output resource the references point at."""
from __future__ import annotations

import json

import requests

from .common import (ECHO, ECHOED, INPUTS, JSON, REL, check_exception, check_status_info, execute,
                     monitor, output_links, parts, poll, run_async, wait_running)

NO_JOB = "00000000-0000-4000-8000-000000000000"


def test_job(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job — GET /jobs/{jobID}."""
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS})
    assert requests.get(location, timeout=10).status_code == 200


def test_job_success(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-success —
    200 and statusInfo.yaml, through the job's life: accepted or running, then successful."""
    response = execute(ogc["ogc"], {"inputs": {**INPUTS, "pause": 1.5}}, "respond-async")
    location = response.headers["Location"]
    wait_running(location)
    running = requests.get(location, timeout=10)
    assert running.status_code == 200 and running.headers["Content-Type"].startswith(JSON)
    info = check_status_info(running.json(), response.json()["jobID"])
    assert info["status"] == "running" and "started" in info and "finished" not in info
    done = poll(location)
    assert done["status"] == "successful" and done["progress"] == 100
    assert done["created"] <= done["started"] <= done["finished"]


def test_job_exception_no_such_job(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-exception-no-such-job —
    404, exception.yaml, type no-such-job."""
    for job in (NO_JOB, "not-an-id"):
        check_exception(requests.get(f"{ogc['ogc']}/jobs/{job}", timeout=10), 404, "no-such-job")


def test_job_results(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results —
    GET /jobs/{jobID}/results, the link a successful job's statusInfo gives."""
    location, info = run_async(ogc["ogc"], {"inputs": INPUTS})
    href = check_status_info(info)["links"][-1]["href"]
    assert href == f"{location}/results"
    assert requests.get(href, timeout=10).status_code == 200


def test_job_results_async_document(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-async-document —
    200, application/json, results.yaml: values and links as requested."""
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "document", "outputs": {
        "stringOutput": {}, "arrayOutput": {"transmissionMode": "reference"}}})
    response = requests.get(f"{location}/results", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    results = response.json()
    assert results["stringOutput"] == INPUTS["stringInput"]
    assert results["arrayOutput"]["href"] == f"{location}/results/arrayOutput"
    assert set(results) == {"stringOutput", "arrayOutput"}


def test_job_results_async_raw_value_one(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-async-raw-value-one —
    200, the output's own media type, its value alone."""
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "raw", "outputs": {"objectOutput": {}}})
    response = requests.get(f"{location}/results", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    assert response.json() == INPUTS["objectInput"]


def test_job_results_async_raw_value_multi(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-async-raw-value-multi —
    200, multipart/related, one part per output named by Content-ID."""
    wanted = ("booleanOutput", "binaryOutput")
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "raw", "outputs": {n: {} for n in wanted}})
    got = parts(requests.get(f"{location}/results", timeout=10))
    assert {name: json.loads(body) for name, (_, body) in got.items()} == {n: ECHOED[n] for n in wanted}


def test_job_results_async_raw_ref(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-async-raw-ref —
    every output by reference: 204 and a ``Link`` header to each, whose URLs answer the values."""
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "raw", "outputs": {
        "doubleOutput": {"transmissionMode": "reference"}}})
    response = requests.get(f"{location}/results", timeout=10)
    assert response.status_code == 204 and response.content == b""
    links = output_links(response)
    assert links == {"doubleOutput": f"{location}/results/doubleOutput"}
    assert requests.get(links["doubleOutput"], timeout=10).json() == INPUTS["doubleInput"]


def test_job_results_async_raw_mixed_multi(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-async-raw-mixed-multi —
    multipart/related: values in their parts, references as empty parts with Content-Location."""
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "raw", "outputs": {
        "integerOutput": {}, "boundingBoxOutput": {"transmissionMode": "reference"}}})
    got = parts(requests.get(f"{location}/results", timeout=10))
    assert json.loads(got["integerOutput"][1]) == INPUTS["integerInput"]
    headers, body = got["boundingBoxOutput"]
    assert body.strip() == b"" and headers["Content-Location"] == f"{location}/results/boundingBoxOutput"


def test_job_results_sync(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-sync —
    a synchronous execution makes a job: ``Link: <…>; rel=monitor`` (as OGC's test suite
    matches it), application/json statusInfo there, successful, with its results."""
    response = execute(ogc["ogc"], {"inputs": INPUTS, "outputs": {"stringOutput": {}}})
    assert response.status_code == 200 and "rel=monitor" in response.headers["Link"]
    status = requests.get(monitor(response), timeout=10)
    assert status.headers["Content-Type"].startswith(JSON)
    info = check_status_info(status.json())
    assert info["status"] == "successful" and info["processID"] == ECHO
    results = [link["href"] for link in info["links"] if link["rel"] == REL + "results"]
    assert requests.get(results[0], timeout=10).json() == INPUTS["stringInput"]


def test_job_results_exception_no_such_job(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-exception-no-such-job —
    404, exception.yaml, type no-such-job, for the results and for one output."""
    for path in (f"/jobs/{NO_JOB}/results", f"/jobs/{NO_JOB}/results/stringOutput"):
        check_exception(requests.get(ogc["ogc"] + path, timeout=10), 404, "no-such-job")


def test_job_results_exception_results_not_ready(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-exception-results-not-ready —
    a running job's results: 404, type result-not-ready (one output's too)."""
    response = execute(ogc["ogc"], {"inputs": {**INPUTS, "pause": 3}}, "respond-async")
    location = response.headers["Location"]
    wait_running(location)
    check_exception(requests.get(f"{location}/results", timeout=10), 404, "result-not-ready")
    check_exception(requests.get(f"{location}/results/stringOutput", timeout=10), 404, "result-not-ready")
    assert poll(location)["status"] == "successful"


def test_job_results_failed(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results-failed —
    a failed job's results: the status of the failure's cause (422 for values the model
    refused), exception.yaml, its detail saying why."""
    location, info = run_async(ogc["ogc"], {"inputs": {**INPUTS, "fail": True}})
    assert info["status"] == "failed" and "asked to fail" in info["message"]
    assert "asked to fail" in check_exception(requests.get(f"{location}/results", timeout=10), 422)["detail"]
    check_exception(requests.get(f"{location}/results/stringOutput", timeout=10), 422)
    synchronous = execute(ogc["ogc"], {"inputs": {**INPUTS, "fail": True}})
    assert "asked to fail" in check_exception(synchronous, 422)["detail"]


def test_one_output_of_a_job(ogc):
    """``/jobs/{jobID}/results/{outputID}`` (where references point; a resource of the
    standard's later editions, http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/job-results
    here): each output's value as the results give it, whatever the request selected; an
    unknown output is 404 no-such-output naming the job's outputs; a batch's output is an array."""
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "outputs": {"stringOutput": {}}})
    for name, value in ECHOED.items():
        response = requests.get(f"{location}/results/{name}", timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
        assert response.json() == value, name
    missing = check_exception(requests.get(f"{location}/results/nothing", timeout=10), 404, "no-such-output")
    assert "stringOutput" in missing["detail"] and "binaryOutput" in missing["detail"]
    rice = {"mai": [0.056, 4.5], "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}
    batch, _ = run_async(ogc["ogc"], {"inputs": rice, "response": "document"}, pid="pram.rice")
    everything = requests.get(f"{batch}/results", timeout=10).json()
    assert requests.get(f"{batch}/results/out_cw", timeout=10).json() == everything["out_cw"]
    assert len(everything["out_cw"]) == 2
