"""Model chains: an input whose value is another process's output (OGC API – Processes
Part 3, nested processes).

An execute request's input may be ``{"process": "<url of a process>", "inputs":
{...}, "outputs": {"<output id>": {}}}``: that process runs first and its named
output becomes the input's value. Each step is a job of its own in the store (its
own id, owner, record and result); the client sees one job, the outermost.

How it runs, with the store as the source of truth, as for every job:

1. :func:`submit_chain` first checks the whole chain (every nested process, its
   output and inputs, each job's own inputs, the owner's room for all of its jobs),
   so that a refused chain writes nothing. It then gives the outer job an id,
   submits each nested process as an ordinary job (validated, queued, counted
   against the owner's caps) whose record names the job it ``feeds``, and writes
   the outer record: status PENDING,
   its own inputs, ``waits_for`` (input → step job and output) and the task
   :data:`ADVANCE`. Nothing of the outer job is queued yet.
2. When a step ends, the worker that ended it calls :func:`advance` for the job it
   feeds. Once every step has succeeded, the outer inputs are completed with the
   steps' outputs and validated as any submission's are; the record then takes the
   model's task, ``waits_for`` gives way to ``steps``, and the job is queued. A step
   that failed or was cancelled fails the outer job, naming the step; outer inputs
   that do not validate fail it with the validation message.
3. Nothing is lost if a worker dies between (1) and (2): the reconciler publishes
   any job still PENDING after its grace period with the task its record names, and
   :data:`ADVANCE`'s task is :func:`advance` itself. Publishing twice is harmless
   (the atomic claim runs a job once).

Only this server's processes can be nested (the URL's last ``/processes/<id>``
names one of them); nothing is fetched from another server.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from .. import metrics
from ..errors import ApiError
from ..model import InputError, Model
from ..validation import RunCheck
from ..plugins import App
from ..runtime import Runtime
from ..stores import OverCaps
from .cancel import cancel
from .label import check_label
from .record import new_record
from .steps import ADVANCE, advance
from .submit import caps_of, over_caps, submit

logger = logging.getLogger(__name__)

MAX_DEPTH = 8                      # processes nested in one another
Find = Callable[[str], "tuple[App, Model] | None"]


def nested(inputs: Any) -> dict[str, dict[str, Any]]:
    """The inputs whose value is a nested process (``{"process": url, ...}``)."""
    if not isinstance(inputs, dict):
        return {}
    return {name: value for name, value in inputs.items()
            if isinstance(value, dict) and isinstance(value.get("process"), str)}


def process_id(url: str) -> str:
    """``.../processes/<id>`` (or a bare id) → the id."""
    tail = url.split("?", 1)[0].rstrip("/")
    return tail.rsplit("/processes/", 1)[-1] if "/processes/" in tail else tail


@dataclass
class _Step:
    """A nested process, checked before anything of its chain is submitted: its model, its
    inputs (native, its own steps still in them), the output it gives and where it goes."""
    app: App
    model: Model
    inputs: dict[str, Any]
    output: str
    pid: str
    steps: dict[str, "_Step"]


def submit_chain(runtime: Runtime, celery: Any, find: Find, app: App, model: Model, inputs: dict[str, Any],
                 owner: str | None, extra: dict[str, Any] | None = None, callback_base: str | None = None,
                 prepare: Callable[[Model, Any], Any] = lambda model, inputs: inputs, cache: bool = True) -> str:
    """Submit ``model`` whose ``inputs`` nest other processes; the outer job's id.
    ``prepare`` turns a nested process's inputs, as the face takes them, into native ones;
    ``callback_base`` (the face's root URL) names this server, whose processes alone may be
    nested; ``cache``: False when the request opted out of the result cache (for every step).

    Every level is checked first (processes, outputs, each job's own inputs, the owner's
    room for all its jobs), so that a refused chain submits nothing; a step refused by a
    write meanwhile (a cap reached by another request) cancels those submitted before it."""
    steps = _plan(find, model, inputs, prepare, callback_base, 0)
    if not steps:
        return submit(runtime, celery, app, model, inputs, owner, extra, callback_base=callback_base, cache=cache)
    check_label((extra or {}).get("label"))
    _check_room(runtime, owner, 1 + _count(steps))
    submitted: list[str] = []
    try:
        return _submit_level(runtime, celery, app, model, inputs, steps, owner, extra, callback_base, cache,
                             submitted)
    except Exception:
        for job_id in reversed(submitted):  # nothing of a refused chain is left to run
            try:
                cancel(celery, runtime, job_id)
            except Exception as exc:  # noqa: BLE001 - the step's own end, or the purge, ends it
                logger.warning("job %s: a step of a refused chain not cancelled: %s", job_id, exc)
        raise


def _plan(find: Find, model: Model, inputs: dict[str, Any], prepare: Callable[[Model, Any], Any],
          origin: str | None, depth: int) -> dict[str, _Step]:
    """The steps of ``model``'s ``inputs``, each checked, its own steps within it; raises
    :class:`InputError` naming the first fault. A job with steps has its own inputs checked
    as far as they can be without the steps' outputs; a job without is validated whole."""
    if depth >= MAX_DEPTH:
        raise InputError([{"run": None, "field": "inputs", "value": depth,
                           "rule": f"processes nest at most {MAX_DEPTH} deep"}])
    given = nested(inputs)
    if not given:
        if depth:
            model.validate(inputs)
        return {}
    names = set(model.inputs.model_fields) if model.inputs is not None else set()
    steps: dict[str, _Step] = {}
    for name, spec in given.items():
        if name not in names:
            raise InputError([{"run": None, "field": name, "value": spec["process"][:200],
                               "rule": f"{model.name} has no input {name!r}"}])
        elsewhere = _other_server(spec["process"], origin)
        if elsewhere:
            raise InputError([{"run": None, "field": name, "value": spec["process"][:200],
                               "rule": f"a process of another server ({elsewhere[:80]}): only this "
                                       "server's own processes can be nested"}])
        pid = process_id(spec["process"])
        found = find(pid)
        if found is None:
            raise InputError([{"run": None, "field": name, "value": spec["process"][:200],
                               "rule": "no such process on this server (only its own processes can be nested)"}])
        inner_app, inner_model = found
        wanted = spec.get("outputs") or {}
        if not isinstance(wanted, dict) or len(wanted) != 1:
            raise InputError([{"run": None, "field": name, "value": sorted(wanted) if isinstance(wanted, dict) else None,
                               "rule": "a nested process names the one output it gives: "
                                       '"outputs": {"<output id>": {}}'}])
        output = next(iter(wanted))
        if output not in inner_model.outputs:
            raise InputError([{"run": None, "field": name, "value": output,
                               "rule": f"{pid} has no output {output!r}; it has {', '.join(inner_model.outputs)}"}])
        inner_inputs = spec.get("inputs", {})
        if not isinstance(inner_inputs, dict):
            raise InputError([{"run": None, "field": name, "value": None,
                               "rule": "a nested process's inputs are an object"}])
        native = prepare(inner_model, inner_inputs)
        steps[name] = _Step(inner_app, inner_model, native, output, pid,
                            _plan(find, inner_model, native, prepare, origin, depth + 1))
    _check_own(model, {k: v for k, v in inputs.items() if k not in given}, set(given))
    return steps


def _check_own(model: Model, own: dict[str, Any], from_steps: set[str]) -> None:
    """A job's own inputs, beside those its steps will give: what validation finds wrong
    in them (an unknown name, a value out of range), not what waits for the steps (their
    inputs missing, a model's check of the whole run, which sees their defaults)."""
    try:
        model.validate(own)
    except InputError as exc:
        errors = [e for e in exc.errors if not isinstance(e, RunCheck)
                  and str(e.get("field")).split(".")[0] not in (*from_steps, "inputs")]
        if errors:
            raise InputError(errors) from None


def _other_server(url: str, origin: str | None) -> str | None:
    """The host of a process URL that names another server than ``origin`` (this face's
    root URL, as the request named it), else None. Host names are compared, not schemes
    or ports, which a proxy in front may change (TLS ended before it, a published port it
    does not pass on); a URL without a host (a path, an id) is this server's, and so is
    one that names it by another loopback name (``127.0.0.1`` for ``localhost``)."""
    given = urlsplit(url)
    if not given.netloc or origin is None:
        return None
    return None if _host(given) == _host(urlsplit(origin)) else given.netloc


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def _host(url: Any) -> str:
    host = (url.hostname or url.netloc).lower()
    return "loopback" if host in _LOOPBACK else host


def _count(steps: dict[str, _Step]) -> int:
    """The jobs ``steps`` make, theirs included."""
    return sum(1 + _count(step.steps) for step in steps.values())


def _check_room(runtime: Runtime, owner: str | None, jobs: int) -> None:
    """Fair use, for all of a chain's jobs at once: refused (429) when the owner's jobs
    queued or running and these would pass ``QED_MAX_ACTIVE_JOBS``. Each job's write
    checks its own place again."""
    if owner is None:
        return
    caps = caps_of(runtime)
    if jobs > caps.jobs:
        raise InputError([{"run": None, "field": "inputs", "value": jobs,
                           "rule": f"a chain of {jobs} jobs never fits beside the most one client may have "
                                   f"queued or running at once (QED_MAX_ACTIVE_JOBS={caps.jobs})"}])
    active = runtime.store.count_active(owner)
    if active[0] + jobs > caps.jobs:
        raise ApiError(429, f"this chain's {jobs} jobs and the {active[0]} you have queued or running exceed "
                            f"the most allowed at once (QED_MAX_ACTIVE_JOBS={caps.jobs}); submit again when "
                            f"some finish", headers={"Retry-After": "5"})


def _submit_level(runtime: Runtime, celery: Any, app: App, model: Model, inputs: dict[str, Any],
                  steps: dict[str, _Step], owner: str | None, extra: dict[str, Any] | None,
                  callback_base: str | None, cache: bool, submitted: list[str]) -> str:
    """Submit a checked job and its steps, innermost first; each id is added to
    ``submitted`` as it is written."""
    if not steps:
        job_id = submit(runtime, celery, app, model, inputs, owner, extra, callback_base=callback_base, cache=cache)
        submitted.append(job_id)
        return job_id
    label = check_label((extra or {}).get("label"))
    job_id = str(uuid.uuid4())
    bindings: dict[str, dict[str, str]] = {}
    for name, step in steps.items():
        inner_id = _submit_level(runtime, celery, step.app, step.model, step.inputs, step.steps, owner,
                                 {"feeds": job_id}, callback_base, cache, submitted)
        bindings[name] = {"job": inner_id, "output": step.output, "process": step.pid}
    fields = {k: v for k, v in {**(extra or {}), "label": label}.items() if v is not None}
    own = {k: v for k, v in inputs.items() if k not in steps}
    record = {**new_record(app.name, model.name, model.version, ADVANCE), "owner": owner, "rows": 0}
    try:  # checked again by the write: exact on SQLite
        runtime.store.create(job_id, {**fields, **record, "inputs": own, "waits_for": bindings}, caps_of(runtime))
    except OverCaps as refusal:
        raise over_caps(refusal) from None
    submitted.append(job_id)
    metrics.JOBS_SUBMITTED.labels(app.name, model.name).inc()
    advance(runtime, celery, job_id)  # steps that ended already (a cache hit, a fast worker)
    return job_id
