"""The OGC face's API document (OpenAPI 3.0), derived from the model declarations."""
from __future__ import annotations

from typing import Any

from ...errors import TITLES
from ...jobs.status import NATIVE
from ...model import Model
from ...plugins import App
from ..openapi import document
from .describe import TRANSMISSION, execute_example, input_schemas, is_array_schema
from .schemas import to_oas30

JSON = "application/json"
MAX_LIMIT = 10_000  # most processes or jobs one page may hold
# A process list without ``limit`` holds every process (the standard leaves the default
# to the server): a client that reads one page sees the whole catalogue.
PROCESS_LIMIT = MAX_LIMIT
OAS30 = "application/vnd.oai.openapi+json;version=3.0"


RESULTS_NOTE = ("the outputs: with response=document a JSON object {output id: value}, an output "
                "asked by reference a link {href, rel, type, title} to /jobs/{jobID}/results/{outputID}; "
                "with response=raw one output's value alone (any JSON value), several outputs as "
                "multipart/related parts (by reference: an empty part with Content-Location)")


def openapi30(processes: dict[str, tuple[App, Model]]) -> dict[str, Any]:
    """The OGC face described in OpenAPI 3.0 (what OWSLib and most OGC clients read)."""
    # Longer than a function should be: a declarative document, read top to bottom like
    # the standard's own; cut into pieces it would only be harder to hold against it.
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    doc = lambda desc, schema, ctype=JSON: {"description": desc, "content": {ctype: {"schema": schema}}}  # noqa: E731
    errors = lambda *codes: {str(c): doc(TITLES.get(c, "error"), ref("exception")) for c in codes}  # noqa: E731
    link = {"type": "object", "required": ["href"], "properties": {
        k: {"type": "string"} for k in ("href", "rel", "type", "hreflang", "title")}}
    status_schema = {"type": "object", "required": ["type", "jobID", "status"], "properties": {
        "type": {"type": "string", "enum": ["process"]}, "jobID": {"type": "string"},
        "processID": {"type": "string"},
        "status": {"type": "string", "enum": list(NATIVE)}, "message": {"type": "string"},
        **{k: {"type": "string", "format": "date-time"} for k in ("created", "started", "finished", "updated")},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "label": {"type": "string", "maxLength": 200},
        "links": {"type": "array", "items": ref("link")}}}
    subscriber = {"type": "object", "properties": {
        k: {"type": "string", "format": "uri"} for k in ("successUri", "inProgressUri", "failedUri")}}
    components: dict[str, Any] = {
        "link": link, "statusInfo": status_schema, "subscriber": subscriber,
        "exception": {"type": "object", "required": ["type"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "instance": {"type": "string"}}, "additionalProperties": True},
        "landingPage": {"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"},
            "links": {"type": "array", "items": ref("link")}}},
        "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "processList": {"type": "object", "required": ["processes", "links"], "properties": {
            "processes": {"type": "array", "items": {"type": "object"}},
            "links": {"type": "array", "items": ref("link")}}},
        "jobList": {"type": "object", "required": ["jobs", "links"], "properties": {
            "jobs": {"type": "array", "items": ref("statusInfo")},
            "links": {"type": "array", "items": ref("link")}}},
        "results": {"type": "object", "additionalProperties": True,
                    "description": "response=document: {output id: value}"},
        # response=raw with one output sends that output's value alone: an array for a
        # batch or a series, a number, a string, an object, or null where a number was NaN.
        "rawValue": {"nullable": True, "description": "response=raw, one output: its value alone",
                     "anyOf": [{"type": t} for t in ("object", "array", "number", "string", "boolean")]},
    }
    outputs = {"anyOf": [ref("results"), ref("rawValue")]}
    by_reference = {"description": "response=raw with every output by reference: no content, a Link "
                                   "header to each output (/jobs/{jobID}/results/{outputID})",
                    "headers": {"Link": {"schema": {"type": "string"}}}}
    job_param = {"name": "jobID", "in": "path", "required": True, "schema": {"type": "string"}}
    array_param = lambda name: {"name": name, "in": "query", "required": False, "style": "form",  # noqa: E731
                                "explode": False, "schema": {"type": "array", "items": {"type": "string"}}}
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "Landing page", "operationId": "ogc_landing", "tags": ["ogc"],
                      "responses": {"200": doc("links to the API", ref("landingPage")), **errors(401, 429)}}},
        "/conformance": {"get": {"summary": "Conformance classes", "operationId": "ogc_conformance",
                                 "tags": ["ogc"],
                                 "responses": {"200": doc("conformance classes", ref("confClasses")),
                                               **errors(401, 429)}}},
        "/api": {"get": {"summary": "This API definition", "operationId": "ogc_api", "tags": ["ogc"],
                         "responses": {"200": doc("OpenAPI 3.0", {"type": "object"}, OAS30),
                                       **errors(401, 429)}}},
        "/processes": {"get": {
            "summary": "The processes", "operationId": "ogc_processes", "tags": ["ogc"],
            "parameters": [
                {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": PROCESS_LIMIT}},
                {"name": "offset", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "default": 0}}],
            "responses": {"200": doc("process summaries", ref("processList")), **errors(400, 401, 429)}}},
        "/processes/{processID}": {"get": {
            "summary": "A process description", "operationId": "ogc_process", "tags": ["ogc"],
            "parameters": [{"name": "processID", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(processes)}}],
            "responses": {"200": doc("the process description", {"type": "object"}),
                          **errors(401, 404, 429)}}},
        "/jobs": {"get": {
            "summary": "Jobs, newest first (with keys on: the caller's own)", "operationId": "ogc_jobs",
            "tags": ["ogc"],
            "parameters": [array_param("processID"), array_param("status"), array_param("type"),
                           {"name": "datetime", "in": "query", "required": False, "schema": {"type": "string"}},
                           *({"name": n, "in": "query", "required": False,
                              "schema": {"type": "integer", "minimum": 0}} for n in ("minDuration", "maxDuration")),
                           {"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
                           {"name": "next", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": doc("a page of jobs", ref("jobList")), **errors(400, 401, 429, 503)}}},
        "/jobs/{jobID}": {
            "get": {"summary": "A job's status", "operationId": "ogc_job", "tags": ["ogc"],
                    "parameters": [job_param],
                    "responses": {"200": doc("statusInfo", ref("statusInfo")), **errors(401, 404, 429, 503)}},
            "delete": {"summary": "Dismiss a job", "operationId": "ogc_dismiss", "tags": ["ogc"],
                       "parameters": [job_param],
                       "responses": {"200": doc("statusInfo, dismissed", ref("statusInfo")),
                                     **errors(401, 404, 429, 503)}}},
        "/jobs/{jobID}/results": {"get": {
            "summary": "A job's results", "operationId": "ogc_results", "tags": ["ogc"],
            "parameters": [job_param],
            "responses": {"200": {"description": RESULTS_NOTE, "content": {
                JSON: {"schema": outputs}, "multipart/related": {"schema": {"type": "string"}}}},
                "204": by_reference, **errors(401, 404, 422, 429, 500, 503)}}},
        "/jobs/{jobID}/results/{outputID}": {"get": {
            "summary": "One output of a job (where an output sent by reference points)",
            "operationId": "ogc_result", "tags": ["ogc"],
            "parameters": [job_param, {"name": "outputID", "in": "path", "required": True,
                                       "schema": {"type": "string"}}],
            "responses": {"200": doc("the output's value, as the results give it", ref("rawValue")),
                          **errors(401, 404, 422, 429, 500, 503)}}},
    }
    for pid, (app, model) in processes.items():
        props, required = input_schemas(model)
        inputs: dict[str, Any] = {}
        for name, prop in props.items():
            one = to_oas30(prop)
            qualified = {"type": "object", "required": ["value"], "properties": {"value": one}}
            alternatives = [one, qualified]
            if model.batch:
                alternatives.append({"type": "array", "items": one, "minItems": 1, "maxItems": model.max_rows})
            inputs[name] = {"oneOf": alternatives} if not model.batch or not is_array_schema(prop) \
                else {"anyOf": alternatives}
        body = {"type": "object", "required": ["inputs"], "properties": {
            "inputs": {"type": "object", "properties": inputs, "required": sorted(required)},
            "outputs": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "transmissionMode": {"type": "string", "enum": list(TRANSMISSION), "default": "value"}}}},
            "response": {"type": "string", "enum": ["raw", "document"], "default": "raw"},
            "subscriber": ref("subscriber")}}
        media: dict[str, Any] = {"schema": body}
        example = execute_example(model)
        if example is not None:
            media["example"] = example
        paths[f"/processes/{pid}/execution"] = {"post": {
            "summary": f"Execute {pid}: {model.title}", "description": model.description,
            "operationId": f"ogc_execute_{pid.replace('.', '_')}", "tags": [app.name],
            "parameters": [{"name": "Prefer", "in": "header", "required": False,
                            "schema": {"type": "string"},
                            "description": "respond-async: answer 201 at once; wait=N: wait at most N s"}],
            "requestBody": {"required": True, "content": {JSON: media}},
            "responses": {"200": {"description": "the results (synchronous): " + RESULTS_NOTE, "content": {
                JSON: {"schema": outputs}, "multipart/related": {"schema": {"type": "string"}}}},
                "201": {"description": "the job (asynchronous)", "headers": {
                    "Location": {"schema": {"type": "string"}},
                    "Preference-Applied": {"schema": {"type": "string"}}},
                    "content": {JSON: {"schema": ref("statusInfo")}}},
                "204": by_reference, **errors(400, 401, 404, 413, 415, 422, 429, 500, 503)}}}
    for item in paths.values():  # refused by the HTTP server itself, before any route
        for operation in item.values():
            operation["responses"].update({str(code): {
                "description": f"{TITLES[code]}: refused by the HTTP server before any route, in the "
                               "gateway's native error shape (the path is not read yet)",
                "content": {JSON: {"schema": {"type": "object", "required": ["code", "message"]}}}}
                for code in (414, 431)})
    return document("3.0.3", "flask_qed: OGC API - Processes",
                    "The gateway's models as OGC API - Processes - Part 1: Core.", paths, components)
