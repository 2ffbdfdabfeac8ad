"""OGC API - Processes - Part 1: Core (OGC 18-062r2), requirements classes Job list,
Dismiss and Callback. One test per requirement, each naming it in its docstring."""
from __future__ import annotations

import time

import pytest
import requests

from .common import (ECHO, INPUTS, JSON, check_exception, check_links, check_status_info, execute,
                     poll, run_async, wait_running)
from tests.web.test_ogc import Receiver


@pytest.fixture(scope="module")
def jobs(ogc) -> dict[str, str]:
    """Jobs of two processes, ended each way: quick, slow (1.2 s), failed, dismissed."""
    made = {}
    for name, body in (("quick", {"inputs": INPUTS}), ("slow", {"inputs": {**INPUTS, "pause": 1.2}}),
                       ("failed", {"inputs": {**INPUTS, "fail": True}})):
        made[name] = run_async(ogc["ogc"], body)[1]["jobID"]
    response = execute(ogc["ogc"], {"inputs": {**INPUTS, "pause": 20}}, "respond-async")
    made["dismissed"] = response.json()["jobID"]
    requests.delete(response.headers["Location"], timeout=10)
    rice = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}
    made["rice"] = run_async(ogc["ogc"], {"inputs": rice}, pid="pram.rice")[1]["jobID"]
    return made


def listed(ogc: dict, query: str) -> list[dict]:
    """Every job the list gives for ``query``, following ``next`` links."""
    found, url = [], f"{ogc['ogc']}/jobs?{query}"
    while url:
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["jobs"]
        url = check_links(body["links"], "self").get("next", {}).get("href")
    return found


def ids(ogc: dict, query: str) -> set[str]:
    return {info["jobID"] for info in listed(ogc, query)}


def parameter(ogc: dict, name: str) -> dict:
    document = requests.get(ogc["ogc"] + "/api", timeout=30).json()
    return {p["name"]: p for p in document["paths"]["/jobs"]["get"]["parameters"]}[name]


def test_job_list_op(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/job-list-op — GET /jobs."""
    assert requests.get(ogc["ogc"] + "/jobs", timeout=10).status_code == 200


def test_job_list_success(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/job-list-success —
    200, jobList.yaml: statusInfo of each job, and links."""
    response = requests.get(ogc["ogc"] + "/jobs?limit=10000", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    body = response.json()
    for info in body["jobs"]:
        check_status_info(info)
    assert set(jobs.values()) <= {info["jobID"] for info in body["jobs"]}


def test_links(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/links — a ``self``
    link (JSON only, so no ``alternate``), and ``next`` while more jobs follow."""
    url = f"{ogc['ogc']}/jobs?limit=2"
    links = check_links(requests.get(url, timeout=10).json()["links"], "self", "next")
    assert links["self"]["href"] == url and "alternate" not in links
    assert ids(ogc, "limit=2") == ids(ogc, "limit=10000")


def test_limit_definition(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/limit-definition —
    ``limit``: integer, 1..10000, default 10; others refused."""
    schema = parameter(ogc, "limit")["schema"]
    assert (schema["type"], schema["minimum"], schema["maximum"], schema["default"]) == ("integer", 1, 10000, 10)
    for bad in ("0", "10001", "x"):
        check_exception(requests.get(f"{ogc['ogc']}/jobs?limit={bad}", timeout=10), 400,
                        "invalid-query-parameter-value")


def test_limit_response(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/limit-response —
    never more jobs than ``limit`` (10 when not given)."""
    assert len(jobs) >= 5
    for limit in (1, 3):
        assert len(requests.get(f"{ogc['ogc']}/jobs?limit={limit}", timeout=10).json()["jobs"]) == limit
    assert len(requests.get(f"{ogc['ogc']}/jobs", timeout=10).json()["jobs"]) <= 10


def test_processid_definition(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/processID-definition —
    ``processID``: an array of strings (comma separated or repeated)."""
    assert parameter(ogc, "processID")["schema"] == {"type": "array", "items": {"type": "string"}}
    both = ids(ogc, f"processID={ECHO},pram.rice&limit=1000")
    assert both == ids(ogc, f"processID={ECHO}&processID=pram.rice&limit=1000")
    assert {jobs["quick"], jobs["rice"]} <= both


def test_processid_mandatory(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/processID-mandatory —
    every statusInfo names its process."""
    for info in listed(ogc, "limit=1000"):
        assert isinstance(info["processID"], str) and info["processID"]
    assert requests.get(f"{ogc['ogc']}/jobs/{jobs['rice']}", timeout=10).json()["processID"] == "pram.rice"


def test_processid_response(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/processID-response —
    only jobs of the processes named."""
    found = listed(ogc, "processID=pram.rice&limit=1000")
    assert jobs["rice"] in {i["jobID"] for i in found} and {i["processID"] for i in found} == {"pram.rice"}
    assert listed(ogc, "processID=no.such&limit=1000") == []


def test_status_definition(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/status-definition —
    ``status``: an array of strings (the statusCode values); others refused."""
    assert parameter(ogc, "status")["schema"] == {"type": "array", "items": {"type": "string"}}
    for status in ("accepted", "running", "successful", "failed", "dismissed"):
        assert requests.get(f"{ogc['ogc']}/jobs?status={status}", timeout=10).status_code == 200
    check_exception(requests.get(f"{ogc['ogc']}/jobs?status=finished", timeout=10), 400,
                    "invalid-query-parameter-value")


def test_status_response(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/status-response —
    only jobs of the statuses named."""
    for status in ("successful", "failed", "dismissed"):
        found = listed(ogc, f"status={status}&limit=1000")
        assert {i["status"] for i in found} == {status}
    assert jobs["failed"] in ids(ogc, "status=failed&limit=1000")
    assert jobs["dismissed"] in ids(ogc, "status=dismissed,failed&limit=1000")
    assert jobs["quick"] not in ids(ogc, "status=dismissed,failed&limit=1000")


def test_type_definition(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/type-definition —
    ``type``: an array of strings."""
    assert parameter(ogc, "type")["schema"] == {"type": "array", "items": {"type": "string"}}


def test_type_response(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/type-response —
    ``type=process`` lists the processes' jobs; omitted, every job; another type, none."""
    assert ids(ogc, "type=process&limit=1000") == ids(ogc, "limit=1000")
    assert listed(ogc, "type=wps&limit=1000") == []


def test_datetime_definition(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/datetime-definition —
    ``datetime``: an RFC 3339 instant or interval (``..`` or empty for an open end)."""
    assert parameter(ogc, "datetime")["schema"] == {"type": "string"}
    for good in ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z/..", "../2999-01-01T00:00:00Z",
                 "/2999-01-01T00:00:00+02:00", "2020-01-01T00:00:00Z/2999-01-01T00:00:00Z"):
        assert requests.get(f"{ogc['ogc']}/jobs", params={"datetime": good}, timeout=10).status_code == 200, good
    for bad in ("yesterday", "2020-13-01T00:00:00Z", "2020-01-01T00:00:00Z/soon"):
        check_exception(requests.get(f"{ogc['ogc']}/jobs", params={"datetime": bad}, timeout=10), 400,
                        "invalid-query-parameter-value")


def test_datetime_response(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/datetime-response —
    only jobs created within the instant or interval."""
    quick = requests.get(f"{ogc['ogc']}/jobs/{jobs['quick']}", timeout=10).json()["created"]
    rice = requests.get(f"{ogc['ogc']}/jobs/{jobs['rice']}", timeout=10).json()["created"]
    window = listed(ogc, f"datetime={quick}/{rice}&limit=1000")
    assert {jobs["quick"], jobs["rice"]} <= {i["jobID"] for i in window}
    assert all(quick <= i["created"] <= rice for i in window)
    assert jobs["quick"] not in ids(ogc, f"datetime={rice}/..&limit=1000")
    assert ids(ogc, f"datetime={quick}&limit=1000") == {jobs["quick"]}


def test_duration_definition(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/duration-definition —
    ``minDuration`` and ``maxDuration`` in whole seconds; others refused."""
    for name in ("minDuration", "maxDuration"):
        assert parameter(ogc, name)["schema"]["type"] == "integer"
        check_exception(requests.get(f"{ogc['ogc']}/jobs?{name}=soon", timeout=10), 400,
                        "invalid-query-parameter-value")


def test_duration_response(ogc, jobs):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/job-list/duration-response —
    a job's duration is finished (or now) minus started; jobs that never started are left out."""
    slow = ids(ogc, f"processID={ECHO}&minDuration=1&limit=1000")
    quick = ids(ogc, f"processID={ECHO}&maxDuration=1&limit=1000")
    assert jobs["slow"] in slow and jobs["quick"] not in slow
    assert jobs["quick"] in quick and jobs["slow"] not in quick
    assert jobs["slow"] not in ids(ogc, f"processID={ECHO}&minDuration=1&maxDuration=1&limit=1000")
    response = execute(ogc["ogc"], {"inputs": {**INPUTS, "pause": 2.5}}, "respond-async")
    wait_running(response.headers["Location"])
    time.sleep(1.2)  # running for over a second: counted up to now
    assert response.json()["jobID"] in ids(ogc, f"processID={ECHO}&status=running&minDuration=1&limit=1000")
    poll(response.headers["Location"])


def test_job_dismiss_op(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/dismiss/job-dismiss-op —
    DELETE /jobs/{jobID}; an unknown job is 404 no-such-job."""
    response = execute(ogc["ogc"], {"inputs": {**INPUTS, "pause": 20}}, "respond-async")
    assert requests.delete(response.headers["Location"], timeout=10).status_code == 200
    check_exception(requests.delete(f"{ogc['ogc']}/jobs/00000000-0000-4000-8000-000000000000", timeout=10),
                    404, "no-such-job")


def test_job_dismiss_success(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/dismiss/job-dismiss-success —
    200, statusInfo with status ``dismissed``, for a running job and a finished one; their
    results are gone (404 no-such-job)."""
    running = execute(ogc["ogc"], {"inputs": {**INPUTS, "pause": 20}}, "respond-async")
    wait_running(running.headers["Location"])
    finished, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "document"})
    for location in (running.headers["Location"], finished):
        response = requests.delete(location, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
        assert check_status_info(response.json())["status"] == "dismissed"
        assert requests.get(location, timeout=10).json()["status"] == "dismissed"
        check_exception(requests.get(f"{location}/results", timeout=10), 404, "no-such-job")
        check_exception(requests.get(f"{location}/results/stringOutput", timeout=10), 404, "no-such-job")


def test_job_callback(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/callback/job-callback —
    the ``subscriber`` URIs are called with the job's statusInfo: running, then successful
    (or failed); URLs off the allow-list are refused with 422."""
    receiver = Receiver()
    try:
        subscriber = {"successUri": f"{receiver.url}/done", "inProgressUri": f"{receiver.url}/running",
                      "failedUri": f"{receiver.url}/failed"}
        ok = execute(ogc["ogc"], {"inputs": {**INPUTS, "pause": 0.3}, "subscriber": subscriber}, "respond-async")
        job = ok.json()["jobID"]
        assert check_status_info(receiver.wait("/running"), job)["status"] == "running"
        done = check_status_info(receiver.wait("/done"), job)
        assert done["status"] == "successful" and done["links"][-1]["href"] == f"{ogc['ogc']}/jobs/{job}/results"
        bad = execute(ogc["ogc"], {"inputs": {**INPUTS, "fail": True}, "subscriber": {
            "failedUri": f"{receiver.url}/failed"}}, "respond-async")
        failed = check_status_info(receiver.wait("/failed"), bad.json()["jobID"])
        assert failed["status"] == "failed" and "asked to fail" in failed["message"]
        refused = execute(ogc["ogc"], {"inputs": INPUTS, "subscriber": {"successUri": "http://example.org/x"}})
        assert check_exception(refused, 422)["errors"][0]["field"] == "subscriber.successUri"
    finally:
        receiver.server.shutdown()
