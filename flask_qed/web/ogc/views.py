"""The OGC face's endpoints, one module-level function each (registered by
:func:`flask_qed.web.ogc.create_app`). What a view needs of the gateway — the
runtime, the Celery app, the processes — is the app's :class:`Face`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from celery import Celery
from flask import Response, current_app, request

from ... import jobs, jsonutil
from ...jobs import access, cancel, chain, submit
from ...jobs.status import STATUS, status_info
from ...jobs.waiting import wait_for_job
from ...model import InputError, Model
from ...results import EXCEEDS
from ...streamjson import NameTwice, NotUnicode
from ...validation import missing_inputs, short_value
from ...plugins import App
from ...runtime import Runtime
from ..cache_control import cache_allowed
from ..prefer import preferences, wait_seconds
from ..security import caller_of, client_of
from .args import int_arg
from .describe import JSON, REL, TRANSMISSION, describe, native_inputs
from .exceptions import OgcError
from .joblist import job_list_page
from .openapi30 import MAX_LIMIT, OAS30, PROCESS_LIMIT, openapi30
from ...jobs.outputs import NoSuchOutput
from .results import failure, results_of, results_response

SPEC = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
CONFORMANCE = [SPEC + c for c in ("core", "ogc-process-description", "json", "oas30", "job-list",
                                  "dismiss", "callback")] + [
    "http://www.opengis.net/spec/ogcapi-processes-3/0.0/conf/nested-processes"]  # Part 3 (draft): chains


@dataclass
class Face:
    """What the OGC views share: kept in the Flask app's ``extensions["qed_ogc"]``."""

    runtime: Runtime
    celery: Celery
    processes: dict[str, tuple[App, Model]]
    openapi: dict[str, Any] | None = None


def face() -> Face:
    return current_app.extensions["qed_ogc"]


def base() -> str:
    return request.url_root.rstrip("/")


def lookup(pid: str) -> tuple[App, Model]:
    processes = face().processes
    if pid not in processes:
        raise OgcError(404, "no-such-process", f"no process {pid!r}; see {base()}/processes")
    return processes[pid]


def read(job_id: str, **kwargs: Any) -> dict[str, Any]:
    return access.read(face().runtime.store, job_id, caller_of(request.environ), **kwargs)


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


def conformance() -> Any:
    return {"conformsTo": CONFORMANCE}


def api() -> Any:
    state = face()
    if state.openapi is None:
        state.openapi = openapi30(state.processes)
    return Response(jsonutil.dumps(dict(state.openapi, servers=[{"url": base()}])), content_type=OAS30)


def process_list() -> Any:
    limit = int_arg("limit", PROCESS_LIMIT, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, None)
    processes = face().processes
    ids = list(processes)
    root = base()
    links = [{"href": request.url, "rel": "self", "type": JSON, "title": "this document"}]
    if offset + limit < len(ids):
        links.append({"href": f"{root}/processes?{urlencode({'limit': limit, 'offset': offset + limit})}",
                      "rel": "next", "type": JSON, "title": "next page"})
    if offset:  # past the end, the previous page is the last one
        back = max(0, min(offset - limit, (len(ids) - 1) // limit * limit))
        links.append({"href": f"{root}/processes?{urlencode({'limit': limit, 'offset': back})}",
                      "rel": "prev", "type": JSON, "title": "previous page"})
    return {"processes": [describe(pid, *processes[pid], root, full=False) for pid in ids[offset:offset + limit]],
            "links": links}


def process(pid: str) -> Any:
    return describe(pid, *lookup(pid), base())


def execute(pid: str) -> Any:
    """Run a process: a job like any other; the results when it finishes within the wait
    (``QED_SYNC_WAIT``, or ``Prefer: wait=N`` if shorter), else 201 and the job."""
    app, model = lookup(pid)
    state = face()
    body = json_body()
    if "inputs" not in body:  # an execute request names its inputs, even a flat body's
        raise missing_inputs(body, model.inputs)
    mode = body.get("response", "raw")
    if mode not in ("raw", "document"):
        raise OgcError(400, "bad-request", "response must be 'raw' or 'document'")
    wanted, references = outputs(model, body.get("outputs"))
    inputs, as_array = native_inputs(model, body.get("inputs", {}))
    extra = {"subscriber": subscriber(body.get("subscriber")), "label": body.get("label"),
             "ogc": {"outputs": wanted, "references": references, "response": mode, "array": as_array}}
    prefer = preferences(request.headers.getlist("Prefer"))
    wait = wait_seconds(prefer, state.runtime.settings.sync_wait)  # read before anything is submitted
    cache = cache_allowed(body, request.headers.getlist("Cache-Control"))
    if chain.nested(inputs):  # Part 3: inputs that are other processes' outputs
        job_id = chain.submit_chain(state.runtime, state.celery, state.processes.get, app, model, inputs,
                                    client_of(request.environ), extra, base(),
                                    prepare=lambda inner, given: native_inputs(inner, given)[0], cache=cache)
    else:
        job_id = submit.submit(state.runtime, state.celery, app, model, inputs, client_of(request.environ),
                               extra, callback_base=base(), cache=cache, waits="respond-async" not in prefer)
    location = f"{base()}/jobs/{job_id}"
    store = state.runtime.store
    if "respond-async" not in prefer:
        record = wait_for_job(state.runtime, job_id, state.runtime.settings.sync_wait if wait is None else wait,
                              raw=True)  # None: no waiting slot free
        if record is not None and record["status"] == jobs.SUCCESS:
            # rel=monitor unquoted: a token (RFC 8288), as OGC's test suite matches it
            return results_response(record, model, base(), mode, {"Link": f"<{location}>; rel=monitor"})
        if record is not None and record["status"] == jobs.FAILURE:
            raise failure(record)
    headers = {"Location": location}
    if "respond-async" in prefer:
        headers["Preference-Applied"] = "respond-async"
    record = store.get(job_id, data=False)
    return Response(jsonutil.dumps(status_info(record, base())), status=201, mimetype=JSON, headers=headers)


def job_list() -> Any:
    return job_list_page(face().runtime, face().processes, base())


def job(job_id: str) -> Any:
    return status_info(read(job_id, data=False), base())


def finished(job_id: str) -> dict[str, Any]:
    """A successful job's record, with its data; else the exception the standard names."""
    record = read(job_id, raw=True)
    status = record.get("status")
    if status in jobs.ACTIVE:
        raise OgcError(404, "result-not-ready", f"job {job_id} is {STATUS[status]}; no results yet")
    if status == jobs.FAILURE:
        raise failure(record)
    if status != jobs.SUCCESS:
        raise OgcError(404, "no-such-job", f"job {job_id} was dismissed; its results are gone")
    return record


def model_of(record: dict[str, Any]) -> Model | None:
    return face().processes.get(record.get("task", ""), (None, None))[1]


def job_results(job_id: str) -> Any:
    record = finished(job_id)
    return results_response(record, model_of(record), base(), "document")


def job_output(job_id: str, output: str) -> Any:
    """One output of a finished job, its value as the results give it (where an output
    sent by reference points); 404 ``no-such-output`` names the job's outputs."""
    record = finished(job_id)
    values = results_of(record, model_of(record), selected=False)
    if output not in values:
        raise OgcError(404, "no-such-output", str(NoSuchOutput(output, list(values))))
    return Response(jsonutil.dumps(values[output]), mimetype=JSON)


def dismiss(job_id: str) -> Any:
    """Dismiss: a queued job never runs, a running one's result is dropped, a finished
    one's results are no longer served."""
    state = face()
    cancel.dismiss(state.celery, state.runtime, read(job_id, data=False))
    return status_info(state.runtime.store.get(job_id, data=False), base())


# -- reading a request ------------------------------------------------------------------
def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise OgcError(415, "unsupported-media-type",
                       f"send application/json (got {request.mimetype or 'no content type'})")
    try:  # as the native API parses it: a member of the body or of its inputs named twice is refused
        text = request.get_data(cache=False).decode("utf-8-sig")
        body = jsonutil.loads_lazy(text, _whole)
    except NameTwice as exc:
        raise InputError([{"run": None, "field": str(short_value(exc.name)), "value": None,
                           "rule": f"named twice in {exc.where}: give each once"}]) from None
    except NotUnicode as exc:
        raise OgcError(400, "bad-request", f"the body is not Unicode text: {exc}") from None
    except RecursionError:
        raise OgcError(400, "bad-request", "the body is not valid JSON: nested too deeply") from None
    except ValueError:  # UnicodeDecodeError too
        raise OgcError(400, "bad-request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise OgcError(400, "bad-request", 'the body must be an execute request: {"inputs": {...}}')
    return body


def _whole(inputs: Any) -> Any:
    """An execute request's ``inputs``, parsed a member at a time (a name given twice is
    refused), then held whole."""
    return dict(inputs.items()) if inputs.is_object else [value for _, value in inputs.items()]


def subscriber(given: Any) -> Any:
    """The callback subscriber to check: an empty object (every member of subscriber.yaml
    is optional) asks for no callback."""
    return None if given == {} else given


def outputs(model: Model, given: Any) -> tuple[list[str] | None, list[str]]:
    """The output ids an execute request selects (None: all of them), and those it asks
    sent by reference."""
    if given is None or given == {}:
        return None, []
    if not isinstance(given, dict):
        raise OgcError(400, "bad-request", "outputs must be an object: {output id: {...}}")
    known = set(model.outputs) | ({EXCEEDS} if model.risk is not None else set())
    unknown = [k for k in given if known and k not in known]
    if unknown:
        raise OgcError(400, "no-such-output", f"no output {unknown[0]!r}; outputs are {', '.join(sorted(known))}")
    references = []
    for name, spec in given.items():
        if spec is not None and not isinstance(spec, dict):
            raise OgcError(400, "bad-request", f"output {name}: must be an object (transmissionMode, format)")
        mode = (spec or {}).get("transmissionMode", "value")
        if mode not in TRANSMISSION:
            raise OgcError(400, "bad-request",
                           f"output {name}: transmissionMode must be one of {', '.join(TRANSMISSION)}")
        if mode == "reference":
            references.append(name)
        media = _media_type((spec or {}).get("format"))
        if media is not None and media != JSON:
            raise OgcError(400, "bad-request", f"output {name}: format {media[:60]!r} is not one this process "
                                               f"gives; its outputs are {JSON}")
    return list(given), references


def _media_type(found: Any) -> str | None:
    """The media type an output's ``format`` asks for (None: any), its parameters aside."""
    if found is None:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("mediaType", ""), str):
        raise OgcError(400, "bad-request", 'an output\'s format is an object: {"mediaType": "application/json"}')
    media = found.get("mediaType")
    return media.split(";")[0].strip().lower() if media else None
