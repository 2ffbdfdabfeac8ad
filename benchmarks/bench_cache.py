"""What the result cache costs a submission: the fingerprint of a large batch (validated
inputs, read back through their compressed form) and the store's fingerprint lookups
among many jobs (SQLite, the embedded store).

    .venv/bin/python benchmarks/bench_cache.py [runs] [jobs]   (default: 100000 runs, 50000 jobs)
"""
from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_qed.jobs.fingerprint import fingerprint  # noqa: E402
from flask_qed.plugins import discover  # noqa: E402
from flask_qed.stores import open_store  # noqa: E402

RICE = {"mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 909}


def batch(runs: int) -> None:
    rice = next(m for a in discover(()) if a.name == "pram" for m in a.models if m.name == "rice")
    columns = {k: {str(i): v + i * 1e-6 for i in range(runs)} for k, v in RICE.items()}
    start = time.perf_counter()
    validated, _ = rice.validate_packed(columns)
    validating = time.perf_counter() - start
    start = time.perf_counter()
    fingerprint("pram", "rice", rice.version, "0", validated)
    print(f"rice, {runs} runs: validation {validating:.2f} s, fingerprint {time.perf_counter() - start:.3f} s "
          f"({len(validated) / 1e6:.1f} MB packed)")
    start = time.perf_counter()
    fingerprint("testing", "sleepy", "1", "0", {"seconds": 0.5, "marker": "", "fail": False})
    print(f"one run's fingerprint: {(time.perf_counter() - start) * 1e6:.0f} µs")


def lookups(jobs: int) -> None:
    folder = tempfile.mkdtemp(prefix="qed-bench-")
    store = open_store(f"sqlite:///{folder}/jobs.sqlite3", 3600)
    prints = [uuid.uuid4().hex * 2 for _ in range(jobs)]
    for n, key in enumerate(prints):
        store.create(str(uuid.uuid4()), {"status": "SUCCESS" if n % 2 else "PENDING", "fingerprint": key,
                                         "owner": f"client{n % 10}", "created": f"2026-01-01T00:00:{n:08d}"})
    rounds = 2000
    start = time.perf_counter()
    for n in range(rounds):
        key = prints[(n * 7919) % jobs] if n % 2 else uuid.uuid4().hex * 2  # half found, half missed
        store.with_fingerprint(key, ("SUCCESS",), owner=f"client{n % 10}")
        store.with_fingerprint(key, ("PENDING", "STARTED"), owner=f"client{n % 10}")
    print(f"{jobs} jobs in SQLite: a miss's two lookups take {(time.perf_counter() - start) / rounds * 1e6:.0f} µs")


if __name__ == "__main__":
    batch(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
    lookups(int(sys.argv[2]) if len(sys.argv) > 2 else 50_000)
