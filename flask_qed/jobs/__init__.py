"""Jobs: the one way every face of the gateway works with them.

A job is a model run recorded in the store. This package holds its vocabulary
(:mod:`.states`, :mod:`.record`) and the operations the faces share:

* :mod:`.submit` — validate, check quotas, write the record, queue the task;
* :mod:`.access` — the caller, and reading a job as the caller may see it;
* :mod:`.waiting` — waiting for a job to finish, with a bounded number of waiters;
* :mod:`.listing` — jobs newest first, a page at a time, with a cursor;
* :mod:`.cancel` — cancel (native) and dismiss (OGC);
* :mod:`.status` — the OGC statusInfo view of a record (also what callbacks post);
* :mod:`.outputs` — a finished job's outputs, one or a selection, from its stored data;
* :mod:`.subscriber` — which callback URLs a job may name;
* :mod:`.fingerprint`, :mod:`.cache`, :mod:`.follow` — the result cache: what makes two
  jobs identical, answering from a finished one, joining a running one;
* :mod:`.prov` — a job's provenance as W3C PROV-JSON;
* :mod:`.chain`, :mod:`.steps` — model chains: a process's input given as another's output.

Only the vocabulary is imported here, so that stores and metrics can use the
states without loading the operations (which import the stores).
"""
from __future__ import annotations

from .record import JobRecord, error_text, new_record, now_iso, public
from .states import ACTIVE, FAILURE, PENDING, REVOKED, STARTED, SUCCESS, TERMINAL, State

__all__ = ["ACTIVE", "FAILURE", "PENDING", "REVOKED", "STARTED", "SUCCESS", "TERMINAL", "State",
           "JobRecord", "error_text", "new_record", "now_iso", "public"]
