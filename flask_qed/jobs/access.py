"""Who may see a job: the caller, as the front door identified it, and the reads made as them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..stores import JobNotFound, JobStore
from . import follow


@dataclass(frozen=True)
class Caller:
    """The client of a request. ``name`` is a key's owner (keys on) or ``addr:<ip>``
    (keys off); ``admin`` sees every job; ``keys_on`` says whether jobs are private."""

    name: str | None
    admin: bool = False
    keys_on: bool = False

    def may_see(self, record: dict[str, Any]) -> bool:
        """Always with keys off, else the owner and ``admin`` only."""
        return not self.keys_on or self.admin or record.get("owner") == self.name

    def list_owner(self, mine: bool = False) -> str | None:
        """Whose jobs a listing shows: the caller's own with keys on (``admin``: all), with
        keys off everyone's, or the caller's own when asked (``mine``)."""
        return self.name if (self.keys_on and not self.admin) or mine else None


def read(store: JobStore, job_id: str, caller: Caller, **kwargs: Any) -> dict[str, Any]:
    """The record as ``store.get`` gives it, if the caller may see it; another client's
    job is unknown (:class:`JobNotFound`), so that its existence is not revealed. A job
    that joined an identical one is settled first if that one has ended (:mod:`.follow`)."""
    record = store.get(job_id, **kwargs)
    if not caller.may_see(record):
        raise JobNotFound(job_id)
    if follow.joining(record) and follow.settle(store, record) is not None:  # the job joined has ended
        record = store.get(job_id, **kwargs)
    return record
