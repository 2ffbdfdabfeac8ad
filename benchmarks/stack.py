"""What the benchmarks share: waiting for a stack they started to answer, a private broker
for one process, and CPU time of ways of doing one step, measured side by side in one process."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import requests


def wait_ready(base: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    """Return once ``base``/readyz answers 200; raise if ``proc`` ends or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"the stack at {base} did not become ready")
        time.sleep(0.2)


def interleaved(ways: dict[str, Callable[[], None]], rounds: int, batch: int,
                after_round: Callable[[], None] | None = None) -> dict[str, float]:
    """Median CPU ms (``time.process_time``) per call of each way: batches of ``batch``
    calls, the ways' batches interleaved for ``rounds`` rounds, so that a change in the
    machine's speed hits them alike; one warm-up call each first (connections, imports)."""
    for way in ways.values():
        way()
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            start = time.process_time()
            for _ in range(batch):
                way()
            cpu[name].append((time.process_time() - start) / batch * 1000)
        if after_round is not None:
            after_round()
    return {name: statistics.median(values) for name, values in cpu.items()}


@contextmanager
def private_celery(prefix: str) -> Iterator[Any]:
    """The project's Celery app in this process, on a private redis-server and a SQLite
    store in a scratch folder (``QED_*`` set for them); the server stops on leaving."""
    from flask_qed.embedded import start_redis
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    redis, url = start_redis(scratch / "redis", tied=True)
    os.environ.update(QED_BROKER_URL=url, QED_STORE_URL=f"sqlite:///{scratch}/jobs.sqlite3",
                      QED_INSTANCE_PATH=str(scratch))
    try:
        from flask_qed.tasks import create_celery
        yield create_celery()
    finally:
        redis.terminate()
        redis.wait()


def interleaved_args(doc: str | None, rounds: int, batch: int) -> argparse.Namespace:
    """The command line of an :func:`interleaved` benchmark: ``--rounds`` and ``--batch``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--batch", type=int, default=batch)
    return ap.parse_args()
