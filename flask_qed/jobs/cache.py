"""The result cache: a job identical to one already run is answered from it.

Two jobs are identical when their fingerprints agree (:mod:`.fingerprint`: app,
model, model version, project version and the validated inputs). At submission
(:func:`flask_qed.jobs.submit.submit`, the one path of every face):

* an identical job that ended SUCCESS and has not expired answers the new one: a
  **hit**. The new job is recorded as its own (its own id, owner and times) and is
  SUCCESS at once, with a copy of the data and ``cached_from`` naming the job it
  came from; no task is published.
* else an identical job still queued or running is **joined**: the new job is
  recorded PENDING with ``cached_from`` naming it, no task is published, and it
  ends when that job ends (:mod:`.follow` says how, failure and cancellation included).
* else it is a **miss**, and runs.

Only jobs that ran themselves serve (never a hit or a joiner), so a result is
served no longer than its own run's time to live.

Whose jobs may serve (``QED_CACHE_SCOPE``): ``owner`` (the default) — the
caller's own jobs only, when API keys are on; with keys off every caller may read
every job anyway, so all callers count as one owner and share. ``all`` — any
client's identical job serves any other. ``QED_CACHE=off`` turns the lookup off
(fingerprints are still recorded, for provenance and for later lookups); a request
turns it off for itself with ``"cache": false`` beside ``inputs`` or
``Cache-Control: no-cache`` (its job still serves later ones).
"""
from __future__ import annotations

import logging
from typing import Any

from .. import metrics
from ..runtime import Runtime
from ..stores import Caps, JobNotFound, JobStore
from ..jsonutil import Packed
from . import follow
from .prov import software
from .record import created_iso, run_facts
from .states import PENDING, STARTED, SUCCESS

logger = logging.getLogger(__name__)

HIT, JOIN, MISS = "hit", "join", "miss"
LOOK_AT = 20  # identical jobs read by a lookup at once


def scope_owner(runtime: Runtime, owner: str | None) -> tuple[bool, str | None]:
    """(whether to look, whose jobs may serve: None for anyone's)."""
    s = runtime.settings
    if s.cache_scope == "all" or not s.api_keys_file:
        return True, None
    return owner is not None, owner


def lookup(runtime: Runtime, fingerprint: str, owner: str | None,
           labels: tuple[str, str]) -> tuple[str, dict[str, Any] | None]:
    """(HIT, the job that serves), (JOIN, the job to join) or (MISS, None); counted."""
    look, whose = scope_owner(runtime, owner)
    found: tuple[str, dict[str, Any] | None] = (MISS, None)
    if look:
        store = runtime.store
        # One query for both (a miss, the common case, costs one); a finished run serves
        # before a running one is joined.
        same = store.with_fingerprint(fingerprint, (SUCCESS, PENDING, STARTED), owner=whose, limit=LOOK_AT)
        done = [r for r in same if r.get("status") == SUCCESS]
        if not done and len(same) == LOOK_AT:  # many running: a finished one may be further down
            done = store.with_fingerprint(fingerprint, (SUCCESS,), owner=whose)
        if done:
            found = (HIT, done[0])
        elif same:
            found = (JOIN, same[0])
    metrics.CACHE_LOOKUPS.labels(*labels, found[0]).inc()
    return found


def answer_hit(store: JobStore, job_id: str, fields: dict[str, Any], origin: dict[str, Any]) -> dict[str, Any] | None:
    """Record ``job_id`` as answered from ``origin``; the record written (without data),
    or None when ``origin`` is no longer there to serve (the caller then runs it)."""
    try:
        found = store.get(origin["job_id"], packed=True, table=True, as_stored=True)  # copied as it is
    except JobNotFound:
        return None
    if found.get("status") != SUCCESS:
        return None
    data = found.pop("data", None)
    table = found.pop("table", None)
    now = created_iso()
    record = {**fields, "status": SUCCESS, "progress": 100, "created": now, "started": now, "finished": now,
              "queued_at": 0.0, "cached_from": origin["job_id"], "origin": run_facts(found),
              "software": software(libraries=False)}
    store.create(job_id, {**record, "data": Packed(data) if data is not None else None,
                          **({"table": Packed(table)} if table is not None else {})})
    logger.info("job %s: answered from job %s", job_id, origin["job_id"],
                extra={"job_id": job_id, "event": "cache_hit", "origin": origin["job_id"]})
    return {**record, "job_id": job_id}


def join(store: JobStore, job_id: str, fields: dict[str, Any], origin: dict[str, Any],
         caps: Caps | None = None) -> None:
    """Record ``job_id`` as joining ``origin`` (queued or running): it ends when that ends.
    ``caps``: its owner's fair-use caps (:meth:`~flask_qed.stores.JobStore.create`)."""
    record = {**fields, "cached_from": origin["job_id"]}
    store.create(job_id, record, caps)
    logger.info("job %s: joined job %s", job_id, origin["job_id"],
                extra={"job_id": job_id, "event": "cache_join", "origin": origin["job_id"]})
    # The joined job may have ended between the lookup and the write above, after its
    # worker settled its joiners: look once more, so this one is never left waiting.
    follow.settle(store, {**record, "job_id": job_id})
