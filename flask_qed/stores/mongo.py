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
import time
import uuid
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
        self._indexed = False

    def _db(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            import pymongo
            factory = self._factory or pymongo.MongoClient
            self._client = factory(self.url, tz_aware=True, serverSelectionTimeoutMS=5000)
            self._pid, self._indexed = os.getpid(), False
        db = self._client[self.db_name]
        if not self._indexed:  # retried until MongoDB has answered once
            with self._errors():
                db.jobs.create_index("expires_at", expireAfterSeconds=0)
                db.job_blobs.create_index("expires_at", expireAfterSeconds=0)
                db.job_blobs.create_index([("job_id", 1), ("field", 1), ("n", 1)])
            self._indexed = True
        return db

    @staticmethod
    def _errors() -> "_MongoErrors":
        return _MongoErrors()

    # -- blobs ----------------------------------------------------------------------
    def _put_blob(self, db: Any, job_id: str, field: str, value: Any, expires: Any) -> str:
        """Write a new generation of chunks; return its name. The job document
        then points at it (``<field>_gen``), so readers never see half a blob."""
        blob, gen = pack(value), uuid.uuid4().hex
        docs = [{"_id": f"{job_id}:{field}:{gen}:{n}", "job_id": job_id, "field": field, "gen": gen,
                 "n": n, "blob": blob[i:i + CHUNK], "expires_at": expires}
                for n, i in enumerate(range(0, max(len(blob), 1), CHUNK))]
        db.job_blobs.insert_many(docs)
        return gen

    def _drop_old_blobs(self, db: Any, job_id: str, field: str, keep: str) -> None:
        db.job_blobs.delete_many({"job_id": job_id, "field": field, "gen": {"$ne": keep}})

    def _get_blob(self, db: Any, job_id: str, field: str, gen: str, raw: bool = False) -> Any:
        parts = list(db.job_blobs.find({"job_id": job_id, "field": field, "gen": gen}).sort("n", 1))
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
                    doc[f"{name}_gen"] = self._put_blob(db, job_id, name, fields[name], expires)
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
                gen = doc.pop(f"{name}_gen", None)
                if wanted and gen:
                    doc[name] = self._get_blob(db, job_id, name, gen, raw=raw and name == "data")
            return doc

    def update(self, job_id: str, fields: dict[str, Any]) -> None:
        if not self._write(job_id, fields, None):
            raise JobNotFound(job_id)

    def finish(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] = ("STARTED",)) -> bool:
        if self._write(job_id, fields, only_if):
            return True
        self.get(job_id, data=False)  # JobNotFound for an unknown id
        return False

    def _write(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] | None) -> bool:
        expires = self.expiry()
        with self._errors():
            db = self._db()
            changes = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
            changes["expires_at"] = expires
            for name in BLOB_FIELDS:
                if name in fields:
                    changes[f"{name}_gen"] = self._put_blob(db, job_id, name, fields[name], expires)
            query: dict[str, Any] = {"_id": job_id, "expires_at": {"$gt": utcnow()}}
            if only_if is not None:
                query["status"] = {"$in": list(only_if)}
            written = db.jobs.update_one(query, {"$set": changes}).matched_count > 0
            for name in BLOB_FIELDS:  # the old generation, or the one not used after all
                gen = changes.get(f"{name}_gen")
                if gen:
                    if written:
                        self._drop_old_blobs(db, job_id, name, gen)
                    else:
                        db.job_blobs.delete_many({"job_id": job_id, "field": name, "gen": gen})
            if written:
                db.job_blobs.update_many({"job_id": job_id}, {"$set": {"expires_at": expires}})
            return written

    def claim(self, job_id: str, lease: float, fields: dict[str, Any]) -> dict[str, Any] | None:
        from pymongo import ReturnDocument
        now = time.time()
        with self._errors():
            db = self._db()
            doc = db.jobs.find_one_and_update(
                {"_id": job_id, "expires_at": {"$gt": utcnow()},
                 "$or": [{"status": "PENDING"}, {"status": "STARTED", "lease_until": {"$lt": now}}]},
                {"$set": {**fields, "status": "STARTED", "lease_until": now + lease,
                          "expires_at": self.expiry()}, "$inc": {"attempts": 1}},
                return_document=ReturnDocument.AFTER, projection={"expires_at": False})
            if doc is None:
                self.get(job_id, data=False)  # raises JobNotFound for an unknown id
                return None
            doc.pop("_id", None)
            return doc

    def heartbeat(self, job_id: str, lease: float) -> None:
        self.update(job_id, {"lease_until": time.time() + lease})

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
