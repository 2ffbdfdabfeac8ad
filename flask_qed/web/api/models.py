"""The native API's science apps: ``/<app>/`` lists the models, ``GET /<app>/<model>``
describes one, ``POST /<app>/<model>`` submits a job, ``/<app>/data?job_id=`` reads it.
Apps written the old way (a Flask app of their own) are mounted as they are."""
from __future__ import annotations

import csv
import difflib
import hashlib
from typing import Any

from celery import Celery
from flask import Flask, request
from werkzeug.exceptions import NotFound, UnsupportedMediaType
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ... import jobs, jsonutil
from ...errors import ApiError
from ...jobs import access, submit, waiting
from ...jobs.label import check_label
from ...legacy import guard_legacy_app
from ...columns import Columns, columns_from_csv
from ...model import InputError, Model
from ...streamjson import NameTwice, NotUnicode
from ...validation import MAX_ERRORS, missing_inputs, short_value
from ...plugins import App
from ...runtime import Runtime
from ...stores import JobNotFound
from .. import prefer
from ..cache_control import cache_allowed, cache_text
from ..errors import error_response, register_error_handlers
from ..flaskapp import new_app, options_answer_no_content
from ..security import caller_of, client_of
from ..wsgi import empty_path_is_root
from .responses import job_response, results_response, units_asked, wants_csv

# Fields of a multipart form that are about the job, not inputs of the model.
FORM_FIELDS = ("label", "cache", "on_invalid")  # a form's job options, not inputs
# The members a JSON body may have: its inputs and what is said about the job. Those that
# GET /jobs/<id>/inputs adds are taken too, so that its answer can be sent again as it is:
# app and model must then be this route's; job_id and runs say where the inputs came from.
BODY_MEMBERS = ("inputs", "label", "cache", "on_invalid", "subscriber")


def mount_app(app: App, runtime: Runtime, celery: Celery) -> Any:
    """The WSGI app under ``app.prefix``: its models (or its own Flask app) and ``/data``."""
    own = legacy_app(app, runtime) if app.factory else science_app(app, runtime, celery)
    return DispatcherMiddleware(own.wsgi_app, {"/data": empty_path_is_root(data_app(app, runtime).wsgi_app)})


def data_app(app: App, runtime: Runtime) -> Flask:
    data = new_app(f"{app.name}.data", runtime)

    @data.get("/")
    def poll() -> Any:
        job_id = request.args.get("job_id") or request.args.get("task_id")
        if not job_id:
            raise ApiError(400, "missing query parameter job_id")
        record = access.read(runtime.store, job_id, caller_of(request.environ), packed=True)
        if record.get("app") != app.name:
            raise JobNotFound(job_id)
        return job_response(record)

    return data


def science_app(app: App, runtime: Runtime, celery: Celery) -> Flask:
    web = new_app(app.name, runtime)

    @web.get("/")
    def models() -> Any:
        return {"app": app.name, "title": app.title or app.name, "models": [
            {"name": m.name, "title": m.title, "description": m.description, "version": m.version,
             "url": f"{app.prefix}/{m.name}"} for m in app.models]}

    @web.errorhandler(NotFound)
    def no_such_model(exc: NotFound) -> Any:  # a route of no model: say which there are
        return error_response(404, f"no model {request.path.strip('/')!r} in "
                                   f"{app.name}; its models: {', '.join(m.name for m in app.models)} "
                                   f"(GET {app.prefix}/ lists them)")

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
    def view() -> Any:
        units = units_asked()  # checked before anything is stored
        cache = _form_cache()  # cache= of the query (or a form), before the inputs are validated
        inputs = read_inputs(app, model)
        body = request.environ.get("qed.body")
        subscriber = body.get("subscriber") if isinstance(body, dict) else None
        on_invalid = _member_or_query(body, "on_invalid", _form_on_invalid())
        label = _member_or_query(body, "label", _form_label())
        wait = prefer.wait_seconds(prefer.preferences(request.headers.getlist("Prefer")),
                                   runtime.settings.sync_wait)
        started = submit.start(runtime, celery, app, model, inputs, client_of(request.environ),
                               {"subscriber": subscriber, "label": label}, on_invalid=on_invalid,
                               callback_base=None if subscriber is None else request.host_url.rstrip("/") + "/ogcapi",
                               cache=cache_allowed(body if isinstance(body, dict) else cache,
                                                   request.headers.getlist("Cache-Control"))
                               and cache.get("cache", True),  # ?cache=false opts a JSON body out too
                               uploads=request.environ.get("qed.uploads"), waits=wait is not None)
        job_id = started.job_id
        location = f"{app.prefix}/data?job_id={job_id}"
        headers = {"Location": location}
        if wait is not None:  # Prefer: wait=N: the finished job, if it ends within N s
            # None: no waiting slot free; else read as the answer needs it, data and all
            csv = wants_csv()  # a CSV answer is written from the table, where there is one
            record = waiting.wait_for_job(runtime, job_id, wait, packed=True, table=csv, as_stored=csv)
            if record is not None:
                headers["Preference-Applied"] = f"wait={wait:g}"
                if record["status"] in jobs.TERMINAL:
                    answer = _finished_answer(record, model.units() if units else None, csv)
                    answer.headers.update(headers)
                    return answer
        answer = {"job_id": job_id, "id": job_id, "status": started.status, "app": app.name,
                  "model": model.name, "version": model.version, "url": location}
        if check_label(label):  # as stored (it passed the check already)
            answer["label"] = check_label(label)
        if started.cached_from:  # answered from an identical job's result, or joined its run
            answer["cached_from"] = started.cached_from
        return answer, 202, headers
    return view


def _finished_answer(record: dict[str, Any], units: dict[str, str] | None, csv: bool) -> Any:
    """A job that ended while its submission waited: its record, or, when the client
    asked for CSV (``csv``: :func:`wants_csv`) and the job succeeded, its table
    of runs alone (``Content-Location`` names where it stays), so a CSV batch goes in
    and comes out in one request."""
    if csv and record.get("status") == jobs.SUCCESS:
        try:
            answer = results_response(dict(record), units)
        except ApiError:  # not a table of runs: the record, which names the job, as JSON
            return job_response(record)
        answer.headers["Content-Location"] = f"/jobs/{record['job_id']}/results"
        return answer
    return job_response(record)


def read_inputs(app: App, model: Model) -> Any:
    """The ``inputs`` of a JSON body, or form fields plus an uploaded file."""
    if request.is_json:
        body = _json_body(model)
        if not isinstance(body, dict):
            raise ApiError(400, 'the body must be a JSON object: {"inputs": ...}')
        if "inputs" not in body:
            raise missing_inputs(body, model.inputs)
        _check_members(body, app, model)
        return body["inputs"]
    if request.mimetype == "text/csv" and model.batch:
        return _csv_body()
    if request.mimetype == "multipart/form-data" and model.read_upload and model.upload_field:
        upload = request.files.get(model.upload_field) or request.files.get("file") \
            or request.files.get("filename")
        if upload is None:
            raise InputError([{"run": None, "field": model.upload_field, "value": None,
                               "rule": f"upload a file in the form field {model.upload_field!r}"}])
        inputs: dict[str, Any] = {k: v for k, v in request.form.items() if k not in FORM_FIELDS}
        content = upload.read()
        request.environ["qed.uploads"] = {model.upload_field: hashlib.sha256(content).hexdigest()}
        try:
            inputs[model.upload_field] = model.read_upload(content, upload.filename or "")
        except ValueError as exc:
            raise InputError([{"run": None, "field": model.upload_field, "value": upload.filename,
                               "rule": str(exc)}]) from None
        return inputs
    accepted = "application/json" + (" or text/csv" if model.batch else "") \
        + (" or multipart/form-data" if model.read_upload else "")
    raise UnsupportedMediaType(f"send {accepted} (got {request.mimetype or 'no content type'})")


def _json_body(model: Model) -> Any:
    """The JSON body, parsed in one pass; a batch's ``inputs`` in column form are read a
    column at a time into compact arrays (:class:`~flask_qed.columns.Columns`), never held
    whole as Python objects. Kept in the environ (``qed.body``) for the other fields."""
    data = request.get_data(cache=False)
    try:
        text = data.decode("utf-8-sig")  # a byte order mark, which some editors write, is no part of it
        del data
        on_inputs = Columns.from_lazy if model.batch else _plain
        body = jsonutil.loads_lazy(text, on_inputs)
    except InputError:
        raise
    except NotUnicode as exc:
        raise ApiError(400, f"the body is not Unicode text: {exc}") from None
    except NameTwice as exc:
        raise InputError([{"run": None, "field": str(short_value(exc.name)), "value": None,
                           "rule": f"named twice in {exc.where}: give each once"}]) from None
    except RecursionError:  # the parser's own stack ran out
        raise ApiError(400, "the body is not valid JSON: nested too deeply") from None
    except ValueError:
        raise ApiError(400, "the body is not valid JSON") from None
    request.environ["qed.body"] = body
    return body


def _check_members(body: dict[str, Any], app: App, model: Model) -> None:
    """Refuse (422) a member the body may not have: a slip (``"cahce": false``) would
    otherwise change nothing, silently; and inputs given back by ``GET /jobs/<id>/inputs``
    for another model. At most ``MAX_ERRORS`` are listed, the rest counted."""
    errors: list[dict[str, Any]] = []
    unlisted = 0
    for name in body:
        if name in BODY_MEMBERS or name in ("job_id", "runs"):
            continue
        if len(errors) >= MAX_ERRORS:
            unlisted += 1
        elif name in ("app", "model"):
            ours = app.name if name == "app" else model.name
            if body[name] != ours:
                errors.append({"run": None, "field": name, "value": short_value(body[name]),
                               "rule": f"these inputs are for another {name}: this route runs "
                                       f"{app.name}'s {model.name}"})
        else:
            errors.append({"run": None, "field": str(short_value(name)), "value": short_value(body[name]),
                           "rule": _unknown_member(name)})
    if unlisted:
        errors.append({"run": None, "field": "body", "value": None,
                       "rule": f"{unlisted} more members of the body not listed"})
    if errors:
        raise InputError(errors)


def _unknown_member(name: str) -> str:
    close = difflib.get_close_matches(name[:40].lower(), BODY_MEMBERS, n=1, cutoff=0.6)
    return (f"unknown member of the body{f'; did you mean {close[0]}?' if close else ''} "
            f"(a body has {', '.join(BODY_MEMBERS)}; the model's values go under inputs)")


def _csv_body() -> Columns:
    """A batch as CSV: a header row of input names, one run per line (UTF-8)."""
    try:
        text = request.get_data(cache=False).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "the CSV body is not UTF-8 text") from None
    try:
        return columns_from_csv(text)
    except csv.Error as exc:
        raise ApiError(400, f"the body is not valid CSV: {exc}") from None


def _plain(lazy: Any) -> Any:
    return dict(lazy.items()) if lazy.is_object else [v for _, v in lazy.items()]


def _member_or_query(body: Any, name: str, given: Any) -> Any:
    """``name`` of a JSON body, else as the query (or a form) ``given`` it: a JSON body's
    job takes ``?on_invalid=`` and ``?label=`` as it takes ``?cache=``. The two naming
    different values is a 422: which was meant is not known."""
    if not isinstance(body, dict) or name not in body:
        return given
    asked = request.args.get(name)
    if asked is not None and asked != body[name]:
        raise InputError([{"run": None, "field": name, "value": short_value(asked),
                           "rule": f"given in the query and in the body as different values "
                                   f"({short_value(body[name])} in the body): give it once"}])
    return body[name]


def _form_label() -> Any:
    """``label`` of a form, or the query of a CSV body (a job's name, not an input)."""
    if request.mimetype == "multipart/form-data":
        return request.form.get("label")
    return request.args.get("label")


def _form_cache() -> dict[str, bool]:
    """``cache`` of a form, or the query (of a CSV or a JSON body): ``false`` runs the job again."""
    if request.mimetype == "multipart/form-data":
        return cache_text(request.form.get("cache"))
    return cache_text(request.args.get("cache") if request.args else None)


def _form_on_invalid() -> Any:
    """``on_invalid`` of a form, or the query of a CSV body: "fail" (the default) or "skip"."""
    if request.mimetype == "multipart/form-data":
        return request.form.get("on_invalid", "fail")
    return request.args.get("on_invalid", "fail")


def legacy_app(app: App, runtime: Runtime) -> Flask:
    legacy = app.build_flask_app()
    if not isinstance(legacy, Flask):
        raise TypeError(f"app {app.name}: factory returned {type(legacy).__name__}, not a Flask app")
    legacy.config.setdefault("MAX_CONTENT_LENGTH", runtime.settings.max_content_length)
    # flask-restful answers an error itself unless exceptions propagate; let them
    # reach the gateway's JSON handlers (a broker that is down is a 503, not a 500).
    legacy.config["PROPAGATE_EXCEPTIONS"] = True
    register_error_handlers(legacy)
    options_answer_no_content(legacy)
    guard_legacy_app(legacy, error_response)
    return legacy
