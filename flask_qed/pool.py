"""The worker's process pool: Celery's prefork pool, replacing a process that ends at once.

Celery's pool watches a pipe that each of its processes holds open and, when the pipe reads
as closed, looks for the processes that have ended, reaps them and starts others. But a
process's files are closed before the kernel makes it a zombie that ``waitpid`` can reap: the
pool may look in between, find nothing ended, and stop watching that process. Then only its
upkeep timer (every 5 s) finds it, and the job queued for that slot, after a cancel say,
waits until then while the reconciler publishes it again. Here the pool looks again, a few
milliseconds apart, until the process is reaped (at most a second; the timer stays beneath).

Celery is told to use it by name: ``worker_pool=POOL`` (``celery worker`` without ``-P``, or
with ``-P prefork``, takes it).
"""
from __future__ import annotations

import logging
from typing import Any

from billiard.pool import RUN
from celery.concurrency import asynpool, prefork

POOL = f"{__name__}:TaskPool"
RETRY = 0.005   # s between looks
LOOKS = 200     # about a second of them

logger = logging.getLogger(__name__)


class AsynPool(asynpool.AsynPool):
    def _event_process_exit(self, hub: Any, proc: Any) -> None:
        super()._event_process_exit(hub, proc)
        if proc in self._pool:  # its pipe closed, and it is not yet a zombie
            hub.call_later(RETRY, self._look_again, hub, proc, LOOKS)

    def _look_again(self, hub: Any, proc: Any, looks: int) -> None:
        if proc not in self._pool or self._state != RUN:
            return  # reaped (by the pool's timer, or a look before this one), or the pool is closing
        self.maintain_pool()
        if proc in self._pool:
            if looks > 1:
                hub.call_later(RETRY, self._look_again, hub, proc, looks - 1)
            else:
                logger.warning("pool process %s closed its files but has not ended; "
                               "the pool's upkeep will reap it", proc.pid)


class TaskPool(prefork.TaskPool):
    Pool = AsynPool
