"""The gateway: a root app (health, jobs) with every science app mounted under its prefix.

Declared models get their routes from their declaration; apps written the
old way are mounted as they are. Every mounted app also answers
``<prefix>/data?job_id=``, read from the job store.
"""
from __future__ import annotations

import base64
import logging
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode
from typing import Any

from celery import Celery
from flask import Flask, Response, jsonify, request
from flask.json.provider import JSONProvider
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from .wsgi import empty_path_is_root
from . import body_limit, docs, jobs, jsonutil, metrics, ogc
from .brokers import publisher
from .callbacks import callback_base, check_subscriber
from .errors import ApiError, BrokerUnavailable, error_response, register_error_handlers
from .legacy import guard_legacy_app
from .model import Columns, InputError, Model
from .openapi import openapi_document
from .plugins import App
from .results import packed_table
from .runtime import Runtime
from .security import FrontDoor, client_of, is_admin, may_see
from .stores import JobNotFound, StoreUnavailable
from .stores.base import unpack
from .ui import browser_home, mount as mount_ui

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
            {"/data": empty_path_is_root(_data_app(app, runtime).wsgi_app)})
    from .rest_compat import add_rest_routes
    add_rest_routes(root, runtime, celery)
    mounts.update({"/ogcapi": ogc.create_ogc_app(runtime, celery).wsgi_app, **docs.mounts(runtime)})
    # The front door wraps every mounted app: one place for keys, rate and headers.
    front = FrontDoor(mount_ui(DispatcherMiddleware(root.wsgi_app, mounts), runtime), runtime.settings)
    front = browser_home(front)  # a browser's GET / goes to /ui/, keys on or off
    front = body_limit.ChunkedBodyLimit(front, root.config)  # a chunked body counted as it comes
    if runtime.settings.proxy_count:  # the client's address as the trusted proxies saw it
        n = runtime.settings.proxy_count
        front = ProxyFix(front, x_for=n, x_proto=n, x_host=n, x_prefix=n)
    root.wsgi_app = metrics.HttpMetrics(front)  # type: ignore[method-assign]
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
    app.config["QED_MAX_ROWS"] = max((m.max_rows for a in runtime.apps for m in a.models if m.batch),
                                     default=None)
    app.url_map.strict_slashes = False
    register_error_handlers(app)
    _options_answer_no_content(app)
    return app


def _options_answer_no_content(app: Flask) -> None:
    """Flask answers OPTIONS itself with an empty text/html 200; answer 204 (with
    its Allow header) so that no answer claims to be an HTML page."""
    @app.after_request
    def _options(response: Response) -> Response:
        if request.method == "OPTIONS" and response.status_code == 200 and not response.content_length:
            response.status_code = 204
            response.headers.pop("Content-Type", None)
        return response


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

    scrape = metrics.registry(celery)

    @root.get("/metrics")
    def prometheus() -> Any:
        body, content_type = metrics.exposition(scrape)
        return Response(body, content_type=content_type)

    @root.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @root.get("/readyz")
    def readyz() -> Any:
        checks = {"broker": _check(lambda: _ping_broker(celery)), "store": _check(runtime.store.ping)}
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "unavailable",
                                "checks": {k: "ok" if v == "ok" else "down" for k, v in checks.items()}}
        if is_admin(request.environ):  # hosts, paths and errors are for the operator only
            body["details"] = checks
        return jsonify(body), 200 if ready else 503

    @root.get("/jobs/<job_id>")
    def job(job_id: str) -> Any:
        return _job_response(_visible(runtime.store.get(job_id, packed=True)))

    @root.get("/jobs/<job_id>/status")
    def job_status(job_id: str) -> Any:
        """The record without its data: what a poll loop should read."""
        return _job_response(_visible(runtime.store.get(job_id, data=False)))

    @root.get("/jobs/<job_id>/results")
    def job_results(job_id: str) -> Any:
        return _results_response(_visible(runtime.store.get(job_id, packed=True)))

    @root.get("/jobs")
    def job_list() -> Any:
        return _job_list(runtime)

    @root.delete("/jobs/<job_id>")
    def revoke(job_id: str) -> Any:
        """Cancel a job not yet finished: a queued one never runs, a running one is stopped."""
        _visible(runtime.store.get(job_id, data=False))
        from .tasks import cancel
        if not cancel(celery, runtime, job_id):
            status = runtime.store.get(job_id, data=False)["status"]
            raise ApiError(409, f"job {job_id} is already {status}")
        return _job_response(runtime.store.get(job_id, packed=True))


def _visible(record: dict[str, Any]) -> dict[str, Any]:
    """The record if the caller may see it; another client's job is unknown (404), so
    that its existence is not revealed."""
    if not may_see(request.environ, record):
        raise JobNotFound(record.get("job_id"))
    return record


STREAM_OVER = 1 << 20  # bytes of stored (compressed) data past which an answer is streamed


def _job_response(record: dict[str, Any]) -> Response:
    """The public record; stored result data (``packed``) is spliced in as stored, never
    re-parsed; large data is decompressed and sent a piece at a time."""
    packed = record.pop("data", None)
    body = jsonutil.dumps(jobs.public(record))
    if packed is None:
        return Response(body, mimetype="application/json")
    return Response(_spliced(body[:-1] + b',"data":', packed, b"}"), mimetype="application/json")


def _spliced(head: bytes, packed: bytes, tail: bytes) -> Any:
    """``head`` + the JSON text of ``packed`` + ``tail``: whole when small, else a stream."""
    if len(packed) <= STREAM_OVER:
        return [head + unpack(packed, raw=True) + tail]

    def stream() -> Any:
        yield head
        yield from jsonutil.unpacked_pieces(packed)
        yield tail
    return stream()


LIST_LIMIT = 1000  # most records one page of GET /jobs may hold


def _job_list(runtime: Runtime) -> Any:
    """Jobs newest first, filtered, one page at a time: with keys on, the caller's own
    (``admin``: everyone's); with keys off, everyone's (``mine=1``: this address's)."""
    args = request.args
    try:
        limit = int(args.get("limit", 50))
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    if not 1 <= limit <= LIST_LIMIT:
        raise ApiError(400, f"limit must be 1..{LIST_LIMIT}")
    status = args.get("status")
    if status is not None and status.upper() not in (*jobs.TERMINAL, jobs.PENDING, jobs.STARTED):
        raise ApiError(400, "status must be one of PENDING, STARTED, SUCCESS, FAILURE, REVOKED")
    since = args.get("since")
    if since is not None:
        since = _iso_time(since)
    before = _cursor(args["cursor"]) if args.get("cursor") else None
    mine_only = request.environ.get("qed.keys") and not is_admin(request.environ)
    records = runtime.store.list_jobs(
        owner=client_of(request.environ) if mine_only or args.get("mine") else None,
        app=args.get("app"), model=args.get("model"), status=status.upper() if status else None,
        since=since, before=before, limit=limit + 1)
    page, more = records[:limit], len(records) > limit
    body: dict[str, Any] = {"jobs": [jobs.public(r) for r in page], "next": None}
    if more:
        last = page[-1]
        token = base64.urlsafe_b64encode(f"{last['created']}|{last['job_id']}".encode()).decode()
        query = {k: v for k, v in args.items() if k != "cursor"}
        body["next"] = f"/jobs?{urlencode({**query, 'cursor': token})}"
    return body


def _cursor(token: str) -> tuple[str, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
    except (ValueError, UnicodeError):
        raise ApiError(400, "cursor is not one this gateway gave") from None
    return created, job_id


def _iso_time(text: str) -> str:
    """An ISO 8601 time as the records write it (UTC, milliseconds, Z)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(400, f"since must be an ISO 8601 time, got {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _results_response(record: dict[str, Any]) -> Response:
    """A finished job's data alone; ``Accept: text/csv`` (or ``?f=csv``) gives a table
    of runs for results in column form."""
    if record.get("status") != jobs.SUCCESS:
        detail = f": {record['error']}" if record.get("error") else ""
        raise ApiError(409, f"job {record['job_id']} is {record.get('status')}; no results{detail}")
    packed = record.get("data")
    wanted = request.args.get("f") or request.accept_mimetypes.best_match(
        ["application/json", "text/csv"], default="application/json")
    if wanted not in ("csv", "text/csv"):
        if packed is None:
            return Response(b"{}", mimetype="application/json")
        return Response(_spliced(b"", packed, b""), mimetype="application/json")
    # Parsed a field at a time into compact columns: a large batch is never whole as Python objects.
    table = packed_table(packed) if packed is not None else None
    if table is None:
        raise ApiError(406, "these results are not a table of runs; ask for application/json")
    name = f"{record.get('app')}-{record.get('model')}-{record['job_id']}.csv"
    return Response(table.rows(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as exc:  # readiness reports any failure, it never raises
        return f"down: {type(exc).__name__}: {exc}"[:300]
    return "ok"


def _ping_broker(celery: Celery) -> None:
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)



# -- /<app>/data -------------------------------------------------------------------------
def _data_app(app: App, runtime: Runtime) -> Flask:
    data = _flask(f"{app.name}.data", runtime)

    @data.get("/")
    def poll() -> Any:
        job_id = request.args.get("job_id") or request.args.get("task_id")
        if not job_id:
            raise ApiError(400, "missing query parameter job_id")
        record = _visible(runtime.store.get(job_id, packed=True))
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


def submit_job(app: App, model: Model, runtime: Runtime, celery: Celery, inputs: Any,
               extra: dict[str, Any] | None = None, on_invalid: str = "fail") -> str:
    """Validate, check the caller's quota, write the record, queue the task: the one
    way a declared model's job starts (every face of the gateway uses it)."""
    validated, rows = model.validate_packed(inputs, on_invalid=on_invalid)
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    if extra.get("subscriber") is not None:
        extra["subscriber"] = check_subscriber(extra["subscriber"], runtime.settings.callback_allowlist)
        extra["callback_base"] = callback_base(request)
    owner = client_of(request.environ)
    _check_quota(runtime, owner, rows)
    job_id = str(uuid.uuid4())
    task = app.task_name(model)
    record = jobs.new_record(app.name, model.name, model.version, task)
    runtime.store.create(job_id, {**extra, **record, "owner": owner, "rows": rows, "inputs": validated})
    _publish(celery, runtime, task, job_id)
    metrics.JOBS_SUBMITTED.labels(app.name, model.name).inc()
    return job_id


def _submit_view(app: App, model: Model, runtime: Runtime, celery: Celery) -> Any:
    def submit() -> Any:
        inputs = _read_inputs(model)
        body = request.environ.get("qed.body")
        subscriber = body.get("subscriber") if isinstance(body, dict) else None
        on_invalid = body.get("on_invalid", "fail") if isinstance(body, dict) else _on_invalid()
        job_id = submit_job(app, model, runtime, celery, inputs, {"subscriber": subscriber},
                            on_invalid=on_invalid)
        location = f"{app.prefix}/data?job_id={job_id}"
        body = {"job_id": job_id, "id": job_id, "status": jobs.PENDING, "app": app.name,
                "model": model.name, "version": model.version, "url": location}
        return body, 202, {"Location": location}
    return submit


def _check_quota(runtime: Runtime, owner: str | None, rows: int) -> None:
    """Fair use: a client's jobs and runs queued or running at once are capped (429).

    Two submissions racing past the check may overshoot a cap by one job; the
    cap bounds a flood, it is not an exact budget."""
    if owner is None:
        return
    s = runtime.settings
    active_jobs, active_rows = runtime.store.count_active(owner)
    if active_jobs >= s.max_active_jobs:
        raise ApiError(429, f"you have {active_jobs} jobs queued or running, the most allowed at once "
                            f"(QED_MAX_ACTIVE_JOBS={s.max_active_jobs}); submit again when one finishes",
                       headers={"Retry-After": "5"})
    if active_rows + rows > s.max_active_rows:
        raise ApiError(429, f"this job's {rows} runs and the {active_rows} you have queued or running "
                            f"exceed the most allowed at once (QED_MAX_ACTIVE_ROWS={s.max_active_rows})",
                       headers={"Retry-After": "5"})


def _read_inputs(model: Model) -> Any:
    """The ``inputs`` of a JSON body, or form fields plus an uploaded file."""
    if request.is_json:
        body = _json_body(model)
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


def _json_body(model: Model) -> Any:
    """The JSON body, parsed in one pass; a batch's ``inputs`` in column form are read a
    column at a time into compact arrays (:class:`~flask_qed.model.Columns`), never held
    whole as Python objects. Kept in the environ (``qed.body``) for the other fields."""
    data = request.get_data(cache=False)
    try:
        text = data.decode("utf-8")
        del data
        on_inputs = Columns.from_lazy if model.batch else _plain
        body = jsonutil.loads_lazy(text, on_inputs)
    except InputError:
        raise
    except (ValueError, RecursionError):
        raise ApiError(400, "the body is not valid JSON") from None
    request.environ["qed.body"] = body
    return body


def _plain(lazy: Any) -> Any:
    return dict(lazy.items()) if lazy.is_object else [v for _, v in lazy.items()]


def _on_invalid() -> Any:
    """``on_invalid`` of a JSON body (or form): "fail" (the default) or "skip"."""
    body = request.get_json(silent=True) if request.is_json else request.form
    return body.get("on_invalid", "fail") if hasattr(body, "get") else "fail"


def _publish(celery: Celery, runtime: Runtime, task: str, job_id: str) -> None:
    """Queue the job; if the broker is down, record the failure and answer 503."""
    try:
        publisher(celery).publish(task, job_id)
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
    _options_answer_no_content(legacy)
    guard_legacy_app(legacy, error_response)
    return legacy


__all__ = ["create_gateway", "error_response"]
