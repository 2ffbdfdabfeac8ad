"""The worker's event loop rid of the timers its time limits leave behind.

For every task with a time limit, Celery's prefork pool sets a timer in the worker's
main process (at the soft limit: 3,300 s by default) and cancels it when the task ends.
kombu's timer only marks a cancelled timer and keeps it in its heap until the time it
was set for, so the main process holds every job of the last 55 minutes: about 600
bytes a job (measured: 40,000 jobs, 24 MB kept), a gigabyte an hour at 500 jobs a
second, and a heap that grows as deep. :class:`CompactTimers` takes the cancelled ones
out every :data:`INTERVAL` seconds, in the loop's own thread (a timer of its own), so at
most a minute's jobs are kept. ``python benchmarks/bench_timer_heap.py`` measures it.
"""
from __future__ import annotations

import heapq
import logging
from typing import Any

from celery import bootsteps

INTERVAL = 60.0  # seconds between two compactions
logger = logging.getLogger(__name__)


def compact(timer: Any) -> int:
    """Take the cancelled entries out of a kombu timer's heap, in place (its scheduler
    holds the same list); return how many were taken out."""
    queue = timer._queue  # kombu's heap of (eta, priority, entry); Timer.clear() empties it so too
    kept = [event for event in queue if not event[2].canceled]
    removed = len(queue) - len(kept)
    if removed:
        heapq.heapify(kept)
        queue[:] = kept
        logger.debug("worker timers: %d cancelled taken out, %d kept", removed, len(kept))
    return removed


class CompactTimers(bootsteps.StartStopStep):
    """A worker step: :func:`compact` the event loop's timers every :data:`INTERVAL` s
    (a worker without an event loop, such as the solo pool's, has nothing to compact)."""

    requires = ("celery.worker.components:Hub",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        hub = getattr(worker, "hub", None)
        if hub is not None:
            self.tref = hub.call_repeatedly(INTERVAL, compact, hub.timer)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
