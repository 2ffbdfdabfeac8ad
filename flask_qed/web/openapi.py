"""The OpenAPI 3.1 document of the gateway, derived from the model declarations."""
from __future__ import annotations

from typing import Any, Sequence

from ..version import __version__
from ..jobs.states import State
from ..plugins import App

_ERROR = {"$ref": "#/components/schemas/Error"}
_JOB = {"$ref": "#/components/schemas/Job"}
_PREFER = {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
           "description": "wait=N (RFC 7240): wait up to N s (at most QED_SYNC_WAIT) for the job to end"}
_SUBSCRIBER = {"type": "object", "description": "URLs the worker POSTs the job's OGC statusInfo to "
               "(hosts on QED_CALLBACK_ALLOWLIST only)", "additionalProperties": False, "properties": {
                   k: {"type": "string", "format": "uri"} for k in ("successUri", "failedUri", "inProgressUri")}}
_CACHE = {"type": "boolean", "default": True, "description": "false: run again, never answered from an "
          "identical job's result (see the result cache in docs/api.md)"}
_LABEL = {"type": "string", "maxLength": 200, "description": "your name for the job, plain text on one line; "
          "shown in job records and listings, never part of the inputs or of the result cache's match"}
_CACHE_CONTROL = {"name": "Cache-Control", "in": "header", "required": False, "schema": {"type": "string"},
                  "description": "no-cache: run again, never answered from an identical job's result"}


def _error_responses(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
            for c in codes}


def _inputs_schema(app: App, model: Any, components: dict[str, Any]) -> dict[str, Any]:
    name = f"{app.name}.{model.name}.Inputs"
    schema = model.inputs.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[name] = schema
    ref = {"$ref": f"#/components/schemas/{name}"}
    if not model.batch:
        return ref
    column = {"type": "object", "additionalProperties": {"type": "object"},
              "description": 'ubertool column form: {"field": {"0": value, ...}}'}
    return {"oneOf": [ref, {"type": "array", "items": ref, "minItems": 1}, column]}


def _given_back(app: str, model: str) -> dict[str, Any]:
    """What ``GET /jobs/{job_id}/inputs`` adds to the inputs, taken so that it is sent again as it is."""
    said = "as GET /jobs/{job_id}/inputs gives it (sent again as it is)"
    return {"job_id": {"type": "string", "description": f"the job the inputs came from, {said}; not used"},
            "runs": {"type": "integer", "description": f"how many runs, {said}; not used"},
            "app": {"const": app, "description": f"{said}: must be this route's"},
            "model": {"const": model, "description": f"{said}: must be this route's"}}


def _model_paths(app: App, model: Any, components: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "object", "required": ["inputs"], "additionalProperties": False,
                            "properties": {"inputs": _inputs_schema(app, model, components),
                                           "subscriber": _SUBSCRIBER, "cache": _CACHE, "label": _LABEL,
                                           "on_invalid": {
                                               "enum": ["fail", "skip"], "default": "fail",
                                               "description": "skip: compute the valid runs, report "
                                                              "the invalid ones under data.errors"},
                                           **_given_back(app.name, model.name)}}
    content: dict[str, Any] = {"application/json": {"schema": body}}
    if model.example is not None:  # the declared example run: "Try it out" posts a body that runs
        content["application/json"]["example"] = {"inputs": dict(model.example)}
    if model.batch:
        content["text/csv"] = {"schema": {"type": "string", "description":
                                          "a header row of input names, then one run per line "
                                          "(?on_invalid=skip keeps the valid runs)"}}
    if model.upload_field:
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": {
            model.upload_field: {"type": "string", "format": "binary"}}}}
    query = [{"name": "cache", "in": "query", "required": False, "schema": {"type": "boolean"},
              "description": "false: run again (as the body's cache; true/false, 1/0, yes/no)"},
             {"name": "label", "in": "query", "required": False, "schema": _LABEL},
             {"name": "units", "in": "query", "required": False, "schema": {"type": "boolean"},
              "description": "1: a CSV answer's header names each column's units"},
             {"name": "f", "in": "query", "required": False, "schema": {"enum": ["json", "csv"]},
              "description": "the waited answer's format (as Accept)"}]
    if model.batch:
        query.append({"name": "on_invalid", "in": "query", "required": False,
                      "schema": {"enum": ["fail", "skip"], "default": "fail"},
                      "description": "skip: compute the valid runs (as the body's on_invalid)"})
    finished: dict[str, Any] = {"application/json": {"schema": _JOB}}
    if model.batch:
        finished["text/csv"] = {"schema": {"type": "string", "description":
                                           "with Accept: text/csv (or ?f=csv), the runs' table alone "
                                           "(Skipped-Runs names how many were left out as invalid)"}}
    post = {"summary": model.title, "description": model.description,
            "operationId": f"run_{app.name}_{model.name}", "tags": [app.name],
            "parameters": [_PREFER, _CACHE_CONTROL, *query],
            "requestBody": {"required": True, "content": content},
            "responses": {"200": {"description": "with Prefer: wait=N, the finished job (as /<app>/data "
                                                 "gives it) when it ends within N s",
                                  "headers": {"Preference-Applied": {"schema": {"type": "string"}}},
                                  "content": finished},
                          "202": {"description": "job accepted",
                                  "headers": {"Location": {"schema": {"type": "string"}}},
                                  "content": {"application/json": {"schema": _JOB}}},
                          **_error_responses(400, 401, 413, 415, 422, 429, 503)}}
    get = {"summary": f"Describe {model.name}", "operationId": f"describe_{app.name}_{model.name}",
           "tags": [app.name], "responses": {"200": {"description": "inputs, outputs, units"}}}
    paths = {f"{app.prefix}/{model.name}": {"post": post, "get": get}}
    for alias in model.aliases:
        paths[f"{app.prefix}/{alias.strip('/')}"] = {
            "post": {**post, "operationId": f"{post['operationId']}_{alias.replace('/', '_')}"},
            "get": {**get, "operationId": f"{get['operationId']}_{alias.replace('/', '_')}"}}
    return paths


def _data_path(app: App) -> dict[str, Any]:
    return {"get": {
        "summary": f"Poll a {app.name} job", "operationId": f"poll_{app.name}", "tags": [app.name],
        "parameters": [{"name": "job_id", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": _JOB}}},
                      **_error_responses(400, 401, 404, 429, 503)}}}


def openapi_document(apps: Sequence[App], extra_paths: dict[str, Any] | None = None) -> dict[str, Any]:
    """The native API as OpenAPI 3.1; ``extra_paths``: the other faces' routes that
    belong in it (``/rest/pram``)."""
    # Longer than a function should be: a declarative document, read top to bottom.
    components: dict[str, Any] = {
        "Error": {"type": "object", "required": ["code", "status", "message"], "properties": {
            "code": {"type": "integer"}, "status": {"type": "string"}, "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}}}},
        "Job": {"type": "object", "required": ["job_id", "status"], "properties": {
            "job_id": {"type": "string", "format": "uuid"}, "id": {"type": "string"},
            "status": {"enum": [s.value for s in State]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "data": {"type": "object"}, "error": {"type": "string"},
            "cached_from": {"type": "string", "description": "the job whose result answered this one"},
            "label": _LABEL}},
    }
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "The mounted apps and their models", "operationId": "index",
                      "responses": {"200": {"description": "the apps"}, **_error_responses(401, 429)}}},
        "/jobs/{job_id}": {
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "summary": "A job, gateway-wide (with Prefer: wait=N, once it ends or N s pass)",
                "operationId": "get_job", "parameters": [_PREFER],
                "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": _JOB}}},
                              **_error_responses(401, 404, 429, 503)}},
            "delete": {
                "summary": "Cancel a job not yet finished", "operationId": "cancel_job",
                "responses": {"200": {"description": "the job, now REVOKED",
                                      "content": {"application/json": {"schema": _JOB}}},
                              **_error_responses(401, 404, 409, 429, 503)}}},
        "/jobs/{job_id}/status": {"get": {
            "summary": "A job without its data (for poll loops; Prefer: wait=N makes it a long poll)",
            "operationId": "get_job_status",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           _PREFER],
            "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": _JOB}}},
                          **_error_responses(401, 404, 429, 503)}}},
        "/jobs/{job_id}/results": {"get": {
            "summary": "A finished job's data alone; Accept: text/csv gives one row per run",
            "operationId": "get_job_results",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "f", "in": "query", "required": False,
                            "schema": {"enum": ["json", "csv"]}},
                           {"name": "units", "in": "query", "required": False,
                            "description": "CSV: head each column with declared units 'name (units)'",
                            "schema": {"enum": ["1", "0", "true", "false", "yes", "no"]}}],
            "responses": {"200": {"description": "the data", "content": {
                "application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}},
                **_error_responses(400, 401, 404, 406, 409, 429, 503)}}},
        "/jobs/{job_id}/results/{output}": {"get": {
            "summary": "One output of a finished job; Accept: text/csv gives a column, series or table as CSV",
            "description": "404 names the job's outputs when it has none of this name.",
            "operationId": "get_job_output",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "output", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "f", "in": "query", "required": False,
                            "schema": {"enum": ["json", "csv"]}}],
            "responses": {"200": {"description": "the output's value", "content": {
                "application/json": {"schema": {}}, "text/csv": {"schema": {"type": "string"}}}},
                **_error_responses(400, 401, 404, 406, 409, 429, 503)}}},
        "/jobs/{job_id}/skipped": {"get": {
            "summary": "The runs a batch skipped as invalid (on_invalid: skip) and their errors; "
                       "Accept: text/csv gives run,field,value,rule lines",
            "operationId": "get_job_skipped",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "f", "in": "query", "required": False,
                            "schema": {"enum": ["json", "csv"]}}],
            "responses": {"200": {"description": "job_id, skipped (how many runs) and errors by run", "content": {
                "application/json": {"schema": {"type": "object", "required": ["job_id", "skipped", "errors"]}},
                "text/csv": {"schema": {"type": "string"}}}},
                **_error_responses(400, 401, 404, 406, 409, 429, 503)}}},
        "/jobs/{job_id}/inputs": {"get": {
            "summary": "The inputs a job ran, ready to send again: an object for one run, rows for a batch",
            "operationId": "get_job_inputs",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "job_id, app, model, label, runs and inputs",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["job_id", "runs", "inputs"]}}}},
                          **_error_responses(401, 404, 413, 429, 503)}}},
        "/jobs/{job_id}/prov": {"get": {
            "summary": "A job's provenance, W3C PROV-JSON (inputs, model, versions, worker, times, "
                       "and the job a cached result came from)", "operationId": "get_job_prov",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the PROV-JSON document", "content": {"application/json": {
                "schema": {"type": "object", "required": ["prefix"]}}}},
                **_error_responses(401, 404, 429, 503)}}},
        "/jobs": {"get": {
            "summary": "Jobs newest first (with keys on: the caller's own)", "operationId": "list_jobs",
            "parameters": [{"name": n, "in": "query", "required": False, "schema": schema} for n, schema in (
                ("app", {"type": "string"}), ("model", {"type": "string"}),
                ("status", {"enum": [s.value for s in State]}),
                ("since", {"type": "string", "format": "date-time"}),
                ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                ("cursor", {"type": "string"}))],
            "responses": {"200": {"description": "a page of jobs and the next page's URL"},
                          **_error_responses(400, 401, 429, 503)}}},
        "/healthz": {"get": {"summary": "Liveness", "operationId": "healthz",
                             "responses": {"200": {"description": "alive"}}}},
        "/readyz": {"get": {"summary": "Readiness of broker and store", "operationId": "readyz",
                            "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
    }
    for app in apps:
        if app.factory:  # an old-way app describes its own routes
            continue
        paths[f"{app.prefix}/data"] = _data_path(app)
        paths[f"{app.prefix}/"] = {"get": {
            "summary": f"The {app.name} models", "operationId": f"list_{app.name}", "tags": [app.name],
            "responses": {"200": {"description": "the models"}, **_error_responses(401, 429)}}}
        for model in app.models:
            paths.update(_model_paths(app, model, components))
    paths.update(extra_paths or {})
    return document("3.1.0", "flask_qed", "Scientific models as jobs: POST inputs, poll the job.",
                    paths, components)


def document(version: str, title: str, description: str, paths: dict[str, Any],
             schemas: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI document of the gateway (3.1 native, 3.0 for OGC API - Processes): the
    same info, security schemes and component layout around each face's paths."""
    return {"openapi": version,
            "info": {"title": title, "version": __version__, "description": description},
            "paths": paths,
            # Needed only when the gateway has a key file (QED_API_KEYS_FILE); {} = open.
            "security": [{}, {"bearer": []}, {"apiKey": []}],
            "components": {"schemas": schemas, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}}}
