"""A job's ``created`` orders the listing: stamps taken in one process never tie."""
from __future__ import annotations

import threading

from flask_qed.jobs.record import created_iso, new_record


def test_created_stamps_strictly_increase_even_within_a_millisecond():
    stamps = [created_iso() for _ in range(2000)]  # far more than one per millisecond
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(s.endswith("Z") and len(s) == len("2026-01-01T00:00:00.000Z") for s in stamps)


def test_created_stamps_from_many_threads_never_tie():
    out: list[str] = []

    def take():
        out.extend(new_record("pram", "rice", "1", "t")["created"] for _ in range(300))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2400 and len(set(out)) == 2400
