"""Model chains: an input whose value is another process's output (OGC API – Processes
Part 3, nested processes).

An execute request's input may be ``{"process": "<url of a process>", "inputs":
{...}, "outputs": {"<output id>": {}}}``: that process runs first and its named
output becomes the input's value. Each step is a job of its own in the store (its
own id, owner, record and result); the client sees one job, the outermost.

How it runs, with the store as the source of truth, as for every job:

1. :func:`submit_chain` gives the outer job an id, submits each nested process as
   an ordinary job (validated, queued, counted against the owner's caps) whose
   record names the job it ``feeds``, then writes the outer record: status PENDING,
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

import uuid
from typing import Any, Callable

from .. import metrics
from ..model import InputError, Model
from ..plugins import App
from ..runtime import Runtime
from ..stores import OverCaps
from .label import check_label
from .record import new_record
from .steps import ADVANCE, advance
from .submit import caps_of, check_quota, over_caps, submit

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


def submit_chain(runtime: Runtime, celery: Any, find: Find, app: App, model: Model, inputs: dict[str, Any],
                 owner: str | None, extra: dict[str, Any] | None = None, callback_base: str | None = None,
                 prepare: Callable[[Model, Any], Any] = lambda model, inputs: inputs, depth: int = 0) -> str:
    """Submit ``model`` whose ``inputs`` nest other processes; the outer job's id.
    ``prepare`` turns a nested process's inputs, as the face takes them, into native ones."""
    if depth >= MAX_DEPTH:
        raise InputError([{"run": None, "field": "inputs", "value": depth,
                           "rule": f"processes nest at most {MAX_DEPTH} deep"}])
    steps = nested(inputs)
    if not steps:
        return submit(runtime, celery, app, model, inputs, owner, extra, callback_base=callback_base)
    label = check_label((extra or {}).get("label"))
    names = set(model.inputs.model_fields) if model.inputs is not None else set()
    job_id = str(uuid.uuid4())
    bindings: dict[str, dict[str, str]] = {}
    for name, spec in steps.items():
        if name not in names:
            raise InputError([{"run": None, "field": name, "value": spec["process"][:200],
                               "rule": f"{model.name} has no input {name!r}"}])
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
        inner_id = submit_chain(runtime, celery, find, inner_app, inner_model, prepare(inner_model, inner_inputs),
                                owner, {"feeds": job_id}, callback_base, prepare, depth + 1)
        bindings[name] = {"job": inner_id, "output": output, "process": pid}
    check_quota(runtime, owner, 0)
    fields = {k: v for k, v in {**(extra or {}), "label": label}.items() if v is not None}
    own = {k: v for k, v in inputs.items() if k not in steps}
    record = {**new_record(app.name, model.name, model.version, ADVANCE), "owner": owner, "rows": 0}
    try:  # checked again by the write: exact on SQLite
        runtime.store.create(job_id, {**fields, **record, "inputs": own, "waits_for": bindings}, caps_of(runtime))
    except OverCaps as refusal:
        raise over_caps(refusal) from None
    metrics.JOBS_SUBMITTED.labels(app.name, model.name).inc()
    advance(runtime, celery, job_id)  # steps that ended already (a cache hit, a fast worker)
    return job_id
