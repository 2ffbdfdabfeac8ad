"""EPA's pram_flask routes, answered the way pram_flask answered them.

Clients written for pram_flask (EPA's pram_app among them) call::

    GET  /rest/pram/<model>/          -> the answer's shape, every field marked "string" or "number"
    POST /rest/pram/<model>/<jobId>   -> {"user_id", "inputs", "outputs", "exp_out", "_id", "run_type"}

and wait for the answer in the same request. Here the POST is an ordinary job:
validated like any other, written to the store, run by a worker. The request
then waits for the job in the store, up to ``QED_REST_WAIT`` seconds (30 by
default, read once at start-up); a job that takes longer is answered 202 with
the URL to poll. Waiting takes one of the process's few waiting slots
(``QED_MAX_WAITERS``, see :mod:`flask_qed.jobs.waiting`); with none free the answer
is that 202 at once. ``_id`` is the client's ``jobId``, echoed as pram_flask did;
``job_id`` is the gateway's own id of the job.

pram_app posts its body as a JSON string that contains the JSON (it encodes
twice); such a body is decoded. Values may be strings, blanks may be "". A body
nested deeper than ``MAX_DEPTH`` levels (pram_flask's are 3 deep) is refused
(400) before it reaches validation.
"""
from __future__ import annotations

import json
from typing import Any

from celery import Celery
from flask import request

from .. import jobs
from ..errors import ApiError
from ..jobs import submit
from ..jobs.waiting import wait_for_job
from ..model import InputError, Model
from ..plugins import App
from ..runtime import Runtime
from ..streamjson import NameTwice, NotUnicode, refuse_lone_surrogates
from ..validation import short_value
from .cache_control import cache_allowed
from .flaskapp import new_app
from .security import client_of

PREFIX = "/rest"
# Deepest nesting of a body (a JSON string inside counts from where it sits). Far
# above what a run needs, far below where Python's recursion limit breaks parsing.
MAX_DEPTH = 32


def mount(runtime: Runtime, celery: Celery, app_name: str = "pram") -> dict[str, Any]:
    """``/rest/<app>/<model>/`` for every declared model of the app (if it is installed)."""
    app = runtime.app(app_name)
    if app is None or app.factory:
        return {}
    rest = new_app("flask_qed.rest", runtime)
    wait = runtime.settings.rest_wait
    models = {m.name: m for m in app.models}

    def model_for(model: str) -> Model:
        if model not in models:
            raise ApiError(404, f"no model {model!r} under /rest/{app.name}/; "
                                f"models: {', '.join(sorted(models))}")
        return models[model]

    @rest.get(f"/{app.name}/<model>/")
    @rest.get(f"/{app.name}/<model>/<job_id>")
    def rest_schema(model: str, job_id: str = "YYYYMMDDHHMMSSuuuuuu") -> Any:
        return schema(model_for(model), job_id)

    @rest.post(f"/{app.name}/<model>/<job_id>")
    def rest_run(model: str, job_id: str) -> Any:
        return run(app, model_for(model), job_id, runtime, celery, wait)

    return {PREFIX: rest.wsgi_app}


def schema(model: Model, job_id: str) -> dict[str, Any]:
    """pram_flask's GET answer: the POST answer's shape with each value's type."""
    props = model.inputs.model_json_schema().get("properties", {})
    inputs = {name: {"0": "number" if _numeric(prop) else "string"} for name, prop in props.items()}
    outputs = {name: {"0": "string" if meta.get("units") == "text" else "number"}
               for name, meta in model.outputs.items()}
    return {
        "notes": {
            "info": "The shape of the answer to a POST: the run's inputs and outputs in column form "
                    "({name: {run: value}}) and _id, the jobId of the URL.",
            "POST": 'POST {"inputs": {name: {"0": value}}, "run_type": "single"} to '
                    f"/rest/pram/{model.name}/<jobId>",
            "GET": "This description.",
            "www": f"/pram/{model.name} describes the inputs with units and valid ranges",
        },
        "user_id": "user_id", "inputs": inputs, "outputs": outputs, "exp_out": None,
        "_id": job_id, "run_type": "single",
    }


def _numeric(prop: dict[str, Any]) -> bool:
    kinds = [prop.get("type")] + [p.get("type") for p in prop.get("anyOf", [])]
    return any(k in ("number", "integer") for k in kinds)


def read_body() -> dict[str, Any]:
    """The JSON body, decoded twice if it is a JSON string holding JSON (as pram_app sends it)."""
    raw = request.get_data(cache=True)
    try:
        refuse_lone_surrogates(raw)  # the bytes searched as they are: no copy decoded for it
        body = json.loads(raw, object_pairs_hook=_once) if raw else None
        if isinstance(body, str):
            refuse_lone_surrogates(body)
            body = json.loads(body, object_pairs_hook=_once)
    except NameTwice as exc:
        raise InputError([{"run": None, "field": str(short_value(exc.name)), "value": None,
                           "rule": f"named twice in {exc.where}: give each once"}]) from None
    except NotUnicode as exc:
        raise ApiError(400, f"the body is not Unicode text: {exc}") from None
    except RecursionError:  # the parser's own stack ran out: nested far too deep
        raise ApiError(400, f"the body is not valid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise ApiError(400, "the body is not valid JSON") from None
    if nested_deeper(body, MAX_DEPTH):
        raise ApiError(400, f"the body is nested deeper than {MAX_DEPTH} levels; "
                            '{"inputs": {name: {run: value}}} is 3')
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object: {"inputs": {...}, "run_type": "single"}')
    if "inputs" not in body:
        raise InputError([{"run": None, "field": "inputs", "value": None, "rule": "required"}])
    return body


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of the body, each member named once (a legacy body is a run or a few:
    every object is checked, at any depth)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        twice = next(name for name, _ in pairs if name in seen or seen.add(name))
        raise NameTwice(twice, "an object of the body")
    return found


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value holds arrays or objects nested more than ``limit`` deep
    (walked without recursion, so that depth itself cannot break the walk)."""
    level = [value]
    for _ in range(limit + 1):
        inner = [v for item in level if isinstance(item, (dict, list))
                 for v in (item.values() if isinstance(item, dict) else item)]
        if not inner:
            return False
        level = inner
    return any(isinstance(v, (dict, list)) for v in level)


def run(app: App, model: Model, client_id: str, runtime: Runtime, celery: Celery, wait: float) -> Any:
    """Submit a normal job, wait for it in the store, answer in pram_flask's form."""
    body = read_body()
    job_id = submit.submit(runtime, celery, app, model, body["inputs"], client_of(request.environ),
                           on_invalid=body.get("on_invalid", "fail"),
                           cache=cache_allowed(body, request.headers.getlist("Cache-Control")), waits=True)
    run_type = body.get("run_type") if isinstance(body.get("run_type"), str) else "single"
    record = wait_for_job(runtime, job_id, wait, data=True)
    if record is None or record["status"] not in jobs.TERMINAL:
        location = f"{app.prefix}/data?job_id={job_id}"
        why = (f"still running after {wait:g} s" if record is not None else
               "the gateway is already waiting for as many jobs as it may (QED_MAX_WAITERS)")
        return ({"_id": client_id, "job_id": job_id, "run_type": run_type,
                 "status": record["status"] if record is not None else jobs.PENDING,
                 "url": location, "message": f"{why}: poll {location}"},
                202, {"Location": location})
    if record["status"] != jobs.SUCCESS:  # the inputs passed validation but the run failed
        raise ApiError(422, f"the {model.name} run did not finish: {record['status']}"
                            + (f": {record['error']}" if record.get("error") else ""))
    data = record.get("data") or {}
    # pram_flask echoed every input the client sent; the stored data keeps only those a run used
    sent = body["inputs"] if isinstance(body["inputs"], dict) else {}
    inputs = {**sent, **data.get("inputs", {})}
    answer = {"user_id": "admin", "inputs": inputs, "outputs": data.get("outputs", {}),
              "exp_out": None, "_id": client_id, "run_type": run_type, "job_id": job_id}
    if data.get("errors"):
        answer["errors"] = data["errors"]
    return answer


def openapi_paths(apps: Any, app_name: str = "pram") -> dict[str, Any]:
    """The OpenAPI entries of these routes (empty without the app)."""
    app = next((a for a in apps if a.name == app_name and not a.factory), None)
    if app is None:
        return {}
    model = {"name": "model", "in": "path", "required": True,
             "schema": {"enum": [m.name for m in app.models]}}
    job = {"name": "jobId", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "the client's id, echoed as _id"}
    return {
        f"/rest/{app.name}/{{model}}/": {"get": {
            "summary": "pram_flask: the shape of a run's answer", "tags": ["rest"],
            "operationId": f"rest_{app.name}_schema", "parameters": [model],
            "responses": {"200": {"description": "inputs and outputs, each marked string or number"}}}},
        f"/rest/{app.name}/{{model}}/{{jobId}}": {"post": {
            "summary": "pram_flask: run and wait for the answer", "tags": ["rest"],
            "operationId": f"rest_{app.name}_run", "parameters": [model, job],
            "description": "The body {\"inputs\": {...}, \"run_type\": \"single\"}, or a JSON string "
                           "holding it. Waits up to QED_REST_WAIT seconds for the job (none when "
                           "QED_MAX_WAITERS requests of the process wait already).",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
            "responses": {"200": {"description": "user_id, inputs, outputs, exp_out, _id, run_type, job_id"},
                          "202": {"description": "still running: job_id and the url to poll"},
                          "400": {"description": "malformed body (or nested too deep)"}, "404": {"description": "unknown model"},
                          "422": {"description": "invalid inputs"}, "503": {"description": "queue or store down"}}}},
    }
