"""The store interface every backend implements, and what they share."""
from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, timezone
from typing import Any

from ..jsonutil import dumps, loads

# Fields kept small and queryable; "inputs" and "data" are stored compressed.
BLOB_FIELDS = ("inputs", "data")


class JobNotFound(KeyError):
    """No job with this id, or it has expired."""


class StoreUnavailable(RuntimeError):
    """The store cannot be reached."""


def claimable(meta: dict[str, Any], now: float) -> bool:
    """Whether a run may take this job now (see :meth:`JobStore.claim`)."""
    status = meta.get("status")
    return status == "PENDING" or (status == "STARTED" and float(meta.get("lease_until") or 0) < now)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def pack(value: Any) -> bytes:
    """JSON (NaN and Infinity become null, numpy values are welcome), zlib-compressed."""
    return zlib.compress(dumps(value), 1)


def unpack(blob: bytes, raw: bool = False) -> Any:
    """The value packed in ``blob``; with ``raw``, its JSON text as bytes (not parsed)."""
    text = zlib.decompress(blob)
    return text if raw else loads(text)


class JobStore(ABC):
    """Job records keyed by job id, expiring ``ttl`` seconds after their last write.

    A record is a dict: ``job_id`` plus small fields (app, model, status,
    progress, error, timestamps as ISO strings) and two large ones, ``inputs``
    and ``data``, returned only when asked for.
    """

    def __init__(self, ttl: int):
        self.ttl = ttl

    def expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self.ttl)

    @abstractmethod
    def create(self, job_id: str, fields: dict[str, Any]) -> None:
        """Write a new record (may include ``inputs``); the id must be new."""

    @abstractmethod
    def get(self, job_id: str, *, inputs: bool = False, data: bool = True,
            raw: bool = False) -> dict[str, Any]:
        """The record; raises :class:`JobNotFound` for unknown or expired ids.

        With ``raw``, ``data`` is its JSON text (bytes), to be sent on without parsing.
        """

    @abstractmethod
    def update(self, job_id: str, fields: dict[str, Any]) -> None:
        """Set fields (may include ``data``) and renew the expiry; raises JobNotFound."""

    @abstractmethod
    def claim(self, job_id: str, lease: float, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Atomically take a job to run it: PENDING, or STARTED with a lapsed lease.

        Sets ``status`` STARTED, adds one to ``attempts``, holds the job for
        ``lease`` seconds (renew with :meth:`heartbeat`) and sets ``fields``.
        Returns the record, or None when another run holds it or it is finished.
        Raises :class:`JobNotFound`.
        """

    @abstractmethod
    def finish(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] = ("STARTED",)) -> bool:
        """Set fields (may include ``data``) only while the status is one of ``only_if``:
        a job revoked meanwhile keeps its REVOKED. Returns whether it was written."""

    @abstractmethod
    def heartbeat(self, job_id: str, lease: float) -> None:
        """Renew the lease of a running job (and its expiry)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` if the store cannot be used."""

    @abstractmethod
    def purge_expired(self) -> int:
        """Delete expired records now; return how many went."""

    def close(self) -> None:  # pragma: no cover - backends override when they hold resources
        pass
