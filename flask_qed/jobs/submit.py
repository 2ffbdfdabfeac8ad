"""Submitting a job: the one way every face starts a declared model's run.

Validate the inputs (a batch a column at a time, stored packed), fingerprint
them, answer from the result cache when an identical job has run or join one
that runs (:mod:`.cache`), else write the record within the caller's fair-use caps
(checked by the write itself), queue the task, count it. The record
is written before the message is queued, so a job id the store does not know is
unknown, never "PENDING"; if the broker cannot take the message the record says
so and the caller gets a 503.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from .. import callbacks, metrics
from ..brokers import publisher
from ..errors import ApiError, BrokerUnavailable
from ..model import Model
from ..plugins import App
from ..runtime import Runtime
from ..stores import Caps, JobNotFound, JobStore, OverCaps, StoreUnavailable
from ..version import __version__
from . import cache as results_cache
from . import notices
from .fingerprint import fingerprint
from .label import check_label
from .record import new_record, now_iso
from .states import FAILURE, PENDING, SUCCESS
from .subscriber import check_subscriber

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    """A job just submitted: its id, its status (SUCCESS at once when answered from the
    result cache) and the job whose result it took or will take (``cached_from``)."""

    job_id: str
    status: str = PENDING
    cached_from: str | None = None


def submit(runtime: Runtime, celery: Any, app: App, model: Model, inputs: Any, owner: str | None,
           extra: dict[str, Any] | None = None, on_invalid: str = "fail",
           callback_base: str | None = None, cache: bool = True,
           uploads: dict[str, str] | None = None, waits: bool = False) -> str:
    """:func:`start` a job; its id."""
    return start(runtime, celery, app, model, inputs, owner, extra, on_invalid, callback_base,
                 cache, uploads, waits).job_id


def start(runtime: Runtime, celery: Any, app: App, model: Model, inputs: Any, owner: str | None,
          extra: dict[str, Any] | None = None, on_invalid: str = "fail",
          callback_base: str | None = None, cache: bool = True,
          uploads: dict[str, str] | None = None, waits: bool = False) -> Submitted:
    """Validate, answer from the result cache or check the owner's quota, write the
    record, queue the task.

    ``extra``: more fields for the record (``subscriber``, ``ogc``, ``label``); ``None``
    values are left out. A ``label`` is checked (:mod:`.label`) and is no part of the
    fingerprint. ``callback_base``: the OGC root the links of a callback point at.
    ``cache``: False when the request opted out of the result cache (:mod:`.cache`).
    ``uploads``: form field → SHA-256 of each uploaded file's bytes. ``waits``: the caller
    waits for the job's end in this process, so its notice is addressed here (:mod:`.notices`)."""
    label = check_label((extra or {}).get("label"))
    validated, rows = model.validate_packed(inputs, on_invalid=on_invalid)
    fields = {k: v for k, v in {**(extra or {}), "label": label}.items() if v is not None}
    if "subscriber" in fields:
        fields["subscriber"] = check_subscriber(fields["subscriber"], runtime.settings.callback_allowlist)
        fields["callback_base"] = callback_base or "/ogcapi"
    job_id = str(uuid.uuid4())
    task = app.task_name(model)
    key = fingerprint(app.name, model.name, model.version, __version__, validated, uploads)
    fields.update(new_record(app.name, model.name, model.version, task), owner=owner, rows=rows,
                  inputs=validated, fingerprint=key, **({"uploads": dict(uploads)} if uploads else {}))
    if waits and notices.redis_url(runtime.settings.redis_url):
        fields["notify"] = notices.address()
    found, origin = results_cache.lookup(runtime, key, owner, (app.name, model.name)) \
        if cache and runtime.settings.cache else (results_cache.MISS, None)
    if found == results_cache.HIT and origin is not None:
        hit = results_cache.answer_hit(runtime.store, job_id, fields, origin)
        if hit is not None:  # else it expired meanwhile: run it
            metrics.JOBS_SUBMITTED.labels(app.name, model.name).inc()
            callbacks.job_finished(hit)
            return Submitted(job_id, SUCCESS, origin["job_id"])
    joined = None
    try:  # the owner's caps checked by the write itself (exact, on SQLite)
        if found == results_cache.JOIN and origin is not None:
            results_cache.join(runtime.store, job_id, fields, origin, caps_of(runtime))
            joined = origin["job_id"]
        else:
            runtime.store.create(job_id, fields, caps_of(runtime))
    except OverCaps as refusal:
        raise over_caps(refusal) from None
    if joined is None:
        if "notify" in fields:  # its waiter, in this process, need not read it before its notice
            notices.expect(runtime.settings.redis_url, job_id, fields["notify"])
        publish(celery, runtime.store, task, job_id, direct=runtime.settings.publish == "direct")
    metrics.JOBS_SUBMITTED.labels(app.name, model.name).inc()
    return Submitted(job_id, PENDING, joined)


def caps_of(runtime: Runtime) -> Caps:
    """Fair use: the most of a client's jobs, and of their runs, queued or running at once."""
    return Caps(runtime.settings.max_active_jobs, runtime.settings.max_active_rows)


def over_caps(refusal: OverCaps) -> ApiError:
    """A job refused by its owner's caps, as the client is told: 429, to come back later;
    422 for a job of more runs than the cap allows at once, which never fits."""
    (active_jobs, active_rows), caps = refusal.active, refusal.caps
    if refusal.which == "rows" and refusal.rows > caps.rows:
        rule = (f"at most {caps.rows} runs queued or running at once (QED_MAX_ACTIVE_ROWS): "
                f"send these {refusal.rows} runs as jobs of at most {caps.rows}")
        return ApiError(422, f"inputs: {rule}",
                        [{"run": None, "field": "inputs", "value": refusal.rows, "rule": rule}])
    if refusal.which == "jobs":
        return ApiError(429, f"you have {active_jobs} jobs queued or running, the most allowed at once "
                             f"(QED_MAX_ACTIVE_JOBS={caps.jobs}); submit again when one finishes",
                        headers={"Retry-After": "5"})
    return ApiError(429, f"this job's {refusal.rows} runs and the {active_rows} you have queued or running "
                         f"exceed the most allowed at once (QED_MAX_ACTIVE_ROWS={caps.rows})",
                    headers={"Retry-After": "5"})


def publish(celery: Any, store: JobStore, task: str, job_id: str, direct: bool = True) -> None:
    """Queue the job; if the broker is down, record the failure and raise
    :class:`BrokerUnavailable` (a 503)."""
    try:
        publisher(celery, direct).publish(task, job_id)
    except Exception as exc:  # kombu raises several types for an unreachable broker
        logger.error("job %s: could not queue %s: %s", job_id, task, exc)
        try:
            store.update(job_id, {"status": FAILURE, "finished": now_iso(),
                                  "error": "the job queue was unavailable; submit again"})
        except (StoreUnavailable, JobNotFound):
            pass
        raise BrokerUnavailable(str(exc)) from exc
