"""The worker's half of a model chain (see :mod:`.chain`): moving an outer job on once
its steps have ended. Runs where jobs end (the worker, and :data:`ADVANCE`'s task,
which the reconciler publishes for an outer job still waiting past its grace)."""
from __future__ import annotations

import logging
import re
from typing import Any

from .. import metrics
from ..brokers import publisher
from ..model import InputError, Model
from ..plugins import App
from ..runtime import Runtime
from ..stores import JobNotFound
from .notices import announce
from .outputs import outputs_of
from .record import now_iso
from .states import FAILURE, PENDING, SUCCESS, TERMINAL

logger = logging.getLogger(__name__)

ADVANCE = "qed.chain.advance"      # the task a waiting outer job is published with


def advance(runtime: Runtime, celery: Any, job_id: str) -> str:
    """Move a waiting outer job on: "waiting", "queued", "failed" or "done" (nothing to do)."""
    store = runtime.store
    try:
        record = store.get(job_id, inputs=True, data=False)
    except JobNotFound:
        return "done"
    record.setdefault("job_id", job_id)
    bindings = record.get("waits_for")
    if record.get("status") != PENDING or not bindings:
        return "done"
    ended: dict[str, dict[str, Any]] = {}
    for name, step in bindings.items():
        try:
            inner = store.get(step["job"], data=False)
        except JobNotFound:
            return _fail(runtime, record, step_ended(name, step, EXPIRED))
        if inner.get("status") in TERMINAL and inner.get("status") != SUCCESS:
            return _fail(runtime, record, step_ended(name, step, inner["status"], inner.get("error")))
        if inner.get("status") != SUCCESS:
            return "waiting"
        ended[name] = step
    app, model = _model_of(runtime, record)
    values = {}
    for name, step in ended.items():
        try:
            found = outputs_of(store.get(step["job"]).get("data"))
        except JobNotFound:  # expired since it was read above
            return _fail(runtime, record, step_ended(name, step, EXPIRED))
        if step["output"] not in found.values:
            return _fail(runtime, record, f"step {name} ({step['process']}) gave no output {step['output']!r}")
        value = found.values[step["output"]]
        if found.columns and not model.batch and isinstance(value, dict) and len(value) == 1:
            value = next(iter(value.values()))  # one run's column, into a model that takes one value
        values[name] = value
    try:
        validated, rows = model.validate_packed({**(record.get("inputs") or {}), **values})
    except InputError as exc:
        return _fail(runtime, record, f"InputError: the steps' outputs do not make valid inputs: {exc}")
    cap = runtime.settings.max_active_rows
    if record.get("owner") is not None and rows > cap:  # never fits, as a submission's 422 says
        return _fail(runtime, record, f"InputError: the steps' outputs make {rows} runs, more than the "
                                      f"{cap} runs one client may have queued or running at once "
                                      f"(QED_MAX_ACTIVE_ROWS); give the steps fewer runs")
    task = app.task_name(model)
    store.update(job_id, {"inputs": validated, "rows": rows, "task": task, "waits_for": None,
                          "steps": {name: step["job"] for name, step in ended.items()}})
    try:
        publisher(celery, runtime.settings.publish == "direct").publish(task, job_id)
    except Exception as exc:  # noqa: BLE001 - the record names the task: the reconciler queues it
        logger.warning("job %s: ready, not queued yet (%s); the reconciler will", job_id, exc)
        return "waiting"
    return "queued"


EXPIRED = "expired"  # a step's job gone from the store (expired) before its chain went on
# How a chain's job failed by a step says so (written by step_ended, read by step_failure).
_STEP_ENDED = re.compile(r"step \S+ \([^)]*\) (?:ended (\w+)(?:: (.*))?|expired before the chain went on)\Z",
                         re.S)


def step_ended(name: str, step: dict[str, Any], status: str, error: str | None = None) -> str:
    """The error of a chain's job failed by its step ``name``: the step ``status`` (FAILURE,
    REVOKED) with its own ``error``, or :data:`EXPIRED`."""
    where = f"step {name} ({step['process']}, job {step['job']})"
    if status == EXPIRED:
        return f"{where} expired before the chain went on"
    return f"{where} ended {status}" + (f": {error}" if error else "")


def step_failure(error: str) -> tuple[str | None, str]:
    """What failed a chain's job, from its ``error``: (None, ``error``) when no step did;
    else the innermost step's end (FAILURE, REVOKED, :data:`EXPIRED`) and its own error."""
    ended: str | None = None
    while (found := _STEP_ENDED.match(error)) is not None:
        ended, error = found.group(1) or EXPIRED, found.group(2) or ""
        if ended != FAILURE:
            break
    return ended, error


def _model_of(runtime: Runtime, record: dict[str, Any]) -> tuple[App, Model]:
    for app in runtime.apps:
        if app.name == record.get("app"):
            for model in app.models:
                if model.name == record.get("model"):
                    return app, model
    raise LookupError(f"no model {record.get('app')}.{record.get('model')} in this process")


def _fail(runtime: Runtime, record: dict[str, Any], message: str) -> str:
    job_id = record["job_id"]
    fields = {"status": FAILURE, "finished": now_iso(), "lease_until": 0, "error": message, "waits_for": None}
    if runtime.store.finish(job_id, fields, only_if=(PENDING,)):
        logger.info("job %s: %s", job_id, message, extra={"job_id": job_id, "event": "failed"})
        announce(runtime.settings.redis_url, job_id, record.get("notify"))
        metrics.job_finished({**record, **fields})
        return "failed"
    return "done"
