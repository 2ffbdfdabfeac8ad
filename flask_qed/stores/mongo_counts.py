"""The MongoDB store's fair-use counts (:mod:`.mongo`): exact, as on SQLite, without a
transaction.

Each owner's queued and running jobs and runs are counted in one document of
``qed_active`` (``_id`` = owner, removed when it counts nothing), and a job takes its
place there with one conditional update (``$inc`` only while within the caps, atomic on
that document) before its record is written, and gives it back if the write fails. A
record counted so carries ``qed_counted`` (the runs counted for it), which the write
that ends the job (its status no longer queued or running) removes in the same update:
only the write that removes it gives the place back, so a job is never uncounted twice.
A write that changes a counted job's runs (a chain's, once its steps have given its
inputs) counts them anew. A place lost to a process that died between the two (a record
never written, or a job ended and not uncounted) is found when its owner is next
refused: the counts are read again from the records, and set from them if they are lower
and have not changed for ``REPAIR_AFTER`` seconds (a job between its count and its
record, a few milliseconds, is not taken for a lost one). Jobs queued by a version
before these counts are not counted.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from ..jobs.states import ACTIVE
from .base import Caps, OverCaps, StoreUnavailable

logger = logging.getLogger(__name__)

COUNTED = "qed_counted"  # on a queued or running record: the runs its owner's counts include
REPAIR_AFTER = 60.0  # s without a change to an owner's counts before they may be set from the records


def take_place(db: Any, owner: str, rows: int, caps: Caps | None) -> None:
    """Count a new queued job of ``rows`` runs in ``owner``'s document: with ``caps``,
    only while it fits (one conditional update), else :class:`OverCaps`."""
    from pymongo.errors import DuplicateKeyError
    add = {"$inc": {"jobs": 1, "rows": rows}, "$set": {"at": time.time()}}
    alone = None if caps is None else caps.refuse((0, 0), rows)  # past a cap with nothing else
    repaired = False
    for _ in range(20):  # another job's change between two steps: look again
        try:
            if caps is None:
                db.qed_active.update_one({"_id": owner}, add, upsert=True)
                return
            if alone is None and db.qed_active.update_one(
                    {"_id": owner, "jobs": {"$lte": caps.jobs - 1}, "rows": {"$lte": caps.rows - rows}},
                    add).matched_count:
                return
            found = db.qed_active.find_one({"_id": owner})
            if found is None:
                if alone is not None:
                    raise alone
                db.qed_active.insert_one({"_id": owner, "jobs": 1, "rows": rows, "at": time.time()})
                return
        except DuplicateKeyError:  # the owner's document made meanwhile by another job
            continue
        active = (max(0, int(found.get("jobs", 0))), max(0, int(found.get("rows", 0))))
        refusal = caps.refuse(active, rows) or (alone and OverCaps(caps, active, rows, alone.which))
        if refusal is None:
            continue  # room made meanwhile
        if repaired or not repair(db, owner, found):
            raise refusal
        repaired = True
    raise StoreUnavailable(f"MongoDB store: the counts of {owner!r} kept changing; try again")

def give_back(db: Any, owner: str, rows: int) -> None:
    """A counted job's place given back; its owner's document removed once it counts
    nothing. A failure is logged, not raised: the job's own write is done, and the place
    kept by mistake is repaired at the owner's next refusal."""
    from pymongo import ReturnDocument
    try:
        after = db.qed_active.find_one_and_update(
            {"_id": owner}, {"$inc": {"jobs": -1, "rows": -rows}, "$set": {"at": time.time()}},
            return_document=ReturnDocument.AFTER)
        if after is not None and int(after.get("jobs", 0)) <= 0:
            db.qed_active.delete_one({"_id": owner, "jobs": {"$lte": 0}})
    except Exception as exc:  # noqa: BLE001 - see above
        logger.warning("owner %s: a job's place in the counts not given back (%s); repaired later", owner, exc)

def held(db: Any, owner: str) -> None:
    """Mark ``owner``'s counts as changing now: a repair reading the records meanwhile
    (a job uncounted in its record, not yet in the counts) then waits its turn."""
    db.qed_active.update_one({"_id": owner}, {"$set": {"at": time.time()}})

def counted(db: Any, owner: str) -> tuple[int, int]:
    """``owner``'s counted jobs and runs, read from the records themselves."""
    jobs = runs = 0
    for doc in db.jobs.find({"owner": owner, COUNTED: {"$exists": True}}, projection={COUNTED: True}):
        jobs, runs = jobs + 1, runs + int(doc[COUNTED])
    return jobs, runs

def repair(db: Any, owner: str, found: dict[str, Any]) -> bool:
    """Set ``owner``'s counts (``found``, its document) from the records when these
    count fewer and the counts have not changed for ``REPAIR_AFTER`` seconds (a place
    lost with a process that died between a record and its count); whether they were
    set. Only if the document is still ``found``: a change meanwhile wins."""
    if time.time() - float(found.get("at") or 0) < REPAIR_AFTER:
        return False  # jobs may be between their count and their record
    active = (int(found.get("jobs", 0)), int(found.get("rows", 0)))
    actual = counted(db, owner)
    if actual[0] >= active[0] and actual[1] >= active[1]:
        return False
    logger.warning("owner %s: counted %s queued or running, the records say %s; counts repaired",
                   owner, active, actual)
    return db.qed_active.update_one(
        {"_id": owner, "jobs": active[0], "rows": active[1], "at": found.get("at")},
        {"$set": {"jobs": actual[0], "rows": actual[1], "at": time.time()}}).matched_count > 0

def end(db: Any, job_id: str, query: dict[str, Any], changes: dict[str, Any]) -> bool:
    """The write that takes a job out of the queued and running: a counted record is
    uncounted by the update that removes its ``qed_counted`` (one of two racing
    writes), its place then given back; any other record is written as it is."""
    statuses = [s for s in query.get("status", {}).get("$in", ACTIVE) if s in ACTIVE]
    for _ in range(5):  # its record changed between two steps: again
        before = db.jobs.find_one({"_id": job_id, COUNTED: {"$exists": True}},
                                  projection={"owner": True, COUNTED: True}) if statuses else None
        if before is not None:
            held(db, before["owner"])
            if db.jobs.update_one({**query, "status": {"$in": statuses}, COUNTED: before[COUNTED]},
                                  {"$set": changes, "$unset": {COUNTED: ""}}).matched_count:
                give_back(db, before["owner"], int(before[COUNTED]))
                return True
        if db.jobs.update_one({**query, COUNTED: {"$exists": False}}, {"$set": changes}).matched_count:
            return True
        if db.jobs.find_one({**query, COUNTED: {"$exists": True}}, projection={"_id": True}) is None:
            return False  # not there, or not in ``only_if``
    raise StoreUnavailable(f"MongoDB store: job {job_id} kept changing; try again")

def recount(db: Any, job_id: str, query: dict[str, Any], changes: dict[str, Any], rows: int) -> bool:
    """A write that changes a job's runs (a chain's job, once its steps have given its
    inputs): a counted record's runs counted anew in its owner's counts, as SQLite does."""
    for _ in range(5):  # its record changed between two steps: again
        before = db.jobs.find_one({"_id": job_id, COUNTED: {"$exists": True}},
                                  projection={"owner": True, COUNTED: True})
        if before is None:
            return db.jobs.update_one({**query, COUNTED: {"$exists": False}},
                                      {"$set": changes}).matched_count > 0
        held(db, before["owner"])
        if db.jobs.update_one({**query, COUNTED: before[COUNTED]},
                              {"$set": {**changes, COUNTED: rows}}).matched_count:
            if rows != int(before[COUNTED]):
                db.qed_active.update_one({"_id": before["owner"]},
                                         {"$inc": {"rows": rows - int(before[COUNTED])},
                                          "$set": {"at": time.time()}})
            return True
        if db.jobs.find_one(query, projection={"_id": True}) is None:
            return False
    raise StoreUnavailable(f"MongoDB store: job {job_id} kept changing; try again")
