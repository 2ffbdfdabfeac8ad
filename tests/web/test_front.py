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
