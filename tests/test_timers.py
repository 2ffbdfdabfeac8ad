"""The worker's event loop lets go of the timers its time limits cancel."""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from kombu.asynchronous import Hub
from kombu.asynchronous.timer import Timer

from flask_qed import timers
from flask_qed.runtime import Runtime
from flask_qed.tasks import create_celery

from .conftest import make_env


def test_cancelled_timers_are_taken_out_and_the_others_fire_in_order() -> None:
    timer = Timer()
    fired: list[int] = []
    base = time.monotonic() - 1000  # all due: the scheduler gives each one at once
    entries = [timer.call_at(base + (i * 7919) % 1000, fired.append, (i,)) for i in range(1000)]
    for i, entry in enumerate(entries):
        if i % 10:
            entry.cancel()  # as the pool cancels a finished task's time limit
    assert len(timer) == 1000
    assert timers.compact(timer) == 900
    assert len(timer) == 100
    assert timers.compact(timer) == 0  # nothing more to take out
    for _, entry in timer:
        if entry is None:
            break
        entry()
    kept = [i for i in range(1000) if i % 10 == 0]
    assert fired == sorted(kept, key=lambda i: (i * 7919) % 1000)  # every one left, by its time


def test_the_worker_step_compacts_its_loops_timers_every_interval(monkeypatch) -> None:
    monkeypatch.setattr(timers, "INTERVAL", 0.05)
    hub = Hub()
    try:
        step = timers.CompactTimers(SimpleNamespace())
        step.start(SimpleNamespace(hub=hub))
        for _ in range(50):
            hub.call_later(3300, lambda: None).cancel()  # a finished task's time limit
        assert len(hub.timer) == 51  # the step's own timer and fifty cancelled
        time.sleep(0.1)
        hub.fire_timers()  # as the worker's loop does: the step's timer is due
        assert len(hub.timer) == 1  # its own, set again
        step.stop(SimpleNamespace(hub=hub))
        assert all(event[2].canceled for event in hub.timer._queue)
        step.start(SimpleNamespace(hub=None))  # a worker without an event loop: nothing to do
        assert step.tref is None
    finally:
        hub.close()


def test_the_projects_workers_have_the_step(tmp_path: Path) -> None:
    celery = create_celery(Runtime.load(make_env("redis://127.0.0.1:1/0", f"sqlite:///{tmp_path / 'j.sqlite3'}",
                                                 tmp_path)))
    assert timers.CompactTimers in celery.steps["worker"]
