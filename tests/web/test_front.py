"""The front of ``qed up``: clients that send slowly cannot starve the others.

200 connections trickle their requests (headers a byte at a time, or complete
headers then a body a byte at a time) for 20 s, while ``/healthz`` and a job
submission are probed once a second: each probe must be answered within 1 s.
The load is ``benchmarks/slow_clients.py``, the script docs/performance.md quotes.
"""
from __future__ import annotations

import importlib.util
import signal
import sys
from pathlib import Path

from flask_qed.embedded import free_port
from tests.conftest import ROOT
from tests.test_cli import _start_up, _wait_text

_spec = importlib.util.spec_from_file_location("slow_clients", ROOT / "benchmarks" / "slow_clients.py")
slow_clients = sys.modules.setdefault("slow_clients", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(slow_clients)  # type: ignore[union-attr]


def test_slow_clients_do_not_starve_healthz_or_submission(tmp_path: Path) -> None:
    port = free_port()
    proc, log = _start_up(tmp_path, port)
    try:
        _wait_text(log, "flask_qed is up", proc)
        report = slow_clients.run(f"http://127.0.0.1:{port}", connections=200, seconds=20, probe_timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    print(report.summary())
    healthz = [(s, c) for w, s, c in report.probes if w == "healthz"]
    submits = [(s, c) for w, s, c in report.probes if w == "submit"]
    assert len(healthz) >= 10 and len(submits) >= 10, report.summary()
    assert all(code == 200 for _, code in healthz), report.summary()
    assert all(code == 202 for _, code in submits), report.summary()
    assert report.worst("healthz") < 1.0 and report.worst("submit") < 1.0, report.summary()


def test_a_submission_waiting_for_the_store_does_not_hold_the_gateway(tmp_path: Path) -> None:
    """Another process holds the store's write lock for 3 s (as a large result being written
    does): submissions wait for it, but /healthz on the same processes is answered meanwhile,
    and every submission is taken once the lock is free."""
    import json
    import sqlite3
    import threading
    import time
    import urllib.request

    port = free_port()
    proc, log = _start_up(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    answers: list[int] = []

    def submit() -> None:
        body = json.dumps({"inputs": {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1,
                                      "osed": 0.509, "kd": 757}}).encode()
        req = urllib.request.Request(f"{base}/pram/rice", data=body, headers={
            "Content-Type": "application/json", "Cache-Control": "no-cache"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            answers.append(resp.status)

    try:
        _wait_text(log, "flask_qed is up", proc)
        conn = sqlite3.connect(tmp_path / "instance" / "jobs.sqlite3", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO probe (id, at) VALUES ('test', 1)")
        held = time.monotonic()
        senders = [threading.Thread(target=submit) for _ in range(8)]  # on both gateway processes
        for sender in senders:
            sender.start()
        time.sleep(0.3)
        probes = []
        while time.monotonic() - held < 2.5:
            started = time.monotonic()
            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as resp:
                assert resp.status == 200
            probes.append(time.monotonic() - started)
            time.sleep(0.05)
        waiting = sum(s.is_alive() for s in senders)
        conn.execute("COMMIT")
        conn.close()
        for sender in senders:
            sender.join(30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert waiting == 8, f"{8 - waiting} submissions were answered while the store was locked"
    assert len(probes) >= 10 and max(probes) < 0.5, [round(p, 3) for p in probes]
    assert answers == [202] * 8, answers
