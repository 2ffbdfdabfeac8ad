"""Jobs that joined an identical job still queued or running: how they end.

A job submitted while an identical one (the same fingerprint, see
:mod:`.fingerprint`) is queued or running is not run twice: it is recorded
PENDING with ``cached_from`` naming that job, and no task is published. It ends
when that job ends:

* SUCCESS: the joiner takes its data and ends SUCCESS;
* FAILURE: the joiner fails with the same error (the same inputs, model and
  versions: a second run would fail alike);
* REVOKED (cancelled, dismissed) or gone (expired): the joiner is a joiner no
  more. It becomes an ordinary queued job (``cached_from`` removed, ``joined``
  keeps the id) that the reconciler publishes at its next sweep, and runs on its own.

Three paths settle a joiner, so that none is left waiting: the worker that ends
the job joined (at once; it also wakes the joiners' waiters), every read of the
joiner (:func:`flask_qed.jobs.access.read` and the waits), and the reconciler's
sweep, which sees a joiner as a job queued too long. Settling twice is harmless:
each write is conditional on the joiner still being queued or running.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from ..jsonutil import Packed
from ..stores import JobNotFound, JobStore
from .record import now_iso, run_facts
from .states import ACTIVE, FAILURE, PENDING, STARTED, SUCCESS

logger = logging.getLogger(__name__)

WHILE_ACTIVE = (PENDING, STARTED)


def joining(record: dict[str, Any]) -> bool:
    """Whether ``record`` is a joiner still waiting for the job it joined."""
    return record.get("status") in ACTIVE and bool(record.get("cached_from"))


def settle(store: JobStore, record: dict[str, Any]) -> dict[str, Any] | None:
    """End or release the joiner ``record`` if the job it joined has ended; the
    joiner's fields written (None: nothing written, it still waits, or is no joiner)."""
    if not joining(record):
        return None
    origin_id = record["cached_from"]
    try:
        origin: dict[str, Any] | None = store.get(origin_id, data=False)
    except JobNotFound:
        origin = None
    if origin is not None and origin.get("status") in ACTIVE:
        # Still running: the reconciler looks again after its grace, not at every sweep.
        store.finish(record["job_id"], {"queued_at": time.time()}, only_if=WHILE_ACTIVE)
        return None
    fields = outcome(store, origin_id, origin)
    if not store.finish(record["job_id"], fields, only_if=WHILE_ACTIVE):
        return None  # settled meanwhile, or cancelled
    logger.info("job %s: %s with the job it joined, %s", record["job_id"],
                "ended" if "status" in fields else "runs on its own", origin_id,
                extra={"job_id": record["job_id"], "event": "joined", "origin": origin_id})
    fields.pop("data", None)
    return {**record, **fields}


def outcome(store: JobStore, origin_id: str, origin: dict[str, Any] | None) -> dict[str, Any]:
    """The fields that settle a joiner of ``origin`` (None: gone)."""
    ended = {"finished": now_iso(), "lease_until": 0}
    if origin is not None and origin.get("status") == SUCCESS:
        try:
            data = store.get(origin_id, packed=True).get("data")
        except JobNotFound:  # expired this very moment: run on its own
            data, origin = None, None
        if origin is not None:
            return {**ended, "status": SUCCESS, "progress": 100, "origin": run_facts(origin),
                    "data": Packed(data) if data is not None else None}
    if origin is not None and origin.get("status") == FAILURE:
        return {**ended, "status": FAILURE, "origin": run_facts(origin),
                "error": f"the identical job {origin_id} failed: {origin.get('error') or 'no message'}"}
    # Cancelled, dismissed or gone: an ordinary queued job, published at the next sweep.
    return {"cached_from": None, "joined": origin_id, "queued_at": 0.0}


def settle_followers(store: JobStore, job_id: str) -> list[dict[str, Any]]:
    """Settle every joiner of ``job_id`` (which just ended); the joiners as left."""
    settled = []
    for record in store.followers(job_id):
        try:
            done = settle(store, record)
        except JobNotFound:
            continue
        if done is not None:
            settled.append(done)
    return settled
