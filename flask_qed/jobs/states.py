"""A job's states: one vocabulary for the record, the stores, the metrics and the documents."""
from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a job is. The names are the original flask_qed vocabulary (and Celery's)."""

    PENDING = "PENDING"    # recorded and queued, not yet taken by a worker
    STARTED = "STARTED"    # a worker holds it (and renews its lease)
    SUCCESS = "SUCCESS"    # finished with data
    FAILURE = "FAILURE"    # finished with an error
    REVOKED = "REVOKED"    # cancelled or dismissed: never runs (again), no data served


PENDING, STARTED, SUCCESS, FAILURE, REVOKED = State
ACTIVE = frozenset({PENDING, STARTED})
TERMINAL = frozenset({SUCCESS, FAILURE, REVOKED})
