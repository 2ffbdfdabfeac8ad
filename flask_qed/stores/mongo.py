"""The production store: MongoDB through pymongo.

Job records live in the ``jobs`` collection with ``_id`` = job id. Inputs and
results can exceed MongoDB's 16 MB document limit (a 10,000-run batch), so
they are stored compressed in ``job_blobs`` as numbered chunks. Both
collections carry a TTL index on ``expires_at``, a real ``datetime``
(``expireAfterSeconds=0``: each record expires at its own time): year 9999
while the job is queued or running, ``ttl`` seconds after the write that
finished it once it is done. Reads filter on ``expires_ts``, the same moment
in seconds since the epoch, because MongoDB's TTL monitor only runs once a
minute, and because servers that only speak MongoDB's protocol (nx-27017, the
stand-in the tests deploy) keep a datetime set by an update as text: a number
compares the same everywhere. One client per process, created on first use
and again after a fork (pymongo clients are not fork-safe).

The fair-use caps are exact, as on SQLite: see :mod:`.mongo_counts`.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlparse

from ..jobs.states import ACTIVE, PENDING, STARTED
from . import mongo_counts as counts
from .base import (BLOB_FIELDS, Caps, JobNotFound, JobStore, StoreUnavailable, job_rows, pack, stored_data,
                   unpack, utcnow)
from .mongo_counts import COUNTED

logger = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024  # bytes of compressed JSON per blob document
HIDDEN = ("_id", "expires_at", "expires_ts", COUNTED)  # store internals, never in a record
# (passed as a copy: mongomock changes the projection it is given)
_NOT_SHOWN = {name: False for name in ("expires_at", "expires_ts", COUNTED, "inputs_gen", "data_gen", "table_gen")}


def _expires(moment: datetime) -> dict[str, Any]:
    """The expiry fields: the datetime MongoDB's TTL index reads, the number queries read."""
    return {"expires_at": moment, "expires_ts": moment.timestamp()}


def _live() -> dict[str, Any]:
    return {"expires_ts": {"$gt": time.time()}}


class MongoStore(JobStore):
    expires_itself = True  # the TTL index

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
                db.jobs.create_index("expires_ts")
                db.job_blobs.create_index("expires_ts")
                db.job_blobs.create_index([("job_id", 1), ("field", 1), ("n", 1)])
                db.jobs.create_index([("owner", 1), ("status", 1)])
                db.jobs.create_index([("owner", 1), ("created", -1)])
                db.jobs.create_index([("created", -1)])
                db.jobs.create_index([("status", 1), ("queued_at", 1)])
                # With cached_from: a lookup (cached_from null) skips the copies answered from the cache.
                db.jobs.create_index([("fingerprint", 1), ("cached_from", 1), ("created", -1)])
                db.jobs.create_index("cached_from")
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
                 "n": n, "blob": blob[i:i + CHUNK], **_expires(expires)}
                for n, i in enumerate(range(0, max(len(blob), 1), CHUNK))]
        db.job_blobs.insert_many(docs)
        return gen

    def _drop_old_blobs(self, db: Any, job_id: str, field: str, keep: str) -> None:
        db.job_blobs.delete_many({"job_id": job_id, "field": field, "gen": {"$ne": keep}})

    def _get_blob(self, db: Any, job_id: str, field: str, gen: str, raw: bool = False,
                  packed: bool = False) -> Any:
        parts = list(db.job_blobs.find({"job_id": job_id, "field": field, "gen": gen}).sort("n", 1))
        if not parts:
            return None
        blob = b"".join(bytes(p.pop("blob")) for p in parts)
        return blob if packed else unpack(blob, raw=raw)

    # -- interface ------------------------------------------------------------------
    def create(self, job_id: str, fields: dict[str, Any], caps: Caps | None = None) -> None:
        expires = self.expiry(fields.get("status", PENDING))
        doc = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
        doc.update(_id=job_id, job_id=job_id, **_expires(expires))
        owner, rows = fields.get("owner"), job_rows(fields)
        counted = owner is not None and fields.get("status", PENDING) in ACTIVE
        with self._errors():
            db = self._db()
            from pymongo.errors import DuplicateKeyError
            for name in BLOB_FIELDS:  # blobs first: a visible job always has its inputs
                if name in fields:
                    doc[f"{name}_gen"] = self._put_blob(db, job_id, name, fields[name], expires)
            if counted:  # its place taken just before the record (or OverCaps, nothing kept)
                try:
                    counts.take_place(db, owner, rows, caps)
                except BaseException:
                    self._drop_blobs_of(db, doc)
                    raise
                doc[COUNTED] = rows
            try:
                db.jobs.insert_one(doc)
            except DuplicateKeyError:
                if counted:
                    counts.give_back(db, owner, rows)
                self._drop_blobs_of(db, doc)
                raise ValueError(f"job {job_id} already exists") from None
            except BaseException:
                # Not written, or written and the answer lost: given back only when known
                # not written (a place kept by mistake is repaired; one given back twice is not).
                if counted and self._absent(db, job_id):
                    counts.give_back(db, owner, rows)
                raise

    def _drop_blobs_of(self, db: Any, doc: dict[str, Any]) -> None:
        for name in BLOB_FIELDS:
            gen = doc.get(f"{name}_gen")
            if gen:
                db.job_blobs.delete_many({"job_id": doc["job_id"], "field": name, "gen": gen})

    @staticmethod
    def _absent(db: Any, job_id: str) -> bool:
        """Whether the job's record is known not to be there (False when it cannot be read)."""
        try:
            return db.jobs.find_one({"_id": job_id}, projection={"_id": True}) is None
        except Exception:  # noqa: BLE001 - unknown: as if there
            return False

    def get(self, job_id: str, *, inputs: bool = False, data: bool = True,
            raw: bool = False, packed: bool = False, table: bool = False,
            as_stored: bool = False) -> dict[str, Any]:
        with self._errors():
            db = self._db()
            doc = db.jobs.find_one({"_id": job_id, **_live()})
            if doc is None:
                raise JobNotFound(job_id)
            for name in HIDDEN:
                doc.pop(name, None)
            table_gen = doc.get("table_gen")
            for name, wanted in (("inputs", inputs), ("data", data), ("table", table)):
                gen = doc.pop(f"{name}_gen", None)
                if wanted and gen and name == "data":
                    blob = self._get_blob(db, job_id, name, gen, packed=True)
                    if blob is not None and not (as_stored and packed):
                        blob = stored_data(blob, lambda: self._get_blob(db, job_id, "table", table_gen, packed=True)
                                           if table_gen else None, job_id)
                    if blob is not None:
                        doc[name] = blob if packed else unpack(blob, raw=raw)
                elif wanted and gen:
                    doc[name] = self._get_blob(db, job_id, name, gen, packed=packed or name == "table")
            return doc

    def update(self, job_id: str, fields: dict[str, Any]) -> None:
        if not self._write(job_id, fields, None):
            raise JobNotFound(job_id)

    def finish(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] = (STARTED,)) -> bool:
        if self._write(job_id, fields, only_if):
            return True
        self.get(job_id, data=False)  # JobNotFound for an unknown id
        return False

    def _write(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] | None) -> bool:
        with self._errors():
            db = self._db()
            changes = {k: v for k, v in fields.items() if k not in BLOB_FIELDS}
            if "status" in fields:  # the time to live starts when a job finishes
                expires = self.expiry(fields["status"])
                changes.update(_expires(expires))
            elif any(name in fields for name in BLOB_FIELDS):
                current = db.jobs.find_one({"_id": job_id}, projection={"expires_ts": True})
                expires = datetime.fromtimestamp(current["expires_ts"], timezone.utc) \
                    if current and current.get("expires_ts") else self.expiry()
            else:  # small changes (progress, lease) keep the expiry
                expires = None
            for name in BLOB_FIELDS:
                if name in fields:
                    changes[f"{name}_gen"] = self._put_blob(db, job_id, name, fields[name], expires)
            query: dict[str, Any] = {"_id": job_id, **_live()}
            if only_if is not None:
                query["status"] = {"$in": list(only_if)}
            if "status" in fields and fields["status"] not in ACTIVE:
                written = counts.end(db, job_id, query, changes)
            elif "rows" in fields:
                written = counts.recount(db, job_id, query, changes, job_rows(fields))
            else:
                written = db.jobs.update_one(query, {"$set": changes}).matched_count > 0
            for name in BLOB_FIELDS:  # the old generation, or the one not used after all
                gen = changes.get(f"{name}_gen")
                if gen:
                    if written:
                        self._drop_old_blobs(db, job_id, name, gen)
                    else:
                        db.job_blobs.delete_many({"job_id": job_id, "field": name, "gen": gen})
            if written and expires is not None:
                db.job_blobs.update_many({"job_id": job_id}, {"$set": _expires(expires)})
            return written

    def claim(self, job_id: str, lease: float, fields: dict[str, Any],
              inputs: bool = False) -> dict[str, Any] | None:
        # Conditional update_ones, each atomic on its document: of two runs that race, one
        # matches. Two plain filters (PENDING, then STARTED with a lapsed lease) rather than
        # one with a top-level $or: servers that only speak MongoDB's protocol have been seen
        # to drop the _id beside an $or and claim another job. (Not find_one_and_update
        # either: such servers store its $set datetimes as text.)
        now = time.time()
        change = {"$set": {**fields, "status": STARTED, "lease_until": now + lease,
                           **_expires(self.expiry(STARTED))}, "$inc": {"attempts": 1}}
        with self._errors():
            db = self._db()
            won = db.jobs.update_one({"_id": job_id, **_live(), "status": PENDING}, change).matched_count \
                or db.jobs.update_one({"_id": job_id, **_live(), "status": STARTED,
                                       "lease_until": {"$lt": now}}, change).matched_count
            if not won:
                self.get(job_id, data=False)  # raises JobNotFound for an unknown id
                return None
            return self.get(job_id, data=False, inputs=inputs, packed=inputs)

    def heartbeat(self, job_id: str, lease: float) -> str:
        with self._errors():
            db = self._db()
            doc = db.jobs.find_one_and_update(
                {"_id": job_id, "status": STARTED, **_live()},
                {"$set": {"lease_until": time.time() + lease}}, projection={"status": True})
        return doc["status"] if doc is not None else self.get(job_id, data=False)["status"]

    def count_active(self, owner: str) -> tuple[int, int]:
        with self._errors():
            found = self._db().qed_active.find_one({"_id": owner})
        return (max(0, int(found.get("jobs", 0))), max(0, int(found.get("rows", 0)))) if found else (0, 0)

    def list_jobs(self, *, owner: str | None = None, app: str | None = None, model: str | None = None,
                  status: str | None = None, since: str | None = None,
                  before: tuple[str, str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query: dict[str, Any] = _live()
        for name, value in (("owner", owner), ("app", app), ("model", model), ("status", status)):
            if value is not None:
                query[name] = value
        if since is not None:
            query["created"] = {"$gte": since}
        if before is not None:
            query["$or"] = [{"created": {"$lt": before[0]}},
                            {"created": before[0], "_id": {"$lt": before[1]}}]
        with self._errors():
            docs = list(self._db().jobs.find(query, projection=dict(_NOT_SHOWN))
                        .sort([("created", -1), ("_id", -1)]).limit(int(limit)))
        for doc in docs:
            doc.pop("_id", None)
        return docs

    def with_fingerprint(self, fingerprint: str, statuses: tuple[str, ...], owner: str | None = None,
                         limit: int = 1) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"fingerprint": fingerprint, "status": {"$in": list(statuses)},
                                 "cached_from": None, **_live()}
        if owner is not None:
            query["owner"] = owner
        return self._small(query, limit)

    def followers(self, job_id: str, limit: int = 500) -> list[dict[str, Any]]:
        return self._small({"cached_from": job_id, "status": {"$in": [PENDING, STARTED]}, **_live()}, limit)

    def _small(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        with self._errors():
            return list(self._db().jobs.find(query, projection={"_id": False, **_NOT_SHOWN})
                        .sort([("created", -1), ("_id", -1)]).limit(int(limit)))

    def ping(self) -> None:
        """A real write and read-back (a read-only user or a full disk fails here)."""
        key, token = f"{os.getpid()}:{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        with self._errors():
            db = self._db()
            db.qed_probe.replace_one({"_id": key}, {"_id": key, "token": token, "at": utcnow()}, upsert=True)
            found = db.qed_probe.find_one({"_id": key})
            db.qed_probe.delete_one({"_id": key})
        if not found or found.get("token") != token:
            raise StoreUnavailable("MongoDB store: a probe written was not read back")

    def stale_jobs(self, now: float, pending_grace: float, limit: int = 500) -> list[dict[str, Any]]:
        query = {"status": {"$in": [PENDING, STARTED]}, "model": {"$ne": None},
                 "$and": [
                     {"$or": [{"queued_at": {"$lt": now - pending_grace}}, {"queued_at": None}]},
                     {"$or": [{"status": PENDING}, {"lease_until": {"$lt": now}}, {"lease_until": None}]}]}
        with self._errors():
            docs = list(self._db().jobs.find(query, projection={"_id": False, "expires_at": False,
                                                                "expires_ts": False, COUNTED: False})
                        .sort("queued_at", 1).limit(limit))
        return docs

    def purge_expired(self, until: Callable[[], bool] | None = None) -> int:
        now = time.time()
        with self._errors():
            db = self._db()
            count = db.jobs.delete_many({"expires_ts": {"$lte": now}}).deleted_count
            db.job_blobs.delete_many({"expires_ts": {"$lte": now}})
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
        import zlib

        from bson.errors import BSONError
        from pymongo.errors import DuplicateKeyError, PyMongoError
        if issubclass(exc_type, PyMongoError) and not issubclass(exc_type, DuplicateKeyError):
            raise StoreUnavailable(f"MongoDB store: {exc}") from exc
        if issubclass(exc_type, (BSONError, zlib.error)):  # a damaged document
            raise StoreUnavailable(f"MongoDB store: {exc}") from exc
        return False
