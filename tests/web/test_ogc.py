"""OGC API – Processes – Part 1: Core under /ogcapi, driven as a client would: OWSLib
(unmodified) and plain HTTP against gunicorn and a real worker. Every answer is
checked against rules written here from the standard's requirement classes
(core, ogc-process-description, json, job-list, dismiss, callback, oas30)."""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from owslib.ogcapi.processes import Processes

from flask_qed import keys as keyfile
from tests.conftest import stop
from tests.hms.test_api import VALID as HMS_INPUTS
from tests.pram.qaqc import load_cases
from tests.test_deployment import _deploy

SPEC = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
EXC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
STATUSES = {"accepted", "running", "successful", "failed", "dismissed"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
PRAM = ("agdrift", "beerex", "earthworm", "iec", "kabam", "rice", "sip", "stir", "terrplant", "therps", "trex")


# -- rules from the requirement classes -------------------------------------------------
def check_links(links: Any, *rels: str) -> dict[str, dict]:
    """Links are objects with an href (and string rel/type/title); ``rels`` must be there."""
    assert isinstance(links, list)
    for link in links:
        assert isinstance(link, dict) and isinstance(link["href"], str) and link["href"]
        for key in ("rel", "type", "title", "hreflang"):
            assert key not in link or isinstance(link[key], str)
    by_rel = {link.get("rel"): link for link in links}
    for rel in rels:
        assert rel in by_rel, (rel, sorted(filter(None, by_rel)))
    return by_rel


def check_exception(response: requests.Response, status: int, kind: str | None = None) -> dict:
    """An exception document: JSON, a string ``type`` (the standard's URI where it names
    the case), ``title``, ``status`` equal to the HTTP status, ``detail``."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["type"], str) and body["type"]
    assert body["status"] == status and isinstance(body["title"], str) and isinstance(body["detail"], str)
    if kind is not None:
        assert body["type"] == EXC + kind
    return body


def check_status_info(info: dict, job_id: str | None = None) -> dict:
    assert info["type"] == "process"
    assert isinstance(info["jobID"], str) and (job_id is None or info["jobID"] == job_id)
    assert isinstance(info["processID"], str)  # mandatory with the job-list class
    assert info["status"] in STATUSES
    for key in ("created", "started", "finished", "updated"):
        assert key not in info or RFC3339.match(info[key]), (key, info.get(key))
    if "progress" in info:
        assert isinstance(info["progress"], int) and 0 <= info["progress"] <= 100
    assert "message" not in info or isinstance(info["message"], str)
    links = check_links(info["links"], "self")
    if info["status"] == "successful":
        assert REL + "results" in links
    return info


def check_summary(summary: dict) -> None:
    assert isinstance(summary["id"], str) and isinstance(summary["version"], str)
    for key in ("title", "description"):
        assert isinstance(summary.get(key, ""), str)
    assert set(summary["jobControlOptions"]) <= {"sync-execute", "async-execute", "dismiss"}
    assert set(summary["outputTransmission"]) <= {"value", "reference"}
    check_links(summary["links"])
    assert any(link["href"].endswith(f"/processes/{summary['id']}") for link in summary["links"])


def check_description(process: dict) -> None:
    check_summary(process)
    assert isinstance(process["inputs"], dict) and process["inputs"]
    for name, spec in process["inputs"].items():
        assert isinstance(spec["schema"], dict) and isinstance(spec["title"], str)
        assert isinstance(spec["minOccurs"], int) and spec["minOccurs"] >= 0
        assert spec["maxOccurs"] == "unbounded" or spec["maxOccurs"] >= max(1, spec["minOccurs"])
    assert isinstance(process["outputs"], dict) and (process["outputs"] or process["id"].startswith("testing."))
    for spec in process["outputs"].values():
        assert isinstance(spec["schema"], dict)
    links = check_links(process["links"], "self", REL + "execute")
    assert links[REL + "execute"]["href"].endswith(f"/processes/{process['id']}/execution")


def units_of(description: dict) -> str | None:
    """The units an input or output description gives in its additionalParameters."""
    for parameter in description.get("additionalParameters", {}).get("parameters", []):
        if parameter["name"] == "units":
            return parameter["value"][0]
    return None


def check_oas30(document: dict) -> None:
    """Every Schema Object is one OpenAPI 3.0 knows: no JSON Schema 2020 keywords, no
    type lists, boolean exclusive bounds, extensions only as x-…, local references."""
    def schema(node: Any, where: str) -> None:
        assert isinstance(node, dict), where
        for key, value in node.items():
            assert key not in ("const", "$defs", "prefixItems", "units", "examples", "$schema"), f"{where}/{key}"
            if key == "properties":
                for name, sub in value.items():
                    schema(sub, f"{where}/properties/{name}")
            elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
                schema(value, f"{where}/{key}")
            elif key in ("allOf", "anyOf", "oneOf"):
                for i, sub in enumerate(value):
                    schema(sub, f"{where}/{key}/{i}")
            elif key == "type":
                assert value in ("string", "number", "integer", "boolean", "array", "object"), f"{where}/type"
            elif key in ("exclusiveMinimum", "exclusiveMaximum", "nullable"):
                assert isinstance(value, bool), f"{where}/{key}"
            elif key == "$ref":
                assert value.startswith("#/components/schemas/"), f"{where}/$ref"
                assert value.rsplit("/", 1)[1] in document["components"]["schemas"], value

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "schema" and isinstance(value, dict):
                    schema(value, f"{where}/schema")
                else:
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")
    for name, value in document["components"]["schemas"].items():
        schema(value, f"#/components/schemas/{name}")
    walk(document["paths"], "#/paths")


# -- the stack ---------------------------------------------------------------------------
class Receiver:
    """A local HTTP endpoint that records the callbacks it receives; paths containing
    ``flaky`` answer 500 the first time."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict]] = []
        self.tries: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.tries[self.path] = outer.tries.get(self.path, 0) + 1
                if "flaky" in self.path and outer.tries[self.path] == 1:
                    self.send_response(500)
                else:
                    outer.got.append((self.path, body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for got_path, body in self.got:
                if got_path == path:
                    return body
            assert time.monotonic() < deadline, f"no callback at {path}; got {[p for p, _ in self.got]}"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    started: list = []
    deployed = _deploy(tmp_path_factory.mktemp("ogc"), started, QED_CALLBACK_ALLOWLIST="127.0.0.1",
                       QED_SYNC_WAIT="30")
    yield {**deployed, "ogc": deployed["base"] + "/ogcapi"}
    for proc in started:
        stop(proc)


def poll(url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, response.text
        info = check_status_info(response.json())
        if info["status"] in {"successful", "failed", "dismissed"}:
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.1)


def native(base: str, path: str, inputs: Any) -> str:
    response = requests.post(base + path, json={"inputs": inputs}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def native_data(base: str, job_id: str) -> Any:
    deadline = time.monotonic() + 60
    while (record := requests.get(f"{base}/jobs/{job_id}", timeout=10).json())["status"] in ("PENDING", "STARTED"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert record["status"] == "SUCCESS", record
    return record["data"]


def typed(value: str) -> Any:
    """A QA/QC table cell as JSON would carry it: a number when it reads as one."""
    try:
        return float(value)
    except ValueError:
        return value


def pram_inputs(base: str, model: str) -> dict[str, Any]:
    """QA/QC case 0 as JSON: numbers where the process description says number."""
    (_, inputs, _), *_ = load_cases(model)
    schemas = requests.get(f"{base}/ogcapi/processes/pram.{model}", timeout=10).json()["inputs"]
    return {k: typed(v) if schemas.get(k, {}).get("schema", {}).get("type") in ("number", "integer") else v
            for k, v in inputs.items()}


# -- tests -------------------------------------------------------------------------------
def test_landing_conformance_and_api_definition(stack):
    api = Processes(stack["ogc"])  # OWSLib reads the landing page
    links = check_links(api.links, "self", "service-desc", "service-doc", REL + "conformance",
                        REL + "processes", REL + "job-list")
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links[REL + "conformance"]["href"] == stack["ogc"] + "/conformance"
    for link in links.values():  # every link answers
        assert requests.get(link["href"], timeout=30).status_code == 200, link
    conforms = api.conformance()["conformsTo"]
    for name in ("core", "ogc-process-description", "json", "job-list", "dismiss", "callback", "oas30"):
        assert SPEC + name in conforms
    document = api.api()  # OWSLib takes only an OpenAPI 3.0 service-desc
    assert document["openapi"].startswith("3.0.")
    check_oas30(document)
    assert document["servers"] == [{"url": stack["ogc"]}]
    processes = [p["id"] for p in api.processes()]
    for pid in processes:
        operation = document["paths"][f"/processes/{pid}/execution"]["post"]
        assert {"200", "201", "404", "422"} <= set(operation["responses"])
        inputs = operation["requestBody"]["content"]["application/json"]["schema"]["properties"]["inputs"]
        assert set(inputs["properties"]) == set(api.process(pid)["inputs"])
    for path in ("/", "/conformance", "/processes", "/jobs", "/jobs/{jobID}", "/jobs/{jobID}/results"):
        assert "get" in document["paths"][path]
    assert "delete" in document["paths"]["/jobs/{jobID}"]


def test_process_list_pages_and_descriptions_come_from_the_declarations(stack):
    base, ogc = stack["base"], stack["ogc"]
    apps = requests.get(base + "/", timeout=10).json()["apps"]
    declared = {f"{a['name']}.{m}" for a in apps if a["name"] != "old" for m in a["models"]}
    assert {"pram.rice", "hms.percent_area"} <= declared
    seen, url, pages = [], f"{ogc}/processes?limit=4", 0
    while url:
        body = requests.get(url, timeout=10).json()
        assert len(body["processes"]) <= 4
        links = check_links(body["links"], "self")
        for summary in body["processes"]:
            check_summary(summary)
        seen += [p["id"] for p in body["processes"]]
        url, pages = links.get("next", {}).get("href"), pages + 1
    assert sorted(seen) == sorted(declared) and pages == -(-len(declared) // 4)
    assert declared <= {p["id"] for p in Processes(ogc).processes()}  # one page: every process
    check_exception(requests.get(f"{ogc}/processes?limit=0", timeout=10), 400, "invalid-query-parameter-value")
    check_exception(requests.get(f"{ogc}/processes/pram.nothing", timeout=10), 404, "no-such-process")
    for pid in sorted(declared):
        process = Processes(ogc).process(pid)
        check_description(process)
        app, model = pid.split(".")
        described = requests.get(f"{base}/{app}/{model}", timeout=10).json()
        assert process["title"] == described["title"] and process["version"] == described["version"]
        required = set(described["inputs"].get("required", []))
        for name, prop in described["inputs"]["properties"].items():
            spec = process["inputs"][name]
            assert spec["minOccurs"] == (1 if name in required else 0)
            assert spec["maxOccurs"] == (described["max_rows"] if described["batch"] else 1)
            assert spec["description"] == prop.get("description", "")
            if "units" in prop:  # units kept, beside the schema (schema.yaml allows no other member)
                assert units_of(spec) == prop["units"] and "units" not in spec["schema"]
        # a risk model's exceedances are one more output (the native description has them under "risk")
        assert set(process["outputs"]) == set(described["outputs"]) | ({"exceeds"} if "risk" in described else set())
        for name, out in described["outputs"].items():
            assert units_of(process["outputs"][name]) == out["units"]
    assert units_of(Processes(ogc).process("pram.rice")["inputs"]["mai"]) == "kg"


def test_every_model_through_owslib_matches_the_native_api(stack):
    base, ogc = stack["base"], stack["ogc"]
    cases = {f"pram.{m}": pram_inputs(base, m) for m in PRAM}
    cases.update({f"hms.{m}": inputs for m, inputs in HMS_INPUTS.items()})
    native_ids = {pid: native(base, "/" + pid.replace(".", "/"), inputs) for pid, inputs in cases.items()}
    locations = {}
    for pid, inputs in cases.items():
        api = Processes(ogc)
        info = check_status_info(api.execute(pid, inputs, async_=True))
        assert info["status"] in {"accepted", "running", "successful"} and info["processID"] == pid
        assert api.response_headers["Preference-Applied"] == "respond-async"
        assert api.response_headers["Location"] == f"{ogc}/jobs/{info['jobID']}"
        locations[pid] = api.response_headers["Location"]
    for pid, location in locations.items():
        info = poll(location)
        assert info["status"] == "successful", info
        assert info["progress"] == 100 and info["created"] <= info["started"] <= info["finished"]
        results_link = check_links(info["links"], REL + "results")[REL + "results"]["href"]
        results = requests.get(results_link, timeout=30)
        assert results.status_code == 200 and results.headers["Content-Type"].startswith("application/json")
        got, want = results.json(), native_data(base, native_ids[pid])
        if pid.startswith("pram."):  # one run: each output one value (and a risk model's exceedances)
            expected = {name: column["0"] for name, column in want["outputs"].items()}
            if "exceeds" in want:
                expected["exceeds"] = want["exceeds"]["0"]
            assert got == expected, pid
        else:
            assert got == want, pid
        assert requests.get(f"{base}/jobs/{info['jobID']}", timeout=10).json()["data"] == want


def test_a_pram_batch_is_array_valued_inputs_and_runs_synchronously(stack):
    base, ogc = stack["base"], stack["ogc"]
    cases = load_cases("rice")
    rows = [{k: typed(v) for k, v in inputs.items()} for _, inputs, _ in cases]
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    columns["area"] = {"value": columns["area"][0], "mediaType": "application/json"}  # one value for every run
    for row in rows:
        row["area"] = columns["area"]["value"]
    want = native_data(base, native(base, "/pram/rice", rows))
    api = Processes(ogc)
    got = api.execute("pram.rice", columns)  # no async_: OWSLib asks respond-sync
    assert re.fullmatch(rf'<{re.escape(ogc)}/jobs/[0-9a-f-]{{36}}>; rel=monitor', api.response_headers["Link"])
    keys = list(want["outputs"]["out_cw"])
    assert got == {name: [col[k] for k in keys] for name, col in want["outputs"].items()}
    assert len(got["out_cw"]) == len(cases) > 1
    # raw: one selected output is its value alone; two are multipart/related parts
    raw = requests.post(f"{ogc}/processes/pram.rice/execution", timeout=60, json={
        "inputs": columns, "outputs": {"out_cw": {}}, "response": "raw"})
    assert raw.status_code == 200 and raw.json() == got["out_cw"]
    multi = requests.post(f"{ogc}/processes/pram.rice/execution", timeout=60, json={
        "inputs": columns, "outputs": {"out_cw": {}, "out_vw": {}}})
    assert multi.headers["Content-Type"].startswith("multipart/related")
    assert b"Content-ID: <out_cw>" in multi.content and b"Content-ID: <out_vw>" in multi.content
    document = requests.post(f"{ogc}/processes/pram.rice/execution", timeout=60, json={
        "inputs": columns, "outputs": {"out_vw": {"transmissionMode": "value"}}, "response": "document"})
    assert document.json() == {"out_vw": got["out_vw"]}
    uneven = requests.post(f"{ogc}/processes/pram.rice/execution", timeout=30,
                           json={"inputs": {**columns, "mai": columns["mai"][:1]}})
    assert check_exception(uneven, 422)["errors"]


def test_a_risk_models_exceedances_are_an_output_run_by_run(stack):
    """T-REX's RQs over their levels of concern come out of OGC as they do natively: an
    ``exceeds`` output (declared in the description) holding each run's list, selectable,
    and sent by reference to a link that gives the same."""
    base, ogc = stack["base"], stack["ogc"]
    description = requests.get(f"{ogc}/processes/pram.trex", timeout=10).json()
    assert "exceeds" in description["outputs"]
    assert "exceeds" not in requests.get(f"{ogc}/processes/pram.rice", timeout=10).json()["outputs"]
    one = requests.get(f"{base}/pram/trex", timeout=10).json()["example"]["inputs"]  # EPA's first QA/QC case
    runs = [one, {**one, "app_rates": [r * 1e-6 for r in one["app_rates"]]}]  # the second: no RQ reaches a level
    want = native_data(base, native(base, "/pram/trex", runs))
    columns = {name: [run[name] for run in runs] for name in one}
    document = requests.post(f"{ogc}/processes/pram.trex/execution", timeout=60,
                             json={"inputs": columns, "response": "document"})
    assert document.status_code == 200, document.text
    got = document.json()
    assert got["exceeds"] == [want["exceeds"]["0"], want["exceeds"]["1"]]
    assert got["exceeds"][0] and all(e["value"] >= e["level"] for e in got["exceeds"][0])
    assert got["exceeds"][1] == []
    selected = requests.post(f"{ogc}/processes/pram.trex/execution", timeout=60, json={
        "inputs": {name: [value] for name, value in one.items()}, "outputs": {"exceeds": {"transmissionMode": "reference"}}, "response": "document"})
    assert selected.status_code == 200 and list(selected.json()) == ["exceeds"], selected.text
    link = selected.json()["exceeds"]["href"]
    assert requests.get(link, timeout=30).json() == [want["exceeds"]["0"]]  # an array of one run, as asked
    refused = requests.post(f"{ogc}/processes/pram.rice/execution", timeout=30,
                            json={"inputs": pram_inputs(base, "rice"), "outputs": {"exceeds": {}}})
    check_exception(refused, 400, "no-such-output")


def test_a_long_job_answers_async_without_prefer_and_is_dismissed(stack):
    ogc = stack["ogc"]
    started = time.monotonic()
    response = requests.post(f"{ogc}/processes/testing.sleepy/execution", timeout=60,
                             headers={"Prefer": "wait=1"}, json={"inputs": {"seconds": 20}})
    assert response.status_code == 201 and time.monotonic() - started < 10
    assert "Preference-Applied" not in response.headers
    info = check_status_info(response.json())
    location = response.headers["Location"]
    deadline = time.monotonic() + 30
    while requests.get(location, timeout=10).json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    check_exception(requests.get(f"{location}/results", timeout=10), 404, "result-not-ready")
    dismissed = requests.delete(location, timeout=10)
    assert dismissed.status_code == 200
    assert check_status_info(dismissed.json(), info["jobID"])["status"] == "dismissed"
    assert requests.get(location, timeout=10).json()["status"] == "dismissed"
    assert requests.get(f"{stack['base']}/jobs/{info['jobID']}", timeout=10).json()["status"] == "REVOKED"
    check_exception(requests.get(f"{location}/results", timeout=10), 404, "no-such-job")
    time.sleep(0.5)  # a finished job is dismissed too: its results are no longer served
    done = requests.post(f"{ogc}/processes/testing.sleepy/execution", timeout=60, json={"inputs": {"seconds": 0}})
    assert done.status_code == 200
    job = done.headers["Link"].split("/jobs/")[1].split(">")[0]
    assert requests.delete(f"{ogc}/jobs/{job}", timeout=10).json()["status"] == "dismissed"
    check_exception(requests.get(f"{ogc}/jobs/{job}/results", timeout=10), 404)


def test_failures_and_errors_are_exception_documents(stack):
    base, ogc = stack["base"], stack["ogc"]
    failed = requests.post(f"{ogc}/processes/testing.sleepy/execution", timeout=60,
                           json={"inputs": {"seconds": 0, "fail": True}})
    body = check_exception(failed, 422)
    assert "asked to fail" in body["detail"]
    queued = requests.post(f"{ogc}/processes/testing.sleepy/execution", timeout=60,
                           headers={"Prefer": "respond-async"}, json={"inputs": {"seconds": 0, "fail": True}})
    info = poll(queued.headers["Location"])
    assert info["status"] == "failed" and "asked to fail" in info["message"]
    assert REL + "results" not in check_links(info["links"])
    check_exception(requests.get(queued.headers["Location"] + "/results", timeout=10), 422)
    invalid = requests.post(f"{ogc}/processes/pram.rice/execution", timeout=30,
                            json={"inputs": {"mai": -1}})
    assert {e["field"] for e in check_exception(invalid, 422)["errors"]} >= {"mai", "area"}
    check_exception(requests.post(f"{ogc}/processes/pram.rice/execution", timeout=30, data="{",
                                  headers={"Content-Type": "application/json"}), 400)
    check_exception(requests.post(f"{ogc}/processes/pram.rice/execution", timeout=30, data="x"), 415)
    check_exception(requests.post(f"{ogc}/processes/pram.rice/execution", timeout=30,
                                  json={"inputs": {"mai": {"href": "http://169.254.169.254/"}}}), 422)
    check_exception(requests.post(f"{ogc}/processes/pram.rice/execution", timeout=30,
                                  json={"inputs": {}, "outputs": {"out_nothing": {}}}), 400, "no-such-output")
    check_exception(requests.post(f"{ogc}/processes/nothing/execution", timeout=30, json={}), 404, "no-such-process")
    check_exception(requests.get(f"{ogc}/jobs/00000000-0000-4000-8000-000000000000", timeout=10), 404, "no-such-job")
    check_exception(requests.get(f"{ogc}/jobs/nothing/results", timeout=10), 404, "no-such-job")
    check_exception(requests.delete(f"{ogc}/jobs/nothing", timeout=10), 404, "no-such-job")
    check_exception(requests.put(f"{ogc}/processes", timeout=10), 405)
    check_exception(requests.get(f"{ogc}/no/such/path", timeout=10), 404)
    # elsewhere the gateway keeps its own error shape
    native_error = requests.get(f"{base}/jobs/nothing", timeout=10).json()
    assert native_error["code"] == 404 and "type" not in native_error


def test_job_list_filters_and_pages(stack):
    ogc = stack["ogc"]
    ids = []
    for seconds in (0, 0, 0, 1.2):
        response = requests.post(f"{ogc}/processes/testing.sleepy/execution", timeout=60,
                                 headers={"Prefer": "respond-async"}, json={"inputs": {"seconds": seconds}})
        ids.append(response.json()["jobID"])
    for job_id in ids:
        poll(f"{ogc}/jobs/{job_id}")
    body = requests.get(f"{ogc}/jobs?processID=testing.sleepy&limit=2", timeout=10).json()
    check_links(body["links"], "self", "next")
    listed = []
    url = f"{ogc}/jobs?processID=testing.sleepy&limit=2"
    while url:
        page = requests.get(url, timeout=10).json()
        assert len(page["jobs"]) <= 2
        for info in page["jobs"]:
            check_status_info(info)
            assert info["processID"] == "testing.sleepy"
        listed += [info["jobID"] for info in page["jobs"]]
        url = check_links(page["links"], "self").get("next", {}).get("href")
    assert set(ids) <= set(listed) and len(listed) == len(set(listed))
    created = [requests.get(f"{ogc}/jobs/{i}", timeout=10).json()["created"] for i in listed]
    assert created == sorted(created, reverse=True)  # newest first
    rice = requests.get(f"{ogc}/jobs?processID=pram.rice,pram.sip&limit=10000", timeout=10).json()["jobs"]
    assert {i["processID"] for i in rice} <= {"pram.rice", "pram.sip"} and not set(ids) & {i["jobID"] for i in rice}
    slow = requests.get(f"{ogc}/jobs?processID=testing.sleepy&minDuration=1&limit=10000", timeout=10).json()
    assert ids[3] in {i["jobID"] for i in slow["jobs"]} and not set(ids[:3]) & {i["jobID"] for i in slow["jobs"]}
    quick = requests.get(f"{ogc}/jobs?processID=testing.sleepy&maxDuration=1&limit=10000", timeout=10).json()
    assert set(ids[:3]) <= {i["jobID"] for i in quick["jobs"]} and ids[3] not in {i["jobID"] for i in quick["jobs"]}
    first = requests.get(f"{ogc}/jobs/{ids[0]}", timeout=10).json()["created"]
    last = requests.get(f"{ogc}/jobs/{ids[3]}", timeout=10).json()["created"]
    window = requests.get(f"{ogc}/jobs", params={"datetime": f"{first}/{last}", "limit": 10000}, timeout=10).json()
    assert set(ids) <= {i["jobID"] for i in window["jobs"]}
    assert all(first <= i["created"] <= last for i in window["jobs"])
    after = requests.get(f"{ogc}/jobs", params={"datetime": f"{last}/..", "limit": 10000}, timeout=10).json()
    assert ids[3] in {i["jobID"] for i in after["jobs"]} and ids[0] not in {i["jobID"] for i in after["jobs"]}
    done = requests.get(f"{ogc}/jobs?status=successful&limit=10000", timeout=10).json()["jobs"]
    assert done and all(i["status"] == "successful" for i in done)
    assert requests.get(f"{ogc}/jobs?type=nothing", timeout=10).json()["jobs"] == []
    check_exception(requests.get(f"{ogc}/jobs?status=SUCCESS", timeout=10), 400, "invalid-query-parameter-value")
    check_exception(requests.get(f"{ogc}/jobs?limit=10001", timeout=10), 400, "invalid-query-parameter-value")
    check_exception(requests.get(f"{ogc}/jobs?datetime=yesterday", timeout=10), 400, "invalid-query-parameter-value")


def test_callbacks_reach_an_allowed_receiver_and_others_are_refused(stack):
    base, ogc = stack["base"], stack["ogc"]
    receiver = Receiver()
    try:
        subscriber = {"successUri": f"{receiver.url}/flaky-done", "inProgressUri": f"{receiver.url}/running",
                      "failedUri": f"{receiver.url}/failed"}
        ok = requests.post(f"{ogc}/processes/testing.sleepy/execution", timeout=30,
                           headers={"Prefer": "respond-async"},
                           json={"inputs": {"seconds": 0.3}, "subscriber": subscriber, "response": "document"})
        assert ok.status_code == 201
        job_id = ok.json()["jobID"]
        running = check_status_info(receiver.wait("/running"), job_id)
        assert running["status"] == "running"
        done = check_status_info(receiver.wait("/flaky-done"), job_id)  # after one refused try
        assert done["status"] == "successful" and receiver.tries["/flaky-done"] == 2
        results = check_links(done["links"], REL + "results")[REL + "results"]["href"]
        assert requests.get(results, timeout=10).json()["slept"] == 0.3
        failing = requests.post(f"{base}/testing/sleepy", timeout=30, json={  # the native API takes it too
            "inputs": {"seconds": 0, "fail": True}, "subscriber": {"failedUri": f"{receiver.url}/native-failed"}})
        assert failing.status_code == 202
        failed = check_status_info(receiver.wait("/native-failed"), failing.json()["job_id"])
        assert failed["status"] == "failed" and "asked to fail" in failed["message"]
        assert "/failed" not in [p for p, _ in receiver.got]
        for url in ("http://example.org/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/x",
                    "http://user:pw@127.0.0.1/x", "http://localhost/x"):
            refused = requests.post(f"{ogc}/processes/testing.sleepy/execution", timeout=30,
                                    json={"inputs": {"seconds": 0}, "subscriber": {"successUri": url}})
            assert check_exception(refused, 422)["errors"][0]["field"] == "subscriber.successUri", url
            refused = requests.post(f"{base}/testing/sleepy", timeout=30,
                                    json={"inputs": {"seconds": 0}, "subscriber": {"failedUri": url}})
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "subscriber.failedUri"
        unknown = requests.post(f"{base}/testing/sleepy", timeout=30,
                                json={"inputs": {"seconds": 0}, "subscriber": {"doneUri": receiver.url}})
        assert unknown.status_code == 422
    finally:
        receiver.server.shutdown()


def test_with_keys_each_client_lists_and_sees_only_its_own_jobs(own_stack, tmp_path):
    path = tmp_path / "api_keys"
    keys = {name: keyfile.add_key(path, name) for name in ("alice", "bob", "admin")}
    client = own_stack(QED_API_KEYS_FILE=str(path))["client"]
    auth = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}
    assert client.get("/ogcapi/").status_code == 401
    mine = client.post("/ogcapi/processes/testing.sleepy/execution", headers={**auth["alice"], "Prefer": "respond-async"},
                       json={"inputs": {"seconds": 0}})
    assert mine.status_code == 201
    job_id = mine.get_json()["jobID"]
    listed = lambda who: {i["jobID"] for i in client.get("/ogcapi/jobs?limit=100", headers=auth[who]).get_json()["jobs"]}  # noqa: E731
    assert job_id in listed("alice") and job_id in listed("admin") and job_id not in listed("bob")
    for method, url in (("get", f"/ogcapi/jobs/{job_id}"), ("get", f"/ogcapi/jobs/{job_id}/results"),
                        ("delete", f"/ogcapi/jobs/{job_id}")):
        answer = getattr(client, method)(url, headers=auth["bob"])
        assert answer.status_code == 404 and answer.get_json()["type"] == EXC + "no-such-job"
    assert client.get(f"/ogcapi/jobs/{job_id}", headers=auth["alice"]).get_json()["jobID"] == job_id


def test_refusals_made_before_the_ogc_face_are_exception_documents_too(own_stack, tmp_path):
    """401 and 429 come from the front door, 413 from the body limit, 405 and 404 from
    wherever they arise: under /ogcapi/ each is an OGC exception document; elsewhere the
    gateway's own shape stays."""
    path = tmp_path / "api_keys"
    auth = {"X-API-Key": keyfile.add_key(path, "alice")}
    client = own_stack(QED_API_KEYS_FILE=str(path), QED_RATE_LIMIT="20/minute",
                       QED_MAX_CONTENT_LENGTH="2000")["client"]

    def ogc_exception(response, status: int) -> dict:
        assert response.status_code == status and response.mimetype == "application/json", response.data
        body = response.get_json()
        assert body["status"] == status and isinstance(body["type"], str) and body["type"], body
        assert isinstance(body["title"], str) and isinstance(body["detail"], str) and "code" not in body
        return body

    for url in ("/ogcapi", "/ogcapi/", "/ogcapi/processes", "/ogcapi/jobs/x"):
        assert "API key" in ogc_exception(client.get(url), 401)["detail"]
    assert client.get("/jobs/x").get_json()["code"] == 401  # the native face keeps its shape
    big = {"inputs": {"mai": "x" * 3000}}
    body = ogc_exception(client.post("/ogcapi/processes/pram.rice/execution", json=big, headers=auth), 413)
    assert "QED_MAX_CONTENT_LENGTH" in body["detail"]
    assert client.post("/pram/rice", json=big, headers=auth).get_json()["code"] == 413
    ogc_exception(client.post("/ogcapi/processes/pram.rice/execution", data="x", headers=auth), 415)
    ogc_exception(client.put("/ogcapi/processes", headers=auth), 405)
    ogc_exception(client.get("/ogcapi/no/such/path", headers=auth), 404)
    for _ in range(30):  # past QED_RATE_LIMIT
        response = client.get("/ogcapi/conformance", headers=auth)
        if response.status_code == 429:
            break
    assert "QED_RATE_LIMIT" in ogc_exception(response, 429)["detail"] and response.headers["Retry-After"]
    assert client.get("/jobs", headers=auth).get_json()["code"] == 429


def test_callback_hosts_are_checked_by_name_address_and_what_a_name_resolves_to():
    from flask_qed.jobs.subscriber import refusal
    assert refusal("http://127.0.0.1:9/x", ["127.0.0.1"]) is None
    assert refusal("https://[::1]/x", ["::1"]) is None
    assert refusal("http://10.1.2.3/x", ["10.0.0.0/8"]) is None
    assert "not on QED_CALLBACK_ALLOWLIST" in refusal("http://10.1.2.3/x", ["192.168.0.0/16"])
    assert "not on QED_CALLBACK_ALLOWLIST" in refusal("http://127.0.0.1/x", [])
    # a listed name that resolves to a loopback address: refused unless that address is listed
    assert "non-public address 127.0.0.1" in refusal("http://localhost/x", ["localhost"])
    assert refusal("http://localhost/x", ["localhost", "127.0.0.0/8", "::1"]) is None
    assert refusal("http://LOCALHOST./x", ["localhost", "127.0.0.1", "::1"]) is None
    for url, rule in (("file:///etc/passwd", "http or https"), ("http://a:b@127.0.0.1/", "credentials"),
                      ("http://127.0.0.1:99999/", "valid URL"), ("http:///x", "no host")):
        assert rule in refusal(url, ["127.0.0.1"]), url


def test_every_answer_matches_the_api_document(tmp_path):
    """Schemathesis over /ogcapi/api against gunicorn, a real worker and keys on: every
    operation, with valid and schema-breaking requests, with and without a key, and the
    answers about real jobs (status, raw and document results, dismissal) use only
    documented status codes and content types, in the documented shapes, and never
    answer a server error. Bounded: a few examples an operation."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                     response_schema_conformance, status_code_conformance)
    from schemathesis.core.failures import Failure, FailureGroup
    path = tmp_path / "api_keys"
    auth = {"X-API-Key": keyfile.add_key(path, "alice")}
    started: list = []
    try:
        deployed = _deploy(tmp_path, started, QED_API_KEYS_FILE=str(path), QED_APPS="", QED_SYNC_WAIT="2")
        ogc = deployed["base"] + "/ogcapi"
        # from_dict, not from_url: from_url leaves out the operation that serves the document
        schema = schemathesis.openapi.from_dict(requests.get(ogc + "/api", timeout=30).json())
        checks = [not_a_server_error, status_code_conformance, content_type_conformance,
                  response_schema_conformance]
        failures: list[str] = []
        calls = [0]

        def validate(case, headers: dict[str, str], label: str) -> None:
            calls[0] += 1
            try:
                case.call_and_validate(base_url=ogc, headers=headers, checks=checks, timeout=60)
            except (Failure, FailureGroup) as exc:
                failures.append(f"{case.method} {case.formatted_path} ({label}): {exc}"[:1500])

        def run(operation, mode, headers: dict[str, str], examples: int) -> None:
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case) -> None:
                validate(case, headers, f"{mode.value}, {'a key' if headers else 'no key'}")
            try:
                call()
            except Unsatisfiable:  # nothing to break in an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE, operation.label

        operations = {(op.method.upper(), op.path): op for op in (r.ok() for r in schema.get_all_operations())}
        assert len(operations) > 15 and ("GET", "/api") in operations
        for operation in operations.values():
            run(operation, GenerationMode.POSITIVE, auth, 8)
            run(operation, GenerationMode.NEGATIVE, auth, 4)
            if operation.path != "/api":  # the API document is public
                run(operation, GenerationMode.POSITIVE, {}, 1)
        rice = {"mai": 1, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.5, "kd": 10}
        execute = operations[("POST", "/processes/pram.rice/execution")]
        for body, prefer in (({"inputs": rice}, {}), ({"inputs": rice, "response": "document"}, {}),
                             ({"inputs": {**rice, "mai": [1, 2]}, "outputs": {"out_cw": {}}}, {}),
                             ({"inputs": rice}, {"Prefer": "respond-async"})):
            validate(execute.Case(body=body, media_type="application/json"), {**auth, **prefer}, "a real run")
        jobs = requests.get(f"{ogc}/jobs?limit=100", headers=auth, timeout=30).json()["jobs"]
        assert len(jobs) >= 10 and any(job["status"] == "successful" for job in jobs)
        for job in jobs:
            for key in (("GET", "/jobs/{jobID}"), ("GET", "/jobs/{jobID}/results")):
                validate(operations[key].Case(path_parameters={"jobID": job["jobID"]}), auth, "a real job")
        for job in jobs[:3]:
            validate(operations[("DELETE", "/jobs/{jobID}")].Case(path_parameters={"jobID": job["jobID"]}),
                     auth, "a real job")
        assert not failures, "\n\n".join(failures[:20])
        assert calls[0] > 300
    finally:
        for proc in started:
            stop(proc)
