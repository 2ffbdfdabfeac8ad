"""OGC API - Processes - Part 1: Core (OGC 18-062r2), requirements classes OGC Process
Description, JSON and OpenAPI 3.0. One test per requirement, each naming it. The
schema rules are written here from OGC's process.yaml, inputDescription.yaml,
outputDescription.yaml and schema.yaml (a schema fragment allows no member but its own)."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from .common import ECHO, INPUTS, JSON, execute, run_async
from tests.web.test_ogc import check_oas30, check_summary

OAS30 = "application/vnd.oai.openapi+json;version=3.0"
FRAGMENT = {  # schema.yaml: each member and what its value must be
    "title": str, "description": str, "format": str, "pattern": str, "contentMediaType": str,
    "contentEncoding": str, "contentSchema": str, "multipleOf": (int, float), "maximum": (int, float),
    "minimum": (int, float), "exclusiveMaximum": bool, "exclusiveMinimum": bool, "maxLength": int,
    "minLength": int, "maxItems": int, "minItems": int, "maxProperties": int, "minProperties": int,
    "uniqueItems": bool, "nullable": bool, "readOnly": bool, "writeOnly": bool, "deprecated": bool,
    "required": list, "enum": list, "type": str, "not": dict, "allOf": list, "oneOf": list, "anyOf": list,
    "items": dict, "properties": dict, "additionalProperties": (dict, bool), "default": object, "example": object}
TYPES = {"array", "boolean", "integer", "number", "object", "string"}


def check_fragment(schema: Any, where: str) -> None:
    """``schema`` validates against schema.yaml (or is a reference object)."""
    assert isinstance(schema, dict), where
    if set(schema) == {"$ref"}:
        return
    for key, value in schema.items():
        assert key in FRAGMENT, f"{where}: {key} is not a member schema.yaml allows"
        assert isinstance(value, FRAGMENT[key]) and not (FRAGMENT[key] is int and isinstance(value, bool)), \
            f"{where}/{key}: {value!r}"
        if key == "type":
            assert value in TYPES, f"{where}/type {value}"
        elif key in ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"):
            assert value >= 0, f"{where}/{key}"
        elif key == "required":
            assert value and len(set(value)) == len(value) and all(isinstance(v, str) for v in value), where
        elif key == "enum":
            assert value, f"{where}/enum is empty"
        elif key in ("allOf", "oneOf", "anyOf"):
            for i, sub in enumerate(value):
                check_fragment(sub, f"{where}/{key}/{i}")
        elif key == "properties":
            for name, sub in value.items():
                check_fragment(sub, f"{where}/properties/{name}")
        elif key in ("not", "items") or (key == "additionalProperties" and isinstance(value, dict)):
            check_fragment(value, f"{where}/{key}")


def check_description_type(description: dict, where: str) -> None:
    """descriptionType.yaml: title, description, keywords, metadata, additionalParameters."""
    for key in ("title", "description"):
        assert isinstance(description.get(key, ""), str), f"{where}/{key}"
    assert all(isinstance(k, str) for k in description.get("keywords", [])), where
    for item in description.get("metadata", []):
        assert isinstance(item, dict) and all(isinstance(item.get(k, ""), str) for k in ("title", "role", "href"))
    extra = description.get("additionalParameters", {"parameters": []})
    for parameter in extra["parameters"]:
        assert isinstance(parameter["name"], str) and isinstance(parameter["value"], list), where


def descriptions(ogc: dict) -> list[dict]:
    listed = requests.get(ogc["ogc"] + "/processes?limit=10000", timeout=10).json()["processes"]
    return [requests.get(f"{ogc['ogc']}/processes/{p['id']}", timeout=10).json() for p in listed]


@pytest.fixture(scope="module")
def processes(ogc) -> list[dict]:
    return descriptions(ogc)


def test_json_encoding(processes):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/ogc-process-description/json-encoding —
    each description validates against process.yaml (summary, inputs, outputs)."""
    assert len(processes) > 15
    for process in processes:
        check_summary(process)
        check_description_type(process, process["id"])
        assert isinstance(process["inputs"], dict) and isinstance(process["outputs"], dict)


def test_inputs_def(ogc, processes):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/ogc-process-description/inputs-def —
    each input per inputDescription.yaml, keyed by its identifier (the model's field name)."""
    for process in processes:
        app, model = process["id"].split(".")
        declared = requests.get(f"{ogc['base']}/{app}/{model}", timeout=10).json()["inputs"]["properties"]
        assert set(process["inputs"]) == set(declared), process["id"]
        for name, spec in process["inputs"].items():
            check_description_type(spec, f"{process['id']}/{name}")
            assert isinstance(spec["schema"], dict)
            assert isinstance(spec.get("minOccurs", 1), int) and not isinstance(spec.get("minOccurs"), bool)
            assert spec.get("maxOccurs", 1) == "unbounded" or isinstance(spec.get("maxOccurs", 1), int)


def test_input_def(processes):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/ogc-process-description/input-def —
    each input's ``schema`` validates against schema.yaml."""
    for process in processes:
        for name, spec in process["inputs"].items():
            check_fragment(spec["schema"], f"{process['id']}/inputs/{name}")


def test_input_mixed_type(processes):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/ogc-process-description/input-mixed-type —
    an input of mixed type (one value or an array of them) is written with ``oneOf``, each
    alternative a schema.yaml fragment, the first the default."""
    mixed = {(p["id"], name): spec["schema"] for p in processes for name, spec in p["inputs"].items()
             if "oneOf" in spec["schema"] or "anyOf" in spec["schema"]}
    assert ("hms.changing_volume", "length") in mixed
    for (pid, name), schema in mixed.items():
        assert "oneOf" in schema and "anyOf" not in schema, (pid, name, schema)
        types = [s["type"] for s in schema["oneOf"]]
        assert len(set(types)) == len(types) > 1, (pid, name)
        for i, sub in enumerate(schema["oneOf"]):
            check_fragment(sub, f"{pid}/inputs/{name}/oneOf/{i}")


def test_outputs_def(ogc, processes):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/ogc-process-description/outputs-def —
    each output per outputDescription.yaml, keyed by its identifier (the declared output)."""
    for process in processes:
        app, model = process["id"].split(".")
        native = requests.get(f"{ogc['base']}/{app}/{model}", timeout=10).json()
        declared = set(native["outputs"]) | ({"exceeds"} if "risk" in native else set())  # a risk model's flags
        assert set(process["outputs"]) == declared, process["id"]
        for name, spec in process["outputs"].items():
            check_description_type(spec, f"{process['id']}/outputs/{name}")
            assert isinstance(spec["schema"], dict)


def test_output_def(processes):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/ogc-process-description/output-def —
    each output's ``schema`` validates against schema.yaml; its media type is JSON."""
    for process in processes:
        for name, spec in process["outputs"].items():
            check_fragment(spec["schema"], f"{process['id']}/outputs/{name}")
            assert spec["schema"]["contentMediaType"] == JSON


def test_output_mixed_type(processes):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/ogc-process-description/output-mixed-type —
    no output is of mixed type: each has one media type (application/json), no ``oneOf``/``anyOf``."""
    for process in processes:
        for name, spec in process["outputs"].items():
            assert not {"oneOf", "anyOf"} & set(spec["schema"]), (process["id"], name)


def test_json_definition(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/json/definition —
    application/json for /, /conformance, /processes, /processes/{processID}, /jobs/{jobID},
    and for an execution answered as a document or asynchronously."""
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS})
    for url in ("/", "/conformance", "/processes", f"/processes/{ECHO}", location[len(ogc["ogc"]):]):
        response = requests.get(ogc["ogc"] + url, headers={"Accept": JSON}, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(JSON), url
        response.json()
    for body, prefer in (({"inputs": INPUTS, "response": "document"}, None), ({"inputs": INPUTS}, "respond-async")):
        response = execute(ogc["ogc"], body, prefer)
        assert response.headers["Content-Type"].startswith(JSON) and isinstance(response.json(), dict)


def test_oas_definition_1(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/oas30/oas-definition-1 —
    the definition as application/vnd.oai.openapi+json;version=3.0, and as HTML (text/html)."""
    links = {link["rel"]: link for link in requests.get(ogc["ogc"] + "/", timeout=10).json()["links"]}
    desc = requests.get(links["service-desc"]["href"], timeout=30)
    assert links["service-desc"]["type"] == OAS30 and desc.headers["Content-Type"] == OAS30
    doc = requests.get(links["service-doc"]["href"], timeout=30)
    assert links["service-doc"]["type"] == "text/html" and doc.headers["Content-Type"].startswith("text/html")
    assert b"ogcapi/api" in doc.content or b"swagger" in doc.content.lower()


def test_oas_definition_2(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/oas30/oas-definition-2 —
    the JSON document conforms to OpenAPI 3.0 (openapi-spec-validator), and its schemas
    use only what 3.0 knows."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator
    document = requests.get(ogc["ogc"] + "/api", timeout=30).json()
    validate(document, cls=OpenAPIV30SpecValidator)
    check_oas30(document)


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {(method.upper(), path): op for path, item in document["paths"].items() for method, op in item.items()}


def test_completeness(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/oas30/completeness —
    every status an operation answers (here: success, every error case, 201 and 204) is in
    the definition with a response object."""
    document = requests.get(ogc["ogc"] + "/api", timeout=30).json()
    ops = operations(document)
    done, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "raw",
                                     "outputs": {"stringOutput": {"transmissionMode": "reference"}}})
    job = done.rsplit("/", 1)[1]
    execute_op = ("POST", f"/processes/{ECHO}/execution")
    calls = [(("GET", "/"), "get", "/", None), (("GET", "/processes"), "get", "/processes?limit=0", None),
             (("GET", "/processes/{processID}"), "get", "/processes/no.such", None),
             (("GET", "/jobs"), "get", "/jobs?status=nothing", None),
             (("GET", "/jobs/{jobID}"), "get", "/jobs/nothing", None),
             (("GET", "/jobs/{jobID}/results"), "get", f"/jobs/{job}/results", None),
             (("GET", "/jobs/{jobID}/results/{outputID}"), "get", f"/jobs/{job}/results/stringOutput", None),
             (("GET", "/jobs/{jobID}/results/{outputID}"), "get", f"/jobs/{job}/results/nothing", None),
             (execute_op, "post", execute_op[1], {"inputs": INPUTS}),
             (execute_op, "post", execute_op[1], {"inputs": {}}),
             (execute_op, "post", execute_op[1], {"inputs": INPUTS, "response": "x"}),
             (execute_op, "post", execute_op[1], {"inputs": INPUTS, "outputs": {
                 "stringOutput": {"transmissionMode": "reference"}}}),
             (("DELETE", "/jobs/{jobID}"), "delete", f"/jobs/{job}", None)]
    answered = set()
    for key, method, url, body in calls:
        response = getattr(requests, method)(ogc["ogc"] + url, json=body, timeout=60)
        assert str(response.status_code) in ops[key]["responses"], (key, response.status_code)
        answered.add(response.status_code)
    answer = execute(ogc["ogc"], {"inputs": INPUTS}, "respond-async")
    assert str(answer.status_code) in ops[execute_op]["responses"]
    assert {200, 201, 204, 400, 404, 422} <= answered | {answer.status_code}
    for key, op in ops.items():
        for code, response in op["responses"].items():
            assert "description" in response, (key, code)


def test_exceptions_codes(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/oas30/exceptions-codes —
    the error statuses that arise from the server are in the definition: 401 (no key) and
    429 (rate) on every operation, 404 wherever a path names a process or a job, and an
    exception document (or the server's own shape, for 414/431) for each."""
    ops = operations(requests.get(ogc["ogc"] + "/api", timeout=30).json())
    for (method, path), op in ops.items():
        codes = set(op["responses"])
        assert {"401", "429", "414", "431"} <= codes or path == "/api" and {"401", "429"} <= codes, (method, path)
        if "{" in path or path.startswith("/processes/"):
            assert "404" in codes, (method, path)
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")) and code not in ("414", "431"):
                schema = response["content"][JSON]["schema"]
                assert schema == {"$ref": "#/components/schemas/exception"}, (method, path, code)


def test_oas_impl(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/oas30/oas-impl —
    every operation of the definition is implemented: none answers 404 for its route or 405."""
    document = requests.get(ogc["ogc"] + "/api", timeout=30).json()
    location, _ = run_async(ogc["ogc"], {"inputs": INPUTS, "response": "document"})
    job = location.rsplit("/", 1)[1]
    for (method, path), op in sorted(operations(document).items(), key=lambda item: item[0][0] == "DELETE"):
        url = path.replace("{jobID}", job).replace("{processID}", ECHO).replace("{outputID}", "stringOutput")
        body = {"inputs": INPUTS} if method == "POST" else None
        response = requests.request(method, ogc["ogc"] + url, json=body, timeout=60)
        assert response.status_code not in (404, 405, 501), (method, path, response.text[:200])
        assert str(response.status_code) in op["responses"], (method, path, response.status_code)


def test_security(ogc):
    """http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/oas30/security —
    the access control (bearer key or X-API-Key, when keys are on) is in the definition."""
    document = requests.get(ogc["ogc"] + "/api", timeout=30).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert {"bearer": []} in document["security"] and {"apiKey": []} in document["security"]

