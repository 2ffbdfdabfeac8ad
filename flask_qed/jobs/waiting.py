"""Bounded waiting: how a request that answers with a job's result waits for it.

Two faces answer a submission with the result rather than a job id:
``POST /rest/pram/<model>/<jobId>`` (pram_flask's contract, up to
``QED_REST_WAIT`` s) and an OGC execution without ``Prefer: respond-async`` (up
to ``QED_SYNC_WAIT`` s). Each such wait holds what serves a request (a thread, or
under gevent a greenlet and a connection). If all of them waited on a queue that
does not move, nothing else would be answered, ``/healthz`` included, and the
process would look dead.

So waiting takes a slot: each gateway process lets at most ``QED_MAX_WAITERS``
requests wait at once, counted by a semaphore taken without blocking. A request
that finds no slot free does not queue for one: it answers at once as an
asynchronous submission does (202 with the URL to poll on ``/rest``, 201 with the
job's status and ``Location`` on OGC). The job is the same either way; only the
answer differs.

The default follows what a wait holds. Under gunicorn's threads (``gthread``, 4
a process) it holds a thread: 2, so that half of them always answer. Under the
default ``gevent`` worker it holds a greenlet and a connection (1,000 a process)
and reads the store a few times a second: 100.

The wait is woken by the job's notice (:mod:`.notices`: the worker announces each
job it ends on Redis, ``QED_REDIS_URL``, the broker's by default), and reads the job's
state from the store (the job record is the source of truth) when woken and at least
once a second; without notices (no Redis: RabbitMQ alone; or while they are
interrupted) it reads the store at first every 20 ms and then less often, up to 4
times a second.
"""
from __future__ import annotations

import threading
import time
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any, Iterator

from ..runtime import Runtime
from . import follow, notices
from .states import TERMINAL

_FIRST_PAUSE, _LONGEST_PAUSE = 0.02, 0.25  # seconds between two reads of the job's state, polling
FALLBACK = 1.0  # seconds between two reads of the job's state while notices come


class WaitSlots:
    """At most ``limit`` waits at once in this process; taking a slot never blocks."""

    def __init__(self, limit: int):
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """True inside the block if a slot was free (and is held until the block ends)."""
        held = self._free.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                self._free.release()


_CREATING = threading.Lock()


def slots_of(runtime: Runtime) -> WaitSlots:
    """The process's slots: one set per runtime, shared by every face that waits."""
    slots = vars(runtime).get("wait_slots")
    if slots is None:
        with _CREATING:
            slots = vars(runtime).setdefault("wait_slots", WaitSlots(runtime.settings.max_waiters))
    return slots


def wait_for_job(runtime: Runtime, job_id: str, seconds: float, **read: Any) -> dict[str, Any] | None:
    """The job's record once finished, or as it is after ``seconds``; None at once,
    without reading the store, when no waiting slot is free. ``read``: how the record is
    read (``store.get``'s options; by default without its data): a job's data exists only
    once it has ended, so asking for it costs the reads before nothing, and the finished
    record needs no read of its own."""
    with slots_of(runtime).slot() as held:
        if not held:
            return None
        return _wait(runtime, job_id, seconds, read or {"data": False})


def _wait(runtime: Runtime, job_id: str, seconds: float, read: dict[str, Any]) -> dict[str, Any]:
    """Woken by the job's notice (:mod:`.notices`) when one can come, else polling; the
    store is read first (after the watch is set, so no notice falls between), unless this
    process has just queued the job for this wait (:meth:`~.notices.Listener.expected`),
    and again at least every ``FALLBACK`` seconds."""
    deadline = time.monotonic() + max(0.0, seconds)
    ears = notices.listener(runtime.settings.redis_url)
    with ears.watch(job_id) if ears is not None else nullcontext(None) as woken, ExitStack() as hearing:
        pause, all_heard = _FIRST_PAUSE, False
        if woken is not None and ears is not None and ears.expected(job_id) and seconds > 0:
            # Queued by this process for this wait, its notice addressed here and heard since:
            # it was PENDING when queued, and its end cannot go unheard; the first read is its notice.
            woken.wait(min(deadline - time.monotonic(), FALLBACK))
            woken.clear()
        while True:
            record = runtime.store.get(job_id, **read)
            left = deadline - time.monotonic()
            if ears is not None and not all_heard and record["status"] not in TERMINAL and left > 0 \
                    and ears.connected.is_set() and not ears.hears(record.get("notify")):
                # Its notice goes to the process that submitted it: hear every process's
                # channel, then read again (a notice sent before that was not heard).
                hearing.enter_context(ears.hearing_all(timeout=min(FALLBACK, left)))
                all_heard = True
                record = runtime.store.get(job_id, **read)
            if follow.joining(record) and follow.settle(runtime.store, record) is not None:
                record = runtime.store.get(job_id, **read)  # a joiner, ended now with the job it joined
            left = deadline - time.monotonic()
            if record["status"] in TERMINAL or left <= 0:
                return record
            if woken is not None and ears is not None and ears.connected.is_set():
                woken.wait(min(left, FALLBACK))
                woken.clear()
            else:
                time.sleep(min(pause, left))
                pause = min(pause * 1.5, _LONGEST_PAUSE)
