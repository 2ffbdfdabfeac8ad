"""Job stores: one interface, chosen by ``QED_STORE_URL``.

``sqlite:///path`` (embedded default) and ``mongodb://...`` (production).
"""
from __future__ import annotations

from .base import Caps, JobNotFound, JobStore, OverCaps, StoreUnavailable


def open_store(url: str, ttl: int) -> JobStore:
    """The store for ``url``; nothing connects until first use."""
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore
        return SQLiteStore(url, ttl)
    if url.startswith(("mongodb://", "mongodb+srv://", "mongomock://")):
        from .mongo import MongoStore
        return MongoStore(url, ttl)
    raise ValueError(f"QED_STORE_URL: unsupported scheme in {url!r} (use sqlite:/// or mongodb://)")


__all__ = ["Caps", "JobStore", "JobNotFound", "OverCaps", "StoreUnavailable", "open_store"]
