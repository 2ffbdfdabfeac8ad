"""Stopping a running job: a worker remote-control command, ``qed_cancel``.

Celery's ``revoke(terminate=True)`` sends one signal and forgets the request,
so a task that survives SIGTERM (C code, or code that swallows the exception)
would keep its pool slot. ``qed_cancel`` runs in every worker's main process:
the one running the job sends SIGTERM to that pool process and, if the job is
still running ``grace`` seconds later, SIGKILL. The pool then starts a new
process, so the slot is free within ``grace`` seconds and the pool's start of
another process (two or three more on a busy machine). The task itself also
stops between chunks when it sees REVOKED in the store (flask_qed.tasks).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from celery.worker import state as worker_state
from celery.worker.control import control_command

logger = logging.getLogger(__name__)


@control_command(args=[("job_id", str), ("grace", float)], signature="<job_id> [grace]")
def qed_cancel(state: Any, job_id: str, grace: float = 3.0, **_: Any) -> dict[str, Any]:
    """Stop the job ``job_id`` if this worker runs it: SIGTERM now, SIGKILL after ``grace`` s."""
    worker_state.revoked.add(job_id)  # a copy still queued here is dropped
    request = next((r for r in list(worker_state.active_requests) if r.id == job_id), None)
    if request is None or not request.time_start or not request.worker_pid:
        return {"ok": "not running here"}
    pid, pool = request.worker_pid, state.consumer.pool
    result = request._apply_result() if request._apply_result is not None else None  # noqa: SLF001
    logger.info("job %s: cancelled, stopping pool process %d", job_id, pid,
                extra={"job_id": job_id, "event": "terminate", "pid": pid})
    request.terminate(pool, signal=signal.SIGTERM)

    def kill() -> None:
        if result is not None and result.ready():
            return  # it stopped
        if _ended(pid):
            return  # SIGTERM ended it: the pool has not yet seen the process go (a zombie till then)
        try:
            os.kill(pid, signal.SIGKILL)
            logger.warning("job %s: pool process %d ignored SIGTERM for %.0f s; killed", job_id, pid, grace,
                           extra={"job_id": job_id, "event": "killed", "pid": pid})
        except ProcessLookupError:
            pass

    timer = threading.Timer(grace, kill)
    timer.daemon = True
    timer.start()
    return {"ok": f"terminating {job_id}"}


def _ended(pid: int) -> bool:
    """Whether process ``pid`` has ended: gone, or a zombie its parent (the pool) has not yet
    reaped. Linux's /proc; elsewhere, not known (False)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        return False
