"""The store interface every backend implements, and what they share."""
from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ..jsonutil import LEVEL, Packed, compress, dumps, loads
from ..tablejson import json_in_table, json_of

from ..jobs.states import ACTIVE, PENDING, STARTED, SUCCESS, TERMINAL

# Fields kept small and queryable; "inputs" and "data" are stored compressed, and so is a
# large batch's "table" (its results as columns, for CSV: flask_qed.tablepack).
BLOB_FIELDS = ("inputs", "data", "table")
# A job that is queued or running never expires: its time to live starts when it finishes.
FINISHED = TERMINAL  # a finished job expires QED_RESULT_TTL after it finished
NEVER = datetime(9999, 1, 1, tzinfo=timezone.utc)


class JobNotFound(KeyError):
    """No job with this id, or it has expired."""


class StoreUnavailable(RuntimeError):
    """The store cannot be reached."""


@dataclass(frozen=True)
class Caps:
    """A client's fair-use caps: the most of its jobs (``jobs``) and of their runs
    (``rows``) queued or running at once (``QED_MAX_ACTIVE_JOBS``, ``QED_MAX_ACTIVE_ROWS``)."""

    jobs: int
    rows: int

    def refuse(self, active: tuple[int, int], rows: int) -> "OverCaps | None":
        """Why a new job of ``rows`` runs does not fit beside its owner's ``active`` (jobs,
        runs) queued or running, or None when it fits. A job of more runs than the cap
        allows is refused for them first: it would never fit."""
        if rows > self.rows:
            return OverCaps(self, active, rows, "rows")
        if active[0] >= self.jobs:
            return OverCaps(self, active, rows, "jobs")
        if active[1] + rows > self.rows:
            return OverCaps(self, active, rows, "rows")
        return None


class OverCaps(Exception):
    """A job refused by its owner's caps (:class:`Caps`): nothing was written.
    ``active``: the owner's (jobs, runs) queued or running; ``rows``: the job's runs;
    ``which``: the cap it would pass, ``"jobs"`` or ``"rows"``."""

    def __init__(self, caps: Caps, active: tuple[int, int], rows: int, which: str):
        super().__init__(f"over the cap of active {which}")
        self.caps, self.active, self.rows, self.which = caps, active, rows, which


def job_rows(fields: dict[str, Any]) -> int:
    """The runs a record counts for in its owner's caps (1 if it says none)."""
    rows = fields.get("rows")
    return 1 if rows is None else int(rows)


def claimable(meta: dict[str, Any], now: float) -> bool:
    """Whether a run may take this job now (see :meth:`JobStore.claim`)."""
    status = meta.get("status")
    return status == PENDING or (status == STARTED and float(meta.get("lease_until") or 0) < now)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def pack(value: Any) -> bytes:
    """JSON (NaN and Infinity become null, numpy values are welcome), zlib-compressed.
    A :class:`~flask_qed.jsonutil.Packed` value is that already and is written as it is."""
    if isinstance(value, Packed):
        return value  # bytes already: no copy of a large value
    return compress(dumps(value), LEVEL)


def stored_data(blob: bytes, table: Callable[[], bytes | None], job_id: str = "") -> bytes:
    """A job's ``data`` as packed JSON: as stored, or, for a batch kept as its table alone
    (:func:`flask_qed.tablepack.json_in_table`), written from ``table()`` (the stored table)."""
    if not json_in_table(blob):
        return blob
    found = table()
    if found is None:
        raise StoreUnavailable(f"job {job_id}: a result kept as its table has lost its table (a damaged record)")
    return json_of(bytes(found))


def unpack(blob: bytes, raw: bool = False) -> Any:
    """The value packed in ``blob``; with ``raw``, its JSON text as bytes (not parsed)."""
    text = zlib.decompress(blob)
    return text if raw else loads(text)


class JobStore(ABC):
    """Job records keyed by job id. A queued or running job never expires; a finished
    one expires ``ttl`` seconds after the write that finished it.

    A record is a dict: ``job_id`` plus small fields (app, model, status,
    progress, error, timestamps as ISO strings) and two large ones, ``inputs``
    and ``data``, returned only when asked for.
    """

    def __init__(self, ttl: int):
        self.ttl = ttl

    def expiry(self, status: str | None = SUCCESS) -> datetime:
        """When a record with ``status`` expires if written now: never while it is queued
        or running (a job waiting behind a long queue, or a long run, is not lost)."""
        if status not in FINISHED:
            return NEVER
        return utcnow() + timedelta(seconds=self.ttl)

    @abstractmethod
    def create(self, job_id: str, fields: dict[str, Any], caps: Caps | None = None) -> None:
        """Write a new record (may include ``inputs``); the id must be new.

        With ``caps``, a record queued or running is written only if its owner's jobs
        and runs queued or running, with it, stay within them; else :class:`OverCaps` is
        raised and nothing is written. The caps are exact: the SQLite store reads the count
        and writes the record in one transaction; MongoDB takes the job's place in its
        owner's counts with one conditional update before writing the record."""

    @abstractmethod
    def get(self, job_id: str, *, inputs: bool = False, data: bool = True,
            raw: bool = False, packed: bool = False, table: bool = False,
            as_stored: bool = False) -> dict[str, Any]:
        """The record; raises :class:`JobNotFound` for unknown or expired ids.

        With ``table``, a batch's ``table`` (its results as columns, as stored) when it has one.
        With ``raw``, ``data`` is its JSON text (bytes), to be sent on without parsing.
        With ``packed``, ``inputs`` and ``data`` are as stored: compressed JSON
        (:func:`pack`), to be read a piece at a time (``jsonutil.unpacked_pieces``).
        With ``as_stored`` too, a result kept as its table alone stays the mark that says so
        (:func:`stored_data`): to be copied with its table, not read.
        """

    @abstractmethod
    def update(self, job_id: str, fields: dict[str, Any]) -> None:
        """Set fields (may include ``data``) and renew the expiry; raises JobNotFound."""

    @abstractmethod
    def claim(self, job_id: str, lease: float, fields: dict[str, Any],
              inputs: bool = False) -> dict[str, Any] | None:
        """Atomically take a job to run it: PENDING, or STARTED with a lapsed lease.

        Sets ``status`` STARTED, adds one to ``attempts``, holds the job for
        ``lease`` seconds (renew with :meth:`heartbeat`) and sets ``fields``.
        Returns the record, or None when another run holds it or it is finished.
        With ``inputs``, the record holds its ``inputs`` as stored (packed, as
        ``get(..., packed=True)`` gives them), read in the same step.
        Raises :class:`JobNotFound`.
        """

    @abstractmethod
    def finish(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] = (STARTED,)) -> bool:
        """Set fields (may include ``data``) only while the status is one of ``only_if``:
        a job revoked meanwhile keeps its REVOKED. Returns whether it was written."""

    @abstractmethod
    def heartbeat(self, job_id: str, lease: float) -> str:
        """Renew the lease of a running (STARTED) job; return its status, so that a run
        learns it was revoked. A running job never expires, so a late heartbeat cannot
        lose it."""

    @abstractmethod
    def count_active(self, owner: str) -> tuple[int, int]:
        """(jobs, runs) of ``owner``'s jobs that are PENDING or STARTED: what the
        fair-use caps count. ``runs`` sums each record's ``rows`` (1 if absent)."""

    def refused(self, fields: dict[str, Any], caps: Caps | None,
                count: Callable[[str], tuple[int, int]] | None = None) -> OverCaps | None:
        """Why ``caps`` refuse a new record of ``fields`` (:meth:`create`), or None: a
        record with no owner, or not queued or running, is never refused. ``count``: how
        the owner's active jobs are read (by default :meth:`count_active`)."""
        owner = fields.get("owner")
        if caps is None or owner is None or fields.get("status", PENDING) not in ACTIVE:
            return None
        return caps.refuse((count or self.count_active)(owner), job_rows(fields))

    @abstractmethod
    def list_jobs(self, *, owner: str | None = None, app: str | None = None, model: str | None = None,
                  status: str | None = None, since: str | None = None,
                  before: tuple[str, str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Records without inputs or data, newest first (by ``created``, then id).

        Filters: ``owner`` (None = everyone's), ``app``, ``model``, ``status``,
        ``since`` (created at or after this ISO time); ``before`` = the
        (created, job id) of the last record of the previous page (cursor paging).
        """

    @abstractmethod
    def with_fingerprint(self, fingerprint: str, statuses: tuple[str, ...], owner: str | None = None,
                         limit: int = 1) -> list[dict[str, Any]]:
        """Live jobs that ran themselves (no ``cached_from``) with this ``fingerprint`` and
        one of ``statuses``, newest first, small fields only; ``owner``: that owner's alone
        (None: anyone's). What the result cache looks up (an indexed field)."""

    @abstractmethod
    def followers(self, job_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """Jobs still queued or running that take their result from ``job_id``
        (``cached_from`` = ``job_id``: jobs that joined it), small fields only."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless a real write and read-back succeed."""

    @abstractmethod
    def stale_jobs(self, now: float, pending_grace: float, limit: int = 500) -> list[dict[str, Any]]:
        """Jobs of declared models (``model`` set) that the reconciler must publish again:
        PENDING, or STARTED with a lease that lapsed before ``now`` (epoch seconds), and in
        both cases last queued (``queued_at``) more than ``pending_grace`` seconds ago.
        Oldest first; small fields only."""

    # Whether the backend deletes expired records on its own (MongoDB's TTL index): the
    # workers' housekeeping then leaves it be (flask_qed.reconciler).
    expires_itself = False

    @abstractmethod
    def purge_expired(self, until: Callable[[], bool] | None = None) -> int:
        """Delete expired records now; return how many went. ``until``: asked between the
        pieces of a long purge, which stops when it answers True (the rest left for the next)."""

    def close(self) -> None:  # pragma: no cover - backends override when they hold resources
        pass
