"""Stopping a job: cancel (the native API's DELETE) and dismiss (OGC's)."""
from __future__ import annotations

import logging
from typing import Any

from .. import metrics
from ..runtime import Runtime
from . import notices
from .record import now_iso
from .states import ACTIVE, PENDING, REVOKED, STARTED

logger = logging.getLogger(__name__)


def cancel(celery: Any, runtime: Runtime, job_id: str) -> bool:
    """Cancel a job that has not finished; False if it had already finished.
    Raises :class:`~flask_qed.stores.JobNotFound` for an unknown id.

    The store is written first (REVOKED): a queued job is then never run and a
    running one's result is dropped. A running job is also stopped: its run sees
    REVOKED between chunks, and the worker terminates the task (SIGTERM at once,
    SIGKILL ``QED_CANCEL_GRACE`` s later if it is still there), so its slot is free.
    """
    store = runtime.store
    before = store.get(job_id, data=False)
    revoked = {"status": REVOKED, "finished": now_iso(), "lease_until": 0}
    if not store.finish(job_id, revoked, only_if=(PENDING, STARTED)):
        return False
    metrics.job_finished({**before, **revoked})  # a cancelled job's run never reports it
    notices.announce(runtime.settings.redis_url, job_id, before.get("notify"))
    logger.info("job %s: cancelled (was %s)", job_id, before["status"],
                extra={"job_id": job_id, "event": "revoked", "status": before["status"]})
    try:  # the store already guarantees a queued job is not run; this frees the slot
        if before["status"] == STARTED:
            celery.control.broadcast("qed_cancel", arguments={
                "job_id": job_id, "grace": float(runtime.settings.cancel_grace)})
        else:
            celery.control.revoke(job_id)
    except Exception as exc:  # noqa: BLE001 - the run still stops at its next chunk
        logger.warning("job %s: cancel not broadcast: %s", job_id, exc)
    return True


def dismiss(celery: Any, runtime: Runtime, record: dict[str, Any]) -> None:
    """OGC's dismiss: a queued job never runs, a running one's result is dropped, a
    finished one's results are no longer served."""
    job_id, store = record["job_id"], runtime.store
    done = {"status": REVOKED, "finished": record.get("finished") or now_iso()}
    if record["status"] in ACTIVE:
        if store.finish(job_id, done, only_if=(PENDING, STARTED)):
            notices.announce(runtime.settings.redis_url, job_id, record.get("notify"))
            try:  # spare the queue the work; the store already guarantees it is not used
                celery.control.revoke(job_id)
            except Exception as exc:  # noqa: BLE001
                logger.warning("job %s: revoke not broadcast: %s", job_id, exc)
        else:  # it finished meanwhile: dismiss the outcome instead
            store.update(job_id, {**done, "data": None})
    elif record["status"] != REVOKED:
        store.update(job_id, {**done, "data": None})
