"""OGC API – Processes – Part 1: Core (OGC 18-062r2), mounted under ``/ogcapi``.

Every declared model is a process whose id is its task name (``pram.rice``,
``hms.percent_area``); its description is derived from the model declaration,
like the native description and the OpenAPI entry. An execution is a job like
any other: it goes through the native submit path (validation, quotas, owner,
the store record, the Celery task), so ``/jobs/<id>`` and ``/ogcapi/jobs/<id>``
are two views of one record.

Mapping to the native vocabulary:

* status: PENDING → accepted, STARTED → running, SUCCESS → successful,
  FAILURE → failed, REVOKED → dismissed.
* a batch model (PRAM) takes each input as one value (one run) or as an array
  (one value per run; a single value beside arrays applies to every run);
  outputs follow: one value, or an array in run order.
* execution mode: ``Prefer: respond-async`` → 201 and a job; otherwise the
  request waits up to ``QED_SYNC_WAIT`` seconds (or the ``wait=`` preference,
  if shorter) for the result and answers it, else answers as if asynchronous;
  it answers so at once when the process already has ``QED_MAX_WAITERS``
  requests waiting (:mod:`flask_qed.waiters`).
* inputs by reference (``href``) are refused: the server fetches no URL for a client.

Errors are OGC exception documents (``type``, ``title``, ``status``, ``detail``),
for every answer under ``/ogcapi/`` whoever makes it (the front door's 401 and
429 too: :func:`flask_qed.errors.error_body`); the rest of the gateway keeps its
own error shape.
"""
from __future__ import annotations

import base64
import copy
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from celery import Celery
from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest, HTTPException

from .wsgi import empty_path_is_root
from . import __version__, jobs, jsonutil
from .errors import (OGC_EXCEPTIONS, TITLES, ApiError, BrokerUnavailable, is_broker_error,
                     ogc_exception, too_large_message)
from .model import InputError, Model
from .plugins import App
from .results import is_tabular
from .runtime import Runtime
from .security import client_of, is_admin, may_see
from .stores import JobNotFound, StoreUnavailable
from .waiters import wait_for_job

logger = logging.getLogger(__name__)

SPEC = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
CONFORMANCE = [SPEC + c for c in ("core", "ogc-process-description", "json", "oas30", "job-list",
                                  "dismiss", "callback")]
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
EXC = OGC_EXCEPTIONS
OAS30 = "application/vnd.oai.openapi+json;version=3.0"
JSON = "application/json"
STATUS = {jobs.PENDING: "accepted", jobs.STARTED: "running", jobs.SUCCESS: "successful",
          jobs.FAILURE: "failed", jobs.REVOKED: "dismissed"}
NATIVE = {v: k for k, v in STATUS.items()}
MAX_LIMIT = 10_000
SCAN_LIMIT = 10_000  # most records one job-list page reads while filtering


class OgcError(Exception):
    """An error answered as an OGC exception document."""

    def __init__(self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None,
                 errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail
        self.headers, self.errors = headers or {}, errors


_TITLES = TITLES


def exception_response(status: int, kind: str, detail: str, errors: list[dict[str, Any]] | None = None,
                       headers: dict[str, str] | None = None) -> Response:
    """An exception document (:func:`~flask_qed.errors.ogc_exception`) as a response."""
    body = ogc_exception(status, kind, detail, errors)
    response = Response(jsonutil.dumps(body), status=status, mimetype=JSON)
    response.headers.update(headers or {})
    return response


# -- the process descriptions, derived from the declarations --------------------------
def process_index(apps: list[App]) -> dict[str, tuple[App, Model]]:
    """Process id (the task name) → its app and model, for every declared model."""
    return {app.task_name(m): (app, m) for app in apps if not app.factory for m in app.models}


def _inline(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """The schema with local ``$ref``s replaced by their definitions (a description
    is read input by input, without the model's ``$defs``)."""
    if depth > 20:
        return {}
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = copy.deepcopy(defs.get(ref.split("/")[-1], {}))
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return _inline({**target, **rest}, defs, depth + 1)
        return {k: _inline(v, defs, depth + 1) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, defs, depth + 1) for v in schema]
    return schema


def _is_array_schema(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return True
    return any(_is_array_schema(s) for key in ("anyOf", "oneOf") for s in schema.get(key, [])
               if isinstance(s, dict))


def input_schemas(model: Model) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Each input's JSON Schema (units kept), and the names of the required ones."""
    schema = model.inputs.model_json_schema()
    defs = schema.get("$defs", {})
    props = {name: _inline(prop, defs) for name, prop in schema.get("properties", {}).items()}
    return props, set(schema.get("required", []))


def describe(pid: str, app: App, model: Model, base: str, full: bool = True) -> dict[str, Any]:
    """A process summary, or (``full``) its description with inputs and outputs."""
    href = f"{base}/processes/{pid}"
    body: dict[str, Any] = {
        "id": pid, "title": model.title, "description": model.description, "version": model.version,
        "keywords": [app.name, model.name], "jobControlOptions": ["async-execute", "sync-execute"],
        "outputTransmission": ["value"],
        "links": [{"href": href, "rel": "self", "type": JSON, "title": f"{model.title}: description"}]}
    if not full:
        return body
    props, required = input_schemas(model)
    many = model.max_rows if model.batch else 1
    body["inputs"] = {name: {
        "title": prop.get("title", name), "description": prop.get("description", ""), "schema": prop,
        "minOccurs": 1 if name in required else 0, "maxOccurs": many} for name, prop in props.items()}
    note = ("one value for a single run, else an array with one value per run, in run order"
            if model.batch else None)
    body["outputs"] = {name: {
        "title": name, "description": spec.get("description", ""),
        "schema": {k: v for k, v in (("description", note), ("units", spec.get("units")),
                                     ("contentMediaType", JSON)) if v is not None}}
        for name, spec in model.outputs.items()}
    body["links"] += [
        {"href": f"{href}/execution", "rel": REL + "execute", "type": JSON, "title": "execute"},
        {"href": f"{base}/jobs?processID={pid}", "rel": REL + "job-list", "type": JSON,
         "title": "this process's jobs"}]
    return body


# -- inputs: OGC execute request → the native form ---------------------------------------
_QUALIFIERS = {"value", "mediaType", "encoding", "schema", "format"}


def _unwrap(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        if "href" in value and set(value) <= {"href", "rel", "type", "hreflang", "title"}:
            raise InputError([{"run": None, "field": name, "value": str(value["href"])[:200],
                               "rule": "inputs by reference are not fetched; send the value"}])
        if "value" in value and set(value) <= _QUALIFIERS:
            return value["value"]
    return value


def native_inputs(model: Model, given: Any) -> tuple[Any, bool]:
    """The native ``inputs`` for an OGC request's ``inputs``, and whether the runs
    were given as arrays (a batch: outputs are then arrays too)."""
    if not isinstance(given, dict):
        raise InputError([{"run": None, "field": "inputs", "value": None,
                           "rule": "must be an object: {input id: value}"}])
    values = {name: _unwrap(name, value) for name, value in given.items()}
    if not model.batch:
        return values, False
    props, _ = input_schemas(model)
    columns: dict[str, list[Any]] = {}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = value = [_unwrap(name, v) for v in value]
            own_array = _is_array_schema(props.get(name, {}))
            if not own_array or (value and all(isinstance(v, list) for v in value)):
                columns[name] = value
    if not columns:
        return values, False
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise InputError([{"run": None, "field": ", ".join(sorted(columns)), "value": sorted(lengths),
                           "rule": "array-valued inputs must all hold one value per run (the same, "
                                   "non-zero length)"}])
    runs = lengths.pop()
    rows = [{name: (columns[name][i] if name in columns else value) for name, value in values.items()}
            for i in range(runs)]
    return rows, True


# -- job views ------------------------------------------------------------------------
def status_info(record: dict[str, Any], base: str) -> dict[str, Any]:
    """A job record as an OGC statusInfo document (links absolute under ``base``)."""
    job_id = record["job_id"]
    status = STATUS.get(record.get("status", ""), "failed")
    stamps = [record.get(k) for k in ("created", "started", "finished")]
    info: dict[str, Any] = {
        "type": "process", "jobID": job_id, "processID": record.get("task"), "status": status,
        "message": record.get("error") or {"accepted": "queued", "running": "running",
                                           "successful": "done", "failed": "failed",
                                           "dismissed": "dismissed"}[status],
        "created": record.get("created"), "started": record.get("started"),
        "finished": record.get("finished"), "updated": max((s for s in stamps if s), default=None),
        "progress": int(record.get("progress") or 0),
        "links": [{"href": f"{base}/jobs/{job_id}", "rel": "self", "type": JSON, "title": "job status"}]}
    if status == "successful":
        info["links"].append({"href": f"{base}/jobs/{job_id}/results", "rel": REL + "results",
                              "type": JSON, "title": "results"})
    return {k: v for k, v in info.items() if v is not None}


def results_of(record: dict[str, Any], model: Model | None) -> dict[str, Any]:
    """The outputs of a successful job: {output id: value}, as its request selected."""
    raw = record.get("data")
    data = jsonutil.loads(raw) if isinstance(raw, (bytes, str)) else (raw or {})
    ogc = record.get("ogc") or {}
    if model is not None and model.batch and is_tabular(data):
        as_array = ogc.get("array", int(record.get("rows") or 1) > 1)
        columns = data["outputs"]
        keys = list(next(iter(columns.values()), {}))
        values = {name: [col.get(k) for k in keys] for name, col in columns.items()}
        if not as_array:
            values = {name: v[0] if v else None for name, v in values.items()}
    else:
        values = dict(data) if isinstance(data, dict) else {"result": data}
    wanted = ogc.get("outputs")
    if wanted:
        values = {k: values[k] for k in wanted if k in values}
    return values


def _results_response(values: dict[str, Any], mode: str, headers: dict[str, str] | None = None) -> Response:
    """``document``: a JSON object of outputs; ``raw``: one output's value alone, several
    as multipart/related parts named by output id."""
    if mode == "document":
        return Response(jsonutil.dumps(values), mimetype=JSON, headers=headers)
    if len(values) == 1:
        return Response(jsonutil.dumps(next(iter(values.values()))), mimetype=JSON, headers=headers)
    boundary = uuid.uuid4().hex
    parts = [b"--" + boundary.encode() + b"\r\nContent-Type: application/json\r\nContent-ID: <"
             + name.encode() + b">\r\n\r\n" + jsonutil.dumps(value) + b"\r\n" for name, value in values.items()]
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return Response(body, headers=headers, content_type=f'multipart/related; boundary="{boundary}"; '
                                                        f'type="application/json"')


def _failure(record: dict[str, Any]) -> OgcError:
    """A failed job's exception: bad values found by the science are the client's (422)."""
    error = record.get("error") or "the job failed"
    if error.split(":", 1)[0] in ("ValueError", "InputError", "ArithmeticError", "ZeroDivisionError",
                                  "FloatingPointError", "OverflowError"):
        return OgcError(422, "invalid-input", error)
    return OgcError(500, "job-failed", error)


# -- the app ---------------------------------------------------------------------------
def create_ogc_app(runtime: Runtime, celery: Celery) -> Flask:
    from . import web  # the native submit path and JSON provider (web mounts this app)

    ogc = Flask("flask_qed.ogc")
    ogc.json = web.OrjsonProvider(ogc)
    ogc.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_content_length
    ogc.config["QED_MAX_ROWS"] = max((m.max_rows for a in runtime.apps for m in a.models if m.batch),
                                     default=None)  # named by a 413's message
    ogc.url_map.strict_slashes = False
    web._options_answer_no_content(ogc)  # noqa: SLF001 - one behaviour for every face
    processes = process_index(runtime.apps)
    _register_errors(ogc)

    def base() -> str:
        return request.url_root.rstrip("/")

    def lookup(pid: str) -> tuple[App, Model]:
        if pid not in processes:
            raise OgcError(404, "no-such-process", f"no process {pid!r}; see {base()}/processes")
        return processes[pid]

    def visible(job_id: str, **kwargs: Any) -> dict[str, Any]:
        record = runtime.store.get(job_id, **kwargs)
        if not may_see(request.environ, record):
            raise JobNotFound(job_id)
        return record

    @ogc.get("/")
    def landing() -> Any:
        root = base()
        host = request.host_url.rstrip("/")
        return {"title": "flask_qed: OGC API - Processes",
                "description": "The gateway's scientific models as OGC API - Processes.", "links": [
                    {"href": f"{root}/", "rel": "self", "type": JSON, "title": "this document"},
                    {"href": f"{root}/api", "rel": "service-desc", "type": OAS30,
                     "title": "the API definition (OpenAPI 3.0)"},
                    {"href": f"{host}/docs", "rel": "service-doc", "type": "text/html",
                     "title": "the API documentation"},
                    {"href": f"{root}/conformance", "rel": REL + "conformance", "type": JSON,
                     "title": "conformance classes"},
                    {"href": f"{root}/processes", "rel": REL + "processes", "type": JSON,
                     "title": "processes"},
                    {"href": f"{root}/jobs", "rel": REL + "job-list", "type": JSON, "title": "jobs"}]}

    @ogc.get("/conformance")
    def conformance() -> Any:
        return {"conformsTo": CONFORMANCE}

    openapi: dict[str, Any] = {}

    @ogc.get("/api")
    def api() -> Any:
        if not openapi:
            openapi.update(openapi30(processes))
        document = dict(openapi, servers=[{"url": base()}])
        return Response(jsonutil.dumps(document), content_type=OAS30)

    @ogc.get("/processes")
    def process_list() -> Any:
        limit = _int_arg("limit", 10, 1, MAX_LIMIT)
        offset = _int_arg("offset", 0, 0, None)
        ids = list(processes)
        page = ids[offset:offset + limit]
        root = base()
        links = [{"href": _self_url(), "rel": "self", "type": JSON, "title": "this document"}]
        if offset + limit < len(ids):
            links.append({"href": f"{root}/processes?{urlencode({'limit': limit, 'offset': offset + limit})}",
                          "rel": "next", "type": JSON, "title": "next page"})
        if offset:
            links.append({"href": f"{root}/processes?{urlencode({'limit': limit, 'offset': max(0, offset - limit)})}",
                          "rel": "prev", "type": JSON, "title": "previous page"})
        return {"processes": [describe(pid, *processes[pid], root, full=False) for pid in page],
                "links": links}

    @ogc.get("/processes/<pid>")
    def process(pid: str) -> Any:
        return describe(pid, *lookup(pid), base())

    @ogc.post("/processes/<pid>/execution")
    def execute(pid: str) -> Any:
        app, model = lookup(pid)
        body = _json_body()
        mode = body.get("response", "raw")
        if mode not in ("raw", "document"):
            raise OgcError(400, "bad-request", "response must be 'raw' or 'document'")
        wanted = _outputs(model, body.get("outputs"))
        inputs, as_array = native_inputs(model, body.get("inputs", {}))
        job_id = web.submit_job(app, model, runtime, celery, inputs, {
            "subscriber": body.get("subscriber"),
            "ogc": {"outputs": wanted, "response": mode, "array": as_array}})
        prefer = _preferences()
        location = f"{base()}/jobs/{job_id}"
        if "respond-async" not in prefer:
            wait = runtime.settings.sync_wait
            if prefer.get("wait", "").isdigit():
                wait = min(wait, float(prefer["wait"]))
            record = wait_for_job(runtime, job_id, wait)  # None: no waiting slot free
            if record is not None and record["status"] == jobs.SUCCESS:
                record = runtime.store.get(job_id, raw=True)
                return _results_response(results_of(record, model), mode,
                                         {"Link": f'<{location}>; rel="monitor"'})
            if record is not None and record["status"] == jobs.FAILURE:
                raise _failure(record)
        headers = {"Location": location}
        if "respond-async" in prefer:
            headers["Preference-Applied"] = "respond-async"
        record = runtime.store.get(job_id, data=False)
        return Response(jsonutil.dumps(status_info(record, base())), status=201, mimetype=JSON,
                        headers=headers)

    @ogc.get("/jobs")
    def job_list() -> Any:
        return _job_list(runtime, processes, base())

    @ogc.get("/jobs/<job_id>")
    def job(job_id: str) -> Any:
        return status_info(visible(job_id, data=False), base())

    @ogc.get("/jobs/<job_id>/results")
    def job_results(job_id: str) -> Any:
        record = visible(job_id, raw=True)
        status = record.get("status")
        if status in (jobs.PENDING, jobs.STARTED):
            raise OgcError(404, "result-not-ready", f"job {job_id} is {STATUS[status]}; no results yet")
        if status == jobs.FAILURE:
            raise _failure(record)
        if status != jobs.SUCCESS:
            raise OgcError(404, "no-such-job", f"job {job_id} was dismissed; its results are gone")
        model = processes.get(record.get("task", ""), (None, None))[1]
        mode = (record.get("ogc") or {}).get("response", "document")
        return _results_response(results_of(record, model), mode)

    @ogc.delete("/jobs/<job_id>")
    def dismiss(job_id: str) -> Any:
        """Dismiss: a queued job never runs, a running one's result is dropped, a finished
        one's results are no longer served."""
        record = visible(job_id, data=False)
        done = {"status": jobs.REVOKED, "finished": record.get("finished") or jobs.now_iso()}
        if record["status"] in (jobs.PENDING, jobs.STARTED):
            if runtime.store.finish(job_id, done, only_if=(jobs.PENDING, jobs.STARTED)):
                try:  # spare the queue the work; the store already guarantees it is not used
                    celery.control.revoke(job_id)
                except Exception as exc:  # noqa: BLE001
                    logger.warning("job %s: revoke not broadcast: %s", job_id, exc)
            else:  # it finished meanwhile: dismiss the outcome instead
                runtime.store.update(job_id, {**done, "data": None})
        elif record["status"] != jobs.REVOKED:
            runtime.store.update(job_id, {**done, "data": None})
        return status_info(runtime.store.get(job_id, data=False), base())

    ogc.wsgi_app = empty_path_is_root(ogc.wsgi_app)  # type: ignore[method-assign]
    return ogc


def _register_errors(app: Flask) -> None:
    @app.errorhandler(OgcError)
    def _ogc(exc: OgcError) -> Any:
        return exception_response(exc.status, exc.kind, exc.detail, exc.errors, exc.headers)

    @app.errorhandler(InputError)
    def _inputs(exc: InputError) -> Any:
        return exception_response(422, "invalid-input", f"invalid inputs: {exc}", exc.errors)

    @app.errorhandler(JobNotFound)
    def _no_job(exc: JobNotFound) -> Any:
        return exception_response(404, "no-such-job", f"no job {exc.args[0]!s} (unknown or expired)")

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Any:
        return exception_response(exc.code, "quota" if exc.code == 429 else "bad-request", exc.message,
                                  exc.errors, exc.headers)

    @app.errorhandler(StoreUnavailable)
    def _store(exc: StoreUnavailable) -> Any:
        logger.error("store unavailable: %s", exc)
        return exception_response(503, "unavailable", "the job store is unavailable, try again later")

    @app.errorhandler(BrokerUnavailable)
    def _broker(exc: BrokerUnavailable) -> Any:
        logger.error("broker unavailable: %s", exc)
        return exception_response(503, "unavailable", "the job queue is unavailable, try again later")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = exc.code or 500
        if code == 413:  # the limit and the setting that raises it, as the native face says
            return exception_response(413, "payload-too-large", too_large_message(app))
        headers = {}
        if code == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return exception_response(code, exc.name.lower().replace(" ", "-"), exc.description or exc.name,
                                  headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if is_broker_error(exc):
            return exception_response(503, "unavailable", "the job queue is unavailable, try again later")
        logger.exception("unhandled error")
        return exception_response(500, "internal", "internal error")



def _self_url() -> str:
    return request.url


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise OgcError(415, "unsupported-media-type",
                       f"send application/json (got {request.mimetype or 'no content type'})")
    try:
        body = request.get_json()
    except BadRequest:
        raise OgcError(400, "bad-request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise OgcError(400, "bad-request", 'the body must be an execute request: {"inputs": {...}}')
    return body


def _outputs(model: Model, given: Any) -> list[str] | None:
    """The output ids an execute request selects (None: all of them)."""
    if given is None or given == {}:
        return None
    if not isinstance(given, dict):
        raise OgcError(400, "bad-request", "outputs must be an object: {output id: {...}}")
    known = set(model.outputs)
    unknown = [k for k in given if known and k not in known]
    if unknown:
        raise OgcError(400, "no-such-output", f"no output {unknown[0]!r}; outputs are {sorted(known)}")
    for name, spec in given.items():
        mode = spec.get("transmissionMode", "value") if isinstance(spec, dict) else "value"
        if mode != "value":
            raise OgcError(400, "bad-request", f"output {name}: only transmissionMode 'value' is offered")
    return list(given)


def _preferences() -> dict[str, str]:
    """RFC 7240 preferences of the Prefer header(s): name → value ('' when none)."""
    found: dict[str, str] = {}
    for header in request.headers.getlist("Prefer"):
        for token in header.split(","):
            name, _, value = token.split(";")[0].strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found


def _int_arg(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OgcError(400, "invalid-query-parameter-value", f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise OgcError(400, "invalid-query-parameter-value",
                       f"{name} must be {low}..{high if high is not None else ''}")
    return value


def _multi(name: str) -> list[str]:
    """A query parameter given as a list: repeated and/or comma separated."""
    return [v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip()]


def _moment(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise OgcError(400, "invalid-query-parameter-value",
                       f"datetime must be RFC 3339 times, got {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _seconds(stamp: str | None) -> float | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else None


def _interval(text: str | None) -> tuple[float | None, float | None]:
    if not text:
        return None, None
    if "/" not in text:
        moment = _moment(text)
        return moment, moment
    start, _, end = text.partition("/")
    return (None if start in ("", "..") else _moment(start)), (None if end in ("", "..") else _moment(end))


def _job_list(runtime: Runtime, processes: dict[str, tuple[App, Model]], root: str) -> Any:
    """Jobs newest first: with keys on, the caller's own (``admin``: all); filtered by
    processID, status, type, datetime (created), minDuration/maxDuration (s)."""
    limit = _int_arg("limit", 10, 1, MAX_LIMIT)
    pids = set(_multi("processID"))
    statuses = _multi("status")
    bad = [s for s in statuses if s not in NATIVE]
    if bad:
        raise OgcError(400, "invalid-query-parameter-value",
                       f"status {bad[0]!r} is not one of {', '.join(NATIVE)}")
    wanted_status = {NATIVE[s] for s in statuses}
    types = set(_multi("type"))
    start, end = _interval(request.args.get("datetime"))
    min_d = _int_arg("minDuration", -1, 0, None)
    max_d = _int_arg("maxDuration", -1, 0, None)
    cursor = request.args.get("next")
    before = None
    if cursor:
        try:
            created, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
            before = (created, job_id)
        except (ValueError, UnicodeError):
            raise OgcError(400, "invalid-query-parameter-value", "next is not a cursor this server gave") from None
    mine_only = request.environ.get("qed.keys") and not is_admin(request.environ)
    owner = client_of(request.environ) if mine_only else None
    app = model = None
    if len(pids) == 1 and next(iter(pids)) in processes:
        one_app, one_model = processes[next(iter(pids))]
        app, model = one_app.name, one_model.name
    status = next(iter(wanted_status)) if len(wanted_status) == 1 else None
    since = None
    if start is not None:
        since = datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    now = time.time()

    def keep(record: dict[str, Any]) -> bool:
        task = record.get("task")
        if task not in processes or (pids and task not in pids):
            return False
        if wanted_status and record.get("status") not in wanted_status:
            return False
        created = _seconds(record.get("created"))
        if end is not None and (created is None or created > end + 0.0005):
            return False
        if start is not None and (created is None or created < start - 0.0005):
            return False
        if min_d >= 0 or max_d >= 0:
            started = _seconds(record.get("started"))
            if started is None:
                return False
            finished = _seconds(record.get("finished")) if record.get("status") in jobs.TERMINAL else now
            if finished is None:
                return False
            duration = finished - started
            if (min_d >= 0 and duration < min_d) or (max_d >= 0 and duration > max_d):
                return False
        return True

    found: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None  # the record the next page starts after
    if not types or "process" in types:
        scanned, chunk = 0, min(1000, max(limit + 1, 100))
        while True:
            batch = runtime.store.list_jobs(owner=owner, app=app, model=model, status=status, since=since,
                                            before=before, limit=chunk)
            for record in batch:
                scanned += 1
                if keep(record):
                    if len(found) == limit:  # one more than the page holds: there is a next page
                        last = found[-1]
                        break
                    found.append(record)
            if last is not None or len(batch) < chunk:
                break
            before = (batch[-1]["created"], batch[-1]["job_id"])
            if scanned >= SCAN_LIMIT:  # a short page rather than reading the whole store at once
                last = batch[-1]
                break
    links = [{"href": request.url, "rel": "self", "type": JSON, "title": "this document"}]
    if last is not None:
        token = base64.urlsafe_b64encode(f"{last['created']}|{last['job_id']}".encode()).decode()
        query = [(k, v) for k, v in request.args.items(multi=True) if k != "next"]
        links.append({"href": f"{root}/jobs?{urlencode(query + [('next', token)])}", "rel": "next",
                      "type": JSON, "title": "next page"})
    page = found
    return {"jobs": [status_info(r, root) for r in page], "links": links}


# -- OpenAPI 3.0 ------------------------------------------------------------------------
def to_oas30(schema: Any) -> Any:
    """A JSON Schema (2020-12, as pydantic writes it) as an OpenAPI 3.0 Schema Object."""
    if isinstance(schema, list):
        return [to_oas30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "properties":
            out[key] = {k: to_oas30(v) for k, v in value.items()}
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "examples":
            if isinstance(value, list) and value:
                out["example"] = value[0]
        elif key in ("$defs", "$schema", "contentMediaType", "prefixItems", "$id", "patternProperties"):
            continue
        elif key == "units":
            out["x-units"] = value
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if "null" in value:
                out["nullable"] = True
            if len(types) == 1:
                out["type"] = types[0]
            elif types:
                out["anyOf"] = [{"type": t} for t in types]
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            rest = [s for s in value if not (isinstance(s, dict) and s.get("type") == "null")]
            if len(rest) < len(value):
                out["nullable"] = True
            if len(rest) == 1:
                out.update({k: v for k, v in to_oas30(rest[0]).items() if k not in out})
            else:
                out[key] = to_oas30(rest)
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_oas30(value)
        else:
            out[key] = value
    out = {k: v for k, v in out.items() if v is not None}
    if "$ref" in out and len(out) > 1:  # 3.0 ignores siblings of $ref: wrap it
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **{k: v for k, v in out.items() if k in ("description", "title",
                                                                                 "default", "x-units")}}
    return out


RESULTS_NOTE = ("the outputs: with response=document a JSON object {output id: value}; with "
                "response=raw one output's value alone (any JSON value), several outputs as "
                "multipart/related parts")


def openapi30(processes: dict[str, tuple[App, Model]]) -> dict[str, Any]:
    """The OGC face described in OpenAPI 3.0 (what OWSLib and most OGC clients read)."""
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    doc = lambda desc, schema, ctype=JSON: {"description": desc, "content": {ctype: {"schema": schema}}}  # noqa: E731
    errors = lambda *codes: {str(c): doc(_TITLES.get(c, "error"), ref("exception")) for c in codes}  # noqa: E731
    link = {"type": "object", "required": ["href"], "properties": {
        k: {"type": "string"} for k in ("href", "rel", "type", "hreflang", "title")}}
    status_schema = {"type": "object", "required": ["type", "jobID", "status"], "properties": {
        "type": {"type": "string", "enum": ["process"]}, "jobID": {"type": "string"},
        "processID": {"type": "string"},
        "status": {"type": "string", "enum": list(NATIVE)}, "message": {"type": "string"},
        **{k: {"type": "string", "format": "date-time"} for k in ("created", "started", "finished", "updated")},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
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
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
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
            inputs[name] = {"oneOf": alternatives} if not model.batch or not _is_array_schema(prop) \
                else {"anyOf": alternatives}
        body = {"type": "object", "required": ["inputs"] if required else [], "properties": {
            "inputs": {"type": "object", "properties": inputs, "required": sorted(required)},
            "outputs": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "transmissionMode": {"type": "string", "enum": ["value"]}}}},
            "response": {"type": "string", "enum": ["raw", "document"], "default": "raw"},
            "subscriber": ref("subscriber")}}
        if not body["required"]:
            del body["required"]
        paths[f"/processes/{pid}/execution"] = {"post": {
            "summary": f"Execute {pid}: {model.title}", "description": model.description,
            "operationId": f"ogc_execute_{pid.replace('.', '_')}", "tags": [app.name],
            "parameters": [{"name": "Prefer", "in": "header", "required": False,
                            "schema": {"type": "string"},
                            "description": "respond-async: answer 201 at once; wait=N: wait at most N s"}],
            "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
            "responses": {"200": {"description": "the results (synchronous): " + RESULTS_NOTE, "content": {
                JSON: {"schema": outputs}, "multipart/related": {"schema": {"type": "string"}}}},
                "201": {"description": "the job (asynchronous)", "headers": {
                    "Location": {"schema": {"type": "string"}},
                    "Preference-Applied": {"schema": {"type": "string"}}},
                    "content": {JSON: {"schema": ref("statusInfo")}}},
                **errors(400, 401, 404, 413, 415, 422, 429, 500, 503)}}}
    return {"openapi": "3.0.3",
            "info": {"title": "flask_qed: OGC API - Processes", "version": __version__,
                     "description": "The gateway's models as OGC API - Processes - Part 1: Core."},
            "paths": paths,
            "security": [{}, {"bearer": []}, {"apiKey": []}],
            "components": {"schemas": components, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}}}
