"""OGC API - Processes - Part 1: Core (OGC 18-062r2), requirements class Core: creating a
job — the execute request, its inputs (inline, qualified, object, binary, bbox, arrays;
by reference refused), input validation, execution-mode negotiation and the synchronous
answers. One test per requirement, each naming it in its docstring."""
from __future__ import annotations

import base64
import json

import requests

from .common import (ECHO, ECHOED, INPUTS, JSON, check_exception, check_status_info, execute,
                     monitor, output_links, parts, poll)

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def test_process_execute_op(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-op —
    POST /processes/{processID}/execution, for every process."""
    response = execute(ogc["ogc"], {"inputs": INPUTS, "response": "document"})
    assert response.status_code == 200, response.text
    assert requests.get(f"{ogc['ogc']}/processes/{ECHO}/execution", timeout=10).status_code == 405


def test_process_execute_request(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-request —
    a body per execute.yaml: inputs, outputs (with transmissionMode), response, subscriber."""
    body = {"inputs": INPUTS, "outputs": {"stringOutput": {"transmissionMode": "value"},
                                          "integerOutput": {"format": {"mediaType": JSON}}},
            "response": "document", "subscriber": {}}
    response = execute(ogc["ogc"], body)
    assert response.status_code == 200 and response.json() == {
        "stringOutput": INPUTS["stringInput"], "integerOutput": INPUTS["integerInput"]}
    for bad in ({"inputs": INPUTS, "response": "table"}, {"inputs": INPUTS, "outputs": ["stringOutput"]},
                {"inputs": INPUTS, "outputs": {"stringOutput": {"transmissionMode": "email"}}}, ["inputs"]):
        check_exception(execute(ogc["ogc"], bad), 400)


def test_process_execute_inputs(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-inputs —
    inputs by value are taken; by reference (a link) the server refuses with 422 and says
    why: it fetches no URL for a client (a deliberate departure, see docs/ogc.md)."""
    got = execute(ogc["ogc"], {"inputs": {"stringInput": "by value"}, "outputs": {"stringOutput": {}}})
    assert got.status_code == 200 and got.json() == "by value"
    refused = execute(ogc["ogc"], {"inputs": {"stringInput": {"href": "http://127.0.0.1/secret"}}})
    assert "not fetched" in check_exception(refused, 422)["errors"][0]["rule"]


def test_process_execute_input_inline(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-inline —
    string, number, integer, boolean and array values given in-line come back as given."""
    response = execute(ogc["ogc"], {"inputs": INPUTS, "response": "document"})
    assert response.status_code == 200 and response.json() == ECHOED


def test_process_execute_input_inline_object(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-inline-object —
    an object input, plain or as a qualified value (``{"value": {...}, "mediaType": ...}``)."""
    point = {"x": -1.5, "y": 2.25, "label": "well 7"}
    for given in (point, {"value": point, "mediaType": JSON}):
        response = execute(ogc["ogc"], {"inputs": {"stringInput": "o", "objectInput": given},
                                        "outputs": {"objectOutput": {}}})
        assert response.status_code == 200 and response.json() == point


def test_process_execute_input_inline_mixed(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-inline-mixed —
    qualified values (``value`` with ``mediaType``/``encoding``/``schema``/``format``) are
    taken for any input, their value validated as the input's schema says."""
    body = {"inputs": {"stringInput": {"value": "qualified", "mediaType": "text/plain"},
                       "doubleInput": {"value": 1.5, "format": {"mediaType": JSON}}},
            "outputs": {"stringOutput": {}, "doubleOutput": {}}, "response": "document"}
    response = execute(ogc["ogc"], body)
    assert response.status_code == 200 and response.json() == {"stringOutput": "qualified", "doubleOutput": 1.5}
    body["inputs"]["doubleInput"] = {"value": "many", "mediaType": JSON}
    assert check_exception(execute(ogc["ogc"], body), 422)["errors"][0]["field"] == "doubleInput"


def test_process_execute_input_inline_binary(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-inline-binary —
    binary values as base64 text, plain or qualified with ``encoding: base64``; text that is
    not base64 is refused."""
    for given in (INPUTS["binaryInput"], {"value": INPUTS["binaryInput"], "encoding": "base64",
                                          "mediaType": "image/png"}):
        response = execute(ogc["ogc"], {"inputs": {"stringInput": "b", "binaryInput": given},
                                        "outputs": {"binaryOutput": {}}})
        assert response.status_code == 200
        assert base64.b64decode(response.json()) == base64.b64decode(INPUTS["binaryInput"])
    refused = execute(ogc["ogc"], {"inputs": {"stringInput": "b", "binaryInput": "not base64!"}})
    assert check_exception(refused, 422)["errors"][0]["field"] == "binaryInput"


def test_process_execute_input_inline_bbox(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-inline-bbox —
    bounding boxes per bbox.yaml (4 or 6 numbers, a CRS defaulting to CRS84); others refused."""
    for box, want in (({"bbox": [0, 0, 1, 1]}, {"bbox": [0, 0, 1, 1],
                                                 "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}),
                      (INPUTS["boundingBoxInput"], INPUTS["boundingBoxInput"]),
                      ({"bbox": [0, 0, -5, 1, 1, 5], "crs": "http://www.opengis.net/def/crs/OGC/0/CRS84h"}, None)):
        response = execute(ogc["ogc"], {"inputs": {"stringInput": "b", "boundingBoxInput": box},
                                        "outputs": {"boundingBoxOutput": {}}})
        assert response.status_code == 200 and response.json() == (want or box)
    for bad in ({"bbox": [0, 0, 1]}, {"bbox": [2, 0, 1, 1]}, {"bbox": [0, 0, 1, 1], "crs": "EPSG:4326"}):
        refused = execute(ogc["ogc"], {"inputs": {"stringInput": "b", "boundingBoxInput": bad}})
        assert check_exception(refused, 422)["errors"][0]["field"].startswith("boundingBoxInput"), bad


def test_process_execute_input_array(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-array —
    an input with maxOccurs > 1 (a PRAM batch) takes an array, even of a single value."""
    mai = requests.get(f"{ogc['ogc']}/processes/pram.rice", timeout=10).json()["inputs"]["mai"]
    assert mai["maxOccurs"] > 1
    one = execute(ogc["ogc"], {"inputs": RICE, "outputs": {"out_cw": {}}}, pid="pram.rice")
    single = execute(ogc["ogc"], {"inputs": {**RICE, "mai": [RICE["mai"]]}, "outputs": {"out_cw": {}}},
                     pid="pram.rice")
    both = execute(ogc["ogc"], {"inputs": {**RICE, "mai": [RICE["mai"], 4.5]}, "outputs": {"out_cw": {}}},
                   pid="pram.rice")
    assert one.status_code == single.status_code == both.status_code == 200
    assert single.json() == [one.json()] and both.json()[0] == one.json() and len(both.json()) == 2


def test_process_execute_input_ref(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-ref —
    not met, on purpose: an input given by reference is refused (422) rather than fetched,
    inside an array too, so that no client can make the server reach a URL."""
    for given in ({"href": "http://169.254.169.254/latest", "type": JSON},
                  [{"href": "file:///etc/passwd"}]):
        refused = execute(ogc["ogc"], {"inputs": {**RICE, "mai": given}}, pid="pram.rice")
        assert check_exception(refused, 422)["errors"][0]["field"] == "mai"


def test_process_execute_input_validation(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-input-validation —
    each input is validated against its description: 422 naming the field and the rule;
    a body that is not an execute request is a 400, a body not JSON a 415."""
    cases = {"integerInput": 101, "doubleInput": "x", "booleanInput": [1], "arrayInput": 3,
             "objectInput": {"x": 1}, "unknownInput": 1}
    for name, value in cases.items():
        refused = execute(ogc["ogc"], {"inputs": {"stringInput": "v", name: value}})
        errors = check_exception(refused, 422)["errors"]
        assert errors[0]["field"].split(".")[0] == name and errors[0]["rule"], (name, errors)
    assert check_exception(execute(ogc["ogc"], {"inputs": {}}), 422)["errors"][0]["field"] == "stringInput"
    check_exception(requests.post(f"{ogc['ogc']}/processes/{ECHO}/execution", data="{", timeout=10,
                                  headers={"Content-Type": JSON}), 400)
    check_exception(requests.post(f"{ogc['ogc']}/processes/{ECHO}/execution", data="inputs", timeout=10), 415)


def test_process_execute_default_execution_mode(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-default-execution-mode —
    without ``Prefer``, a process that runs either way answers synchronously."""
    response = execute(ogc["ogc"], {"inputs": INPUTS, "outputs": {"stringOutput": {}}})
    assert response.status_code == 200 and "Preference-Applied" not in response.headers
    assert response.json() == INPUTS["stringInput"]


def test_process_execute_auto_execution_mode(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-auto-execution-mode —
    ``Prefer: respond-async`` is honoured (201, ``Preference-Applied``); ``Prefer: wait=N``
    answers synchronously when the job ends in time."""
    response = execute(ogc["ogc"], {"inputs": INPUTS}, "respond-async")
    assert response.status_code == 201 and response.headers["Preference-Applied"] == "respond-async"
    quick = execute(ogc["ogc"], {"inputs": INPUTS, "outputs": {"integerOutput": {}}}, "wait=20")
    assert quick.status_code == 200 and quick.json() == INPUTS["integerInput"]


def test_process_execute_default_outputs(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-default-outputs —
    without ``outputs`` (or with an empty one), every declared output is answered."""
    declared = set(requests.get(f"{ogc['ogc']}/processes/{ECHO}", timeout=10).json()["outputs"])
    for body in ({"inputs": INPUTS, "response": "document"}, {"inputs": INPUTS, "outputs": {}, "response": "document"}):
        response = execute(ogc["ogc"], body)
        assert response.status_code == 200 and set(response.json()) == declared


def test_process_execute_success_async(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-success-async —
    201, ``Location`` of the new job, statusInfo.yaml content."""
    response = execute(ogc["ogc"], {"inputs": INPUTS}, "respond-async")
    assert response.status_code == 201 and response.headers["Content-Type"].startswith(JSON)
    info = check_status_info(response.json())
    assert info["status"] in ("accepted", "running", "successful") and info["processID"] == ECHO
    assert response.headers["Location"] == f"{ogc['ogc']}/jobs/{info['jobID']}"
    assert poll(response.headers["Location"])["status"] == "successful"


def test_process_execute_sync_document(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-sync-document —
    200, application/json, results.yaml: each requested output by value, or by reference a link."""
    body = {"inputs": INPUTS, "response": "document", "outputs": {
        "stringOutput": {}, "objectOutput": {"transmissionMode": "value"},
        "binaryOutput": {"transmissionMode": "reference"}}}
    response = execute(ogc["ogc"], body)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON)
    results = response.json()
    assert set(results) == {"stringOutput", "objectOutput", "binaryOutput"}
    assert results["stringOutput"] == INPUTS["stringInput"] and results["objectOutput"] == INPUTS["objectInput"]
    link = results["binaryOutput"]
    job = monitor(response).rsplit("/", 1)[1]
    assert link["href"] == f"{ogc['ogc']}/jobs/{job}/results/binaryOutput" and link["type"] == JSON
    assert requests.get(link["href"], timeout=10).json() == INPUTS["binaryInput"]


def test_process_execute_sync_raw_value_one(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-sync-raw-value-one —
    200, the output's media type (application/json, as described), its value alone."""
    described = requests.get(f"{ogc['ogc']}/processes/{ECHO}", timeout=10).json()["outputs"]
    for name in ("stringOutput", "arrayOutput", "boundingBoxOutput"):
        response = execute(ogc["ogc"], {"inputs": INPUTS, "response": "raw", "outputs": {name: {}}})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(described[name]["schema"]["contentMediaType"])
        assert response.json() == ECHOED[name]


def test_process_execute_sync_raw_value_multi(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-sync-raw-value-multi —
    200, multipart/related (RFC 2387), one part per output, its Content-ID the output id."""
    wanted = ("stringOutput", "integerOutput", "boundingBoxOutput")
    response = execute(ogc["ogc"], {"inputs": INPUTS, "response": "raw", "outputs": {n: {} for n in wanted}})
    assert response.status_code == 200
    got = parts(response)
    assert list(got) == list(wanted)
    for name, (headers, body) in got.items():
        assert headers["Content-Type"] == JSON and json.loads(body) == ECHOED[name]


def test_process_execute_sync_raw_ref(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-sync-raw-ref —
    every output by reference: 204, no content, a ``Link`` header to each requested output."""
    wanted = ("stringOutput", "arrayOutput")
    response = execute(ogc["ogc"], {"inputs": INPUTS, "response": "raw",
                                    "outputs": {n: {"transmissionMode": "reference"} for n in wanted}})
    assert response.status_code == 204 and response.content == b""
    links = output_links(response)
    assert set(links) == set(wanted)
    job = monitor(response)
    for name, href in links.items():
        assert href == f"{job}/results/{name}"
        assert requests.get(href, timeout=10).json() == ECHOED[name]


def test_process_execute_sync_raw_mixed_multi(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/core/process-execute-sync-raw-mixed-multi —
    multipart/related; a part by value holds the value, a part by reference is empty with a
    ``Content-Location`` that answers the value."""
    response = execute(ogc["ogc"], {"inputs": INPUTS, "response": "raw", "outputs": {
        "stringOutput": {"transmissionMode": "value"}, "objectOutput": {"transmissionMode": "reference"}}})
    assert response.status_code == 200
    got = parts(response)
    assert json.loads(got["stringOutput"][1]) == INPUTS["stringInput"]
    headers, body = got["objectOutput"]
    assert body.strip() == b"" and headers["Content-Location"] == f"{monitor(response)}/results/objectOutput"
    assert requests.get(headers["Content-Location"], timeout=10).json() == INPUTS["objectInput"]

