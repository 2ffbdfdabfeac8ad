"""The workers' housekeeping of the embedded store (flask_qed.reconciler): expired jobs are
purged on a sweep at most once every PURGE_EVERY seconds, again at the next sweep when a
purge ran out of time or the worker is stopping, whatever became of the sweep, and never
for a store that expires its records itself (MongoDB's TTL index)."""
from __future__ import annotations

import dataclasses
import time
import uuid

import pytest

from flask_qed import reconciler as reconciler_module
from flask_qed.reconciler import Reconciler
from flask_qed.runtime import Runtime
from flask_qed.stores import open_store
from flask_qed.tasks import create_celery
from tests.conftest import make_env


@pytest.fixture()
def sweeper(tmp_path):
    """A reconciler on a SQLite store, with 12 jobs expired; no broker is reached."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    short = open_store(url, ttl=1)
    for _ in range(12):
        short.create(str(uuid.uuid4()), {"status": "SUCCESS"})
    time.sleep(1.1)
    env = make_env("redis://127.0.0.1:1/0", url, tmp_path)
    return Reconciler(create_celery(Runtime.load(env)))


def _rows(reconciler: Reconciler) -> int:
    return reconciler.runtime.store._conn().execute("SELECT count(*) FROM jobs").fetchone()[0]


def test_a_purge_runs_on_the_first_sweep_then_not_again_within_the_minute(sweeper):
    assert sweeper.purge() == 12
    assert _rows(sweeper) == 0
    short = open_store(sweeper.settings.store_url, ttl=1)
    short.create(str(uuid.uuid4()), {"status": "SUCCESS"})
    time.sleep(1.1)
    assert sweeper.purge() == 0  # within PURGE_EVERY of the last: left for later
    assert _rows(sweeper) == 1
    sweeper._purged_at -= reconciler_module.PURGE_EVERY
    assert sweeper.purge() == 1


def test_a_purge_out_of_time_goes_on_at_the_next_sweep(sweeper, monkeypatch):
    from flask_qed.stores import sqlite as sqlite_store
    monkeypatch.setattr(sqlite_store, "PURGE_CHUNK", 5)
    monkeypatch.setattr(reconciler_module, "PURGE_BUDGET", 0.0)  # every chunk past the budget
    assert sweeper.purge() == 5
    assert sweeper.purge() == 5  # not a whole purge: the next sweep takes up the rest
    monkeypatch.setattr(reconciler_module, "PURGE_BUDGET", 60.0)
    assert sweeper.purge() == 2
    assert sweeper.purge() == 0 and _rows(sweeper) == 0


def test_a_stopping_worker_purges_no_more_than_a_chunk(sweeper, monkeypatch):
    from flask_qed.stores import sqlite as sqlite_store
    monkeypatch.setattr(sqlite_store, "PURGE_CHUNK", 5)
    sweeper._stop.set()
    assert sweeper.purge() == 5
    assert _rows(sweeper) == 7


def test_the_purge_follows_a_sweep_that_failed(sweeper, monkeypatch):
    def broken() -> int:
        raise RuntimeError("the broker went away")
    monkeypatch.setattr(sweeper, "sweep", broken)
    monkeypatch.setattr(sweeper, "acquire", lambda: True)
    monkeypatch.setattr(sweeper, "settings", dataclasses.replace(sweeper.settings, sweep_interval=1))
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while _rows(sweeper):
            assert time.monotonic() < deadline, "the purge did not run"
            time.sleep(0.05)
    finally:
        sweeper.stop()


def test_a_store_that_expires_its_records_itself_is_left_be(sweeper, monkeypatch):
    monkeypatch.setattr(type(sweeper.runtime.store), "expires_itself", True)
    assert sweeper.purge() == 0
    assert _rows(sweeper) == 12


def test_a_failed_purge_and_a_failed_sweep_are_each_logged(sweeper, monkeypatch, caplog):
    from flask_qed.stores import StoreUnavailable

    def broken_sweep() -> int:
        raise RuntimeError("the broker went away")

    def broken_purge(until=None) -> int:
        raise StoreUnavailable("the file is gone")
    monkeypatch.setattr(sweeper, "sweep", broken_sweep)
    monkeypatch.setattr(sweeper, "acquire", lambda: True)
    monkeypatch.setattr(sweeper.runtime.store, "purge_expired", broken_purge)
    monkeypatch.setattr(sweeper, "settings", dataclasses.replace(sweeper.settings, sweep_interval=1))
    caplog.set_level("WARNING", logger="flask_qed.reconciler")
    wanted = ("purge of expired jobs failed, tried again at the next sweep: StoreUnavailable: the file is gone",
              "sweep failed, next in 1 s: RuntimeError: the broker went away")
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while not all(any(w in r.getMessage() for r in caplog.records) for w in wanted):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)
    finally:
        sweeper.stop()
