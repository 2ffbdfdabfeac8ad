"""The OpenAPI 3.1 document of the gateway, derived from the model declarations."""
from __future__ import annotations

from typing import Any, Sequence

from . import __version__
from .plugins import App

_ERROR = {"$ref": "#/components/schemas/Error"}
_JOB = {"$ref": "#/components/schemas/Job"}


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


def _model_paths(app: App, model: Any, components: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "object", "required": ["inputs"],
                            "properties": {"inputs": _inputs_schema(app, model, components)}}
    content: dict[str, Any] = {"application/json": {"schema": body}}
    if model.upload_field:
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": {
            model.upload_field: {"type": "string", "format": "binary"}}}}
    post = {"summary": model.title, "description": model.description,
            "operationId": f"run_{app.name}_{model.name}", "tags": [app.name],
            "requestBody": {"required": True, "content": content},
            "responses": {"202": {"description": "job accepted",
                                  "headers": {"Location": {"schema": {"type": "string"}}},
                                  "content": {"application/json": {"schema": _JOB}}},
                          **_error_responses(400, 413, 415, 422, 503)}}
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
                      **_error_responses(400, 404, 503)}}}


def openapi_document(apps: Sequence[App]) -> dict[str, Any]:
    components: dict[str, Any] = {
        "Error": {"type": "object", "required": ["code", "status", "message"], "properties": {
            "code": {"type": "integer"}, "status": {"type": "string"}, "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}}}},
        "Job": {"type": "object", "required": ["job_id", "status"], "properties": {
            "job_id": {"type": "string", "format": "uuid"}, "id": {"type": "string"},
            "status": {"enum": ["PENDING", "STARTED", "SUCCESS", "FAILURE", "REVOKED"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "data": {"type": "object"}, "error": {"type": "string"}}},
    }
    paths: dict[str, Any] = {
        "/jobs/{job_id}": {"get": {
            "summary": "A job, gateway-wide", "operationId": "get_job",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": _JOB}}},
                          **_error_responses(404, 503)}}},
        "/healthz": {"get": {"summary": "Liveness", "operationId": "healthz",
                             "responses": {"200": {"description": "alive"}}}},
        "/readyz": {"get": {"summary": "Readiness of broker and store", "operationId": "readyz",
                            "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
    }
    for app in apps:
        if app.factory:  # an old-way app describes its own routes
            continue
        paths[f"{app.prefix}/data"] = _data_path(app)
        for model in app.models:
            paths.update(_model_paths(app, model, components))
    return {"openapi": "3.1.0",
            "info": {"title": "flask_qed", "version": __version__,
                     "description": "Scientific models as jobs: POST inputs, poll the job."},
            "paths": paths, "components": {"schemas": components}}
