"""OGC API - Processes - Part 1: Core (OGC 18-062r2), requirements class Core: the
landing page, the API definition, conformance, the process list and descriptions. One
test per requirement, each naming it."""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import requests

from .common import ECHO, JSON, REL, check_exception, check_links
from tests.web.test_ogc import SPEC, check_summary

OAS30 = "application/vnd.oai.openapi+json;version=3.0"


def test_http(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/http — HTTP 1.1."""
    host = urlsplit(ogc["base"])
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    try:
        for _ in range(2):  # one persistent connection answers twice, as HTTP/1.1 keeps it open
            connection.request("GET", "/ogcapi/", headers={"Accept": JSON})
            response = connection.getresponse()
            assert response.version == 11 and response.status == 200
            response.read()
        connection.request("HEAD", "/ogcapi/conformance")
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
    finally:
        connection.close()


def test_landingpage_op(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/landingpage-op — GET /."""
    for url in (ogc["ogc"] + "/", ogc["ogc"]):
        assert requests.get(url, timeout=10).status_code == 200, url


def test_landingpage_success(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/landingpage-success —
    200, landingPage.yaml, links to the API definition, /conformance and /processes."""
    response = requests.get(ogc["ogc"] + "/", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    body = response.json()
    assert isinstance(body.get("title", ""), str) and isinstance(body.get("description", ""), str)
    links = check_links(body["links"], REL + "conformance", REL + "processes")
    assert "service-desc" in links or "service-doc" in links
    assert links[REL + "conformance"]["href"] == ogc["ogc"] + "/conformance"
    assert links[REL + "processes"]["href"] == ogc["ogc"] + "/processes"


def test_api_definition_op(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/api-definition-op —
    every API definition the landing page links answers GET."""
    links = requests.get(ogc["ogc"] + "/", timeout=10).json()["links"]
    definitions = [link for link in links if link.get("rel") in ("service-desc", "service-doc")]
    assert len(definitions) == 2
    for link in definitions:
        assert requests.get(link["href"], timeout=30).status_code == 200, link


def test_api_definition_success(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/api-definition-success —
    200 and an API definition document."""
    response = requests.get(ogc["ogc"] + "/api", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == OAS30
    document = response.json()
    assert document["openapi"].startswith("3.0.") and document["paths"]["/processes"]["get"]


def test_conformance_op(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/conformance-op — GET /conformance."""
    assert requests.get(ogc["ogc"] + "/conformance", timeout=10).status_code == 200


def test_conformance_success(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/conformance-success —
    200, req-classes.yaml, every class the server conforms to."""
    response = requests.get(ogc["ogc"] + "/conformance", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    conforms = response.json()["conformsTo"]
    assert isinstance(conforms, list) and all(isinstance(c, str) for c in conforms)
    assert set(conforms) == {SPEC + c for c in ("core", "ogc-process-description", "json", "oas30",
                                                "job-list", "dismiss", "callback")} | {
        "http://www.opengis.net/spec/ogcapi-processes-3/0.0/conf/nested-processes"}


def test_process_list(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-list — GET /processes."""
    assert requests.get(ogc["ogc"] + "/processes", timeout=10).status_code == 200


def test_process_list_success(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-list-success —
    200, processList.yaml: a summary of each process, each with a link to its description."""
    response = requests.get(ogc["ogc"] + "/processes?limit=10000", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    summaries = response.json()["processes"]
    assert ECHO in {s["id"] for s in summaries} and "pram.rice" in {s["id"] for s in summaries}
    for summary in summaries:
        check_summary(summary)
        assert "inputs" not in summary and "outputs" not in summary


def test_pl_limit_definition(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/pl-limit-definition —
    a ``limit`` parameter (integer, minimum 1, maximum and default given); values outside are refused."""
    document = requests.get(ogc["ogc"] + "/api", timeout=30).json()
    limit = {p["name"]: p for p in document["paths"]["/processes"]["get"]["parameters"]}["limit"]
    assert limit["in"] == "query" and limit["required"] is False
    schema = limit["schema"]
    assert schema["type"] == "integer" and schema["minimum"] == 1
    assert schema["maximum"] >= schema["default"] >= 1  # the server's choice: every process
    for bad in ("0", "-1", str(schema["maximum"] + 1), "ten"):
        check_exception(requests.get(f"{ogc['ogc']}/processes?limit={bad}", timeout=10), 400,
                        "invalid-query-parameter-value")


def test_pl_limit_response(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/pl-limit-response —
    no more processes than ``limit``; without it, every process (the default is the server's
    to choose, and one page holds the whole catalogue)."""
    total = len(requests.get(ogc["ogc"] + "/processes?limit=10000", timeout=10).json()["processes"])
    assert total > 10
    assert len(requests.get(ogc["ogc"] + "/processes", timeout=10).json()["processes"]) == total
    for limit in (1, 3, total):
        body = requests.get(f"{ogc['ogc']}/processes?limit={limit}", timeout=10).json()
        assert len(body["processes"]) == limit


def test_pl_links(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/pl-links — a ``self``
    link (JSON is the only media type, so no ``alternate``); paging by ``next``."""
    url, seen = f"{ogc['ogc']}/processes?limit=4", []
    while url:
        body = requests.get(url, timeout=10).json()
        links = check_links(body["links"], "self")
        assert links["self"]["href"] == url and links["self"]["type"] == JSON
        assert "alternate" not in links
        seen += [p["id"] for p in body["processes"]]
        url = links.get("next", {}).get("href")
    assert len(seen) == len(set(seen)) == len(requests.get(ogc["ogc"] + "/processes?limit=10000",
                                                           timeout=10).json()["processes"])


def test_process_description(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-description —
    GET /processes/{processID} for each listed process."""
    for summary in requests.get(ogc["ogc"] + "/processes?limit=10000", timeout=10).json()["processes"]:
        href = check_links(summary["links"], "self")["self"]["href"]
        assert href == f"{ogc['ogc']}/processes/{summary['id']}"
        assert requests.get(href, timeout=10).status_code == 200, href


def test_process_description_success(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-description-success —
    200 and a process description (process.yaml: the summary, inputs, outputs, links)."""
    response = requests.get(f"{ogc['ogc']}/processes/{ECHO}", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    process = response.json()
    check_summary(process)
    assert process["id"] == ECHO and process["version"] == "1.0"
    assert set(process["jobControlOptions"]) == {"sync-execute", "async-execute"}
    assert set(process["outputTransmission"]) == {"value", "reference"}
    assert {"stringInput", "boundingBoxInput", "binaryInput", "objectInput"} <= set(process["inputs"])
    assert {"stringOutput", "boundingBoxOutput", "binaryOutput"} <= set(process["outputs"])
    links = check_links(process["links"], "self", REL + "execute")
    assert links[REL + "execute"]["href"] == f"{ogc['ogc']}/processes/{ECHO}/execution"


def test_process_exception_no_such_process(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-exception-no-such-process —
    404, exception.yaml, type no-such-process; for the description and execution alike."""
    check_exception(requests.get(f"{ogc['ogc']}/processes/no.such", timeout=10), 404, "no-such-process")
    check_exception(requests.post(f"{ogc['ogc']}/processes/no.such/execution", json={"inputs": {}}, timeout=10),
                    404, "no-such-process")
