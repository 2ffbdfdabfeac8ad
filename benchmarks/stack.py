"""What the benchmarks share: waiting for a stack they started to answer."""
from __future__ import annotations

import subprocess
import time

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
