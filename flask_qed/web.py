"""The gateway: a root app (health, jobs) with every science app mounted under its prefix.

Declared models get their routes from their declaration; apps written the
old way are mounted as they are. Every mounted app also answers
``<prefix>/data?job_id=``, read from the job store.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery
from flask import Flask, Response, jsonify, request
from flask.json.provider import JSONProvider
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from . import jobs, jsonutil
from .errors import ApiError, BrokerUnavailable, error_response, register_error_handlers
from .legacy import guard_legacy_app
from .model import InputError, Model
from .openapi import openapi_document
from .plugins import App
from .runtime import Runtime
from .stores import JobNotFound, StoreUnavailable

logger = logging.getLogger(__name__)


def create_gateway(celery: Celery | None = None, runtime: Runtime | None = None) -> Flask:
    """The WSGI app. Reuses the shared Celery app's runtime when given one."""
    if celery is None:
        from .tasks import create_celery
        celery = create_celery(runtime)
    runtime = celery.qed  # type: ignore[attr-defined]
    root = _flask("flask_qed", runtime)
    _add_root_routes(root, runtime, celery)
    mounts: dict[str, Any] = {}
    for app in runtime.apps:
        mounts[app.prefix] = DispatcherMiddleware(
            _legacy_app(app, runtime).wsgi_app if app.factory else _science_app(app, runtime, celery).wsgi_app,
            {"/data": _empty_path_is_root(_data_app(app, runtime).wsgi_app)})
    root.wsgi_app = DispatcherMiddleware(root.wsgi_app, mounts)  # type: ignore[method-assign]
    root.extensions["qed"] = runtime
    return root


class OrjsonProvider(JSONProvider):
    """Fast JSON for large batches; NaN and Infinity are written as null."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return jsonutil.dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return jsonutil.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(jsonutil.dumps(obj), mimetype="application/json")


def _flask(name: str, runtime: Runtime) -> Flask:
    app = Flask(name)
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_content_length
    app.url_map.strict_slashes = False
    register_error_handlers(app)
    return app


# -- root ----------------------------------------------------------------------------
def _add_root_routes(root: Flask, runtime: Runtime, celery: Celery) -> None:
    @root.get("/")
    def index() -> Any:
        return {"name": "flask_qed", "apps": [
            {"name": a.name, "prefix": a.prefix + "/", "title": a.title or a.name,
             "models": [m.name for m in a.models]} for a in runtime.apps]}

    openapi: dict[str, Any] = {}

    @root.get("/openapi.json")
    def openapi_json() -> Any:
        if not openapi:  # built on first use: describing every model costs a little
            openapi.update(openapi_document(runtime.apps))
        return openapi

    @root.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @root.get("/readyz")
    def readyz() -> Any:
        checks = {"broker": _check(lambda: _ping_broker(celery)), "store": _check(runtime.store.ping)}
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "unavailable", "checks": checks}
        return jsonify(body), 200 if ready else 503

    @root.get("/jobs/<job_id>")
    def job(job_id: str) -> Any:
        return _job_response(runtime.store.get(job_id, raw=True))

    @root.delete("/jobs/<job_id>")
    def revoke(job_id: str) -> Any:
        """Cancel a job not yet finished: it is not started, or its result is dropped."""
        if not runtime.store.finish(job_id, {"status": jobs.REVOKED, "finished": jobs.now_iso()},
                                    only_if=(jobs.PENDING, jobs.STARTED)):
            status = runtime.store.get(job_id, data=False)["status"]
            raise ApiError(409, f"job {job_id} is already {status}")
        try:  # spare the queue the work; the store already guarantees it is not run
            celery.control.revoke(job_id)
        except Exception as exc:  # noqa: BLE001 - the broker is only an optimisation here
            logger.warning("job %s: revoke not broadcast: %s", job_id, exc)
        return _job_response(runtime.store.get(job_id, raw=True))


def _job_response(record: dict[str, Any]) -> Response:
    """The public record; stored result data is spliced in as stored, never re-parsed."""
    raw = record.pop("data", None)
    body = jsonutil.dumps(jobs.public(record))
    if raw is not None:
        body = body[:-1] + b',"data":' + raw + b"}"
    return Response(body, mimetype="application/json")


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as exc:  # readiness reports any failure, it never raises
        return f"down: {type(exc).__name__}: {exc}"[:300]
    return "ok"


def _ping_broker(celery: Celery) -> None:
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _empty_path_is_root(wsgi: Any) -> Any:
    """``/pram/data`` reaches the data app with an empty path; route it as ``/``
    (werkzeug would otherwise answer a POST there 404 instead of 405)."""
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("PATH_INFO"):
            environ["PATH_INFO"] = "/"
        return wsgi(environ, start_response)
    return app


# -- /<app>/data -------------------------------------------------------------------------
def _data_app(app: App, runtime: Runtime) -> Flask:
    data = _flask(f"{app.name}.data", runtime)

    @data.get("/")
    def poll() -> Any:
        job_id = request.args.get("job_id") or request.args.get("task_id")
        if not job_id:
            raise ApiError(400, "missing query parameter job_id")
        record = runtime.store.get(job_id, raw=True)
        if record.get("app") != app.name:
            raise JobNotFound(job_id)
        return _job_response(record)

    return data


# -- declared models --------------------------------------------------------------------
def _science_app(app: App, runtime: Runtime, celery: Celery) -> Flask:
    web = _flask(app.name, runtime)

    @web.get("/")
    def models() -> Any:
        return {"app": app.name, "title": app.title or app.name, "models": [
            {"name": m.name, "title": m.title, "description": m.description, "version": m.version,
             "url": f"{app.prefix}/{m.name}"} for m in app.models]}

    for model in app.models:
        for path in (model.name, *model.aliases):
            endpoint = f"{model.name}:{path}"
            web.add_url_rule(f"/{path.strip('/')}", endpoint + ":get",
                             view_func=_describe_view(model), methods=["GET"])
            web.add_url_rule(f"/{path.strip('/')}", endpoint + ":post",
                             view_func=_submit_view(app, model, runtime, celery), methods=["POST"])
    return web


def _describe_view(model: Model) -> Any:
    return lambda: model.describe()


def _submit_view(app: App, model: Model, runtime: Runtime, celery: Celery) -> Any:
    def submit() -> Any:
        validated = model.validate(_read_inputs(model))
        job_id = str(uuid.uuid4())
        task = app.task_name(model)
        record = jobs.new_record(app.name, model.name, model.version, task)
        runtime.store.create(job_id, {**record, "inputs": validated})
        _publish(celery, runtime, task, job_id)
        location = f"{app.prefix}/data?job_id={job_id}"
        body = {"job_id": job_id, "id": job_id, "status": jobs.PENDING, "app": app.name,
                "model": model.name, "version": model.version, "url": location}
        return body, 202, {"Location": location}
    return submit


def _read_inputs(model: Model) -> Any:
    """The ``inputs`` of a JSON body, or form fields plus an uploaded file."""
    if request.is_json:
        try:
            body = request.get_json()
        except BadRequest:
            raise ApiError(400, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, 'the body must be a JSON object: {"inputs": ...}')
        if "inputs" not in body:
            raise InputError([{"run": None, "field": "inputs", "value": None, "rule": "required"}])
        return body["inputs"]
    if request.mimetype == "multipart/form-data" and model.read_upload and model.upload_field:
        upload = request.files.get(model.upload_field) or request.files.get("file") \
            or request.files.get("filename")
        if upload is None:
            raise InputError([{"run": None, "field": model.upload_field, "value": None,
                               "rule": f"upload a file in the form field {model.upload_field!r}"}])
        inputs: dict[str, Any] = {k: v for k, v in request.form.items()}
        try:
            inputs[model.upload_field] = model.read_upload(upload.read(), upload.filename or "")
        except ValueError as exc:
            raise InputError([{"run": None, "field": model.upload_field, "value": upload.filename,
                               "rule": str(exc)}]) from None
        return inputs
    accepted = "application/json" + (" or multipart/form-data" if model.read_upload else "")
    raise UnsupportedMediaType(f"send {accepted} (got {request.mimetype or 'no content type'})")


def _publish(celery: Celery, runtime: Runtime, task: str, job_id: str) -> None:
    """Queue the job; if the broker is down, record the failure and answer 503."""
    try:
        celery.send_task(task, args=[job_id], task_id=job_id, retry=True,
                         retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                                       "interval_max": 1})
    except Exception as exc:  # kombu raises several types for an unreachable broker
        logger.error("job %s: could not queue %s: %s", job_id, task, exc)
        try:
            runtime.store.update(job_id, {"status": jobs.FAILURE, "finished": jobs.now_iso(),
                                          "error": "the job queue was unavailable; submit again"})
        except (StoreUnavailable, JobNotFound):
            pass
        raise BrokerUnavailable(str(exc)) from exc


# -- apps written the old way ----------------------------------------------------------
def _legacy_app(app: App, runtime: Runtime) -> Flask:
    legacy = app.build_flask_app()
    if not isinstance(legacy, Flask):
        raise TypeError(f"app {app.name}: factory returned {type(legacy).__name__}, not a Flask app")
    legacy.config.setdefault("MAX_CONTENT_LENGTH", runtime.settings.max_content_length)
    # flask-restful answers an error itself unless exceptions propagate; let them
    # reach the gateway's JSON handlers (a broker that is down is a 503, not a 500).
    legacy.config["PROPAGATE_EXCEPTIONS"] = True
    register_error_handlers(legacy)
    guard_legacy_app(legacy, error_response)
    return legacy


__all__ = ["create_gateway", "error_response"]
