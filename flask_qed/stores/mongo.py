"""The production store: MongoDB through pymongo.

Job records live in the ``jobs`` collection with ``_id`` = job id. Inputs and
results can exceed MongoDB's 16 MB document limit (a 10,000-run batch), so
they are stored compressed in ``job_blobs`` as numbered chunks. Both
collections carry a TTL index on ``expires_at``, a real ``datetime`` renewed
at every write (``expireAfterSeconds=0``: each record expires at its own
time); reads also filter on it, because MongoDB's TTL monitor only runs once
a minute. One client per process, created on first use and again after a
fork (pymongo clients are not fork-safe).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable
from urllib.parse import urlparse

from .base import BLOB_FIELDS, JobNotFound, JobStore, StoreUnavailable, pack, unpack, utcnow

logger = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024  # bytes of compressed JSON per blob document


class MongoStore(JobStore):
    def __init__(self, url: str, ttl: int, client_factory: Callable[..., Any] | None = None):
        super().__init__(ttl)
        self.url = url
        self.db_name = urlparse(url).path.lstrip("/").split("?")[0] or "flask_qed"
        self._factory = client_factory
        self._client: Any = None
        self._pid: int | None = None

    def _db(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            import pymongo
            factory = self._factory or pymongo.MongoClient
            self._client = factory(self.url, tz_aware=True, serverSelectionTimeoutMS=5000)
            self._pid = os.getpid()
            db = self._client[self.db_name]
            with self._errors():
                db.jobs.create_index("expires_at", expireAfterSeconds=0)
                db.job_blobs.create_index("expires_at", expireAfterSeconds=0)
                db.job_blobs.create_index([("job_id", 1), ("field", 1), ("n", 1)])
        return self._client[self.db_name]

    @staticmethod
    def _errors() -> "_MongoErrors":
        return _MongoErrors()

    # -- blobs ----------------------------------------------------------------------
    def _put_blob(self, db: Any, job_id: str, field: str, value: Any, expires: Any) -> None:
        blob = pack(value)
        db.job_blobs.delete_many({"job_id": job_id, "field": field})
        docs = [{"_id": f"{job_id}:{field}:{n}", "job_id": job_id, "field": field, "n": n,
                 "blob": blob[i:i + CHUNK], "expires_at": expires}
                for n, i in enumerate(range(0, max(len(blob), 1), CHUNK))]
        db.job_blobs.insert_many(docs)

    def _get_blob(self, db: Any, job_id: str, field: str, raw: bool = False) -> Any:
        parts = list(db.job_blobs.find({"job_id": job_id, "field": field}).sort("n", 1))
        return unpack(b"".join(bytes(p["blob"]) for p in parts), raw=raw) if parts else None

    # -- interface ------------------------------------------------------------------
    def create(self, job_id: str, fields: dict[str, Any]) -> None:
        expires = self.expiry()
        doc = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
        doc.update(_id=job_id, job_id=job_id, expires_at=expires)
        with self._errors():
            db = self._db()
            from pymongo.errors import DuplicateKeyError
            for name in BLOB_FIELDS:  # blobs first: a visible job always has its inputs
                if name in fields:
                    self._put_blob(db, job_id, name, fields[name], expires)
                    doc[f"has_{name}"] = True
            try:
                db.jobs.insert_one(doc)
            except DuplicateKeyError:
                raise ValueError(f"job {job_id} already exists") from None

    def get(self, job_id: str, *, inputs: bool = False, data: bool = True,
            raw: bool = False) -> dict[str, Any]:
        with self._errors():
            db = self._db()
            doc = db.jobs.find_one({"_id": job_id, "expires_at": {"$gt": utcnow()}})
            if doc is None:
                raise JobNotFound(job_id)
            doc.pop("_id", None)
            doc.pop("expires_at", None)
            for name, wanted in (("inputs", inputs), ("data", data)):
                if wanted and doc.pop(f"has_{name}", False):
                    doc[name] = self._get_blob(db, job_id, name, raw=raw and name == "data")
                doc.pop(f"has_{name}", None)
            return doc

    def update(self, job_id: str, fields: dict[str, Any]) -> None:
        expires = self.expiry()
        with self._errors():
            db = self._db()
            changes = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
            changes["expires_at"] = expires
            for name in BLOB_FIELDS:
                if name in fields:
                    self._put_blob(db, job_id, name, fields[name], expires)
                    changes[f"has_{name}"] = True
            result = db.jobs.update_one({"_id": job_id, "expires_at": {"$gt": utcnow()}},
                                        {"$set": changes})
            if result.matched_count == 0:
                raise JobNotFound(job_id)
            db.job_blobs.update_many({"job_id": job_id}, {"$set": {"expires_at": expires}})

    def ping(self) -> None:
        with self._errors():
            self._db().command("ping")

    def purge_expired(self) -> int:
        now = utcnow()
        with self._errors():
            db = self._db()
            count = db.jobs.delete_many({"expires_at": {"$lte": now}}).deleted_count
            db.job_blobs.delete_many({"expires_at": {"$lte": now}})
        return count

    def close(self) -> None:
        if self._client is not None and self._pid == os.getpid():
            self._client.close()
        self._client = None


class _MongoErrors:
    """Turn pymongo's connection and server errors into StoreUnavailable."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            return False
        from pymongo.errors import DuplicateKeyError, PyMongoError
        if issubclass(exc_type, PyMongoError) and not issubclass(exc_type, DuplicateKeyError):
            raise StoreUnavailable(f"MongoDB store: {exc}") from exc
        return False
