"""The worker's process pool (flask_qed.pool): a process that has closed its files but not yet
ended, as every process is for a moment on its way out, is still replaced once it ends.

The moment is made long here: the pool's process closes its end of the pipe the pool watches,
then lives on for a fifth of a second before it exits. The pools' upkeep timers are taken
away, so the only way the process is replaced is the watch on the pipe."""
from __future__ import annotations

import os
import stat
import time

import pytest
from kombu.asynchronous import Hub
from celery.concurrency import asynpool, get_implementation

from flask_qed import create_celery, pool as qed_pool
from flask_qed.runtime import Runtime


def close_the_watched_pipe_then_exit(inode: int) -> None:
    for fd in range(3, 1024):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISFIFO(st.st_mode) and st.st_ino == inode:
            os.close(fd)
    time.sleep(0.2)
    os._exit(3)


class CeleryPoolNoTimer(asynpool.AsynPool):
    timers = {}


class QedPoolNoTimer(qed_pool.AsynPool):
    timers = {}


def _replaced(cls: type, within: float) -> tuple[bool, int | None]:
    hub = Hub()
    pool = cls(processes=1, threads=False)
    try:
        pool.register_with_event_loop(hub)
        first = pool._pool[0]
        pool.apply_async(close_the_watched_pipe_then_exit, (os.fstat(first._popen.sentinel).st_ino,))
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and first in pool._pool:
            hub.run_once()
        return first not in pool._pool, first.exitcode
    finally:
        pool.terminate()
        hub.close()


@pytest.mark.parametrize("cls, replaced", [(QedPoolNoTimer, True), (CeleryPoolNoTimer, False)])
def test_a_process_ending_after_its_files_close_is_replaced(cls, replaced):
    # Celery's own pool looks once, finds the process still running, and stops watching it:
    # without its timer it is never replaced (with it, after up to 5 s).
    was_replaced, exitcode = _replaced(cls, within=10 if replaced else 1.5)
    assert was_replaced is replaced
    if replaced:
        assert exitcode == 3  # it ran the job and ended as the job ended it


def test_the_worker_uses_this_pool(tmp_path):
    celery = create_celery(Runtime.load({"QED_STORE_URL": f"sqlite:///{tmp_path}/jobs.sqlite3"}))
    assert celery.conf.worker_pool == qed_pool.POOL  # named, not imported: the gateway never loads the pool
    assert get_implementation(celery.conf.worker_pool) is qed_pool.TaskPool
