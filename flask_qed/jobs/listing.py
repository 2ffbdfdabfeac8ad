"""Listing jobs newest first, a page at a time, with an opaque cursor.

Every face lists the same way: the store is read in ``(created, job_id)`` order
below a cursor; a face may filter further (``keep``), in which case at most
``SCAN_LIMIT`` records are read for one page, and a short page with a cursor
is answered rather than the whole store read at once.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any, Callable

from ..stores import JobStore

SCAN_LIMIT = 10_000  # most records one page reads while filtering


class QueryError(ValueError):
    """A listing's parameter is not one the gateway accepts; faces answer 400."""


def encode_cursor(record: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{record['created']}|{record['job_id']}".encode()).decode()


def decode_cursor(token: str, name: str = "cursor") -> tuple[str, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
    except (ValueError, UnicodeError):
        raise QueryError(f"{name} is not a cursor this server gave") from None
    return created, job_id


def parse_time(text: str, name: str = "since") -> datetime:
    """An ISO 8601 / RFC 3339 time (UTC when no zone is given), in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise QueryError(f"{name} must be an ISO 8601 time, got {text[:40]!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:  # 0001-01-01T00:00+14:00 is in the year 0 in UTC, 9999-12-31T23:59-14:00 in 10000
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise QueryError(f"{name} must be a time between the years 1 and 9999 in UTC, got {text[:40]!r}") from None


def iso(moment: datetime) -> str:
    """A time as the records write it (UTC, milliseconds, Z)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page(store: JobStore, limit: int, cursor: str | None = None,
         keep: Callable[[dict[str, Any]], bool] | None = None, cursor_name: str = "cursor",
         **query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` records newest first after ``cursor``, those ``keep`` accepts,
    and the cursor of the next page (None on the last). ``query``: the store's
    filters (owner, app, model, status, since)."""
    before = decode_cursor(cursor, cursor_name) if cursor else None
    if keep is None:
        records = store.list_jobs(before=before, limit=limit + 1, **query)
        found = records[:limit]
        return found, encode_cursor(found[-1]) if len(records) > limit else None
    found: list[dict[str, Any]] = []
    scanned, chunk = 0, min(1000, max(limit + 1, 100))
    while True:
        batch = store.list_jobs(before=before, limit=chunk, **query)
        for record in batch:
            scanned += 1
            if keep(record):
                if len(found) == limit:  # one more than the page holds: there is a next page
                    return found, encode_cursor(found[-1])
                found.append(record)
        if len(batch) < chunk:
            return found, None
        before = (batch[-1]["created"], batch[-1]["job_id"])
        if scanned >= SCAN_LIMIT:  # a short page rather than reading the whole store at once
            return found, encode_cursor(batch[-1])
