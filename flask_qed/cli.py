"""The ``qed`` command: run the embedded stack, list apps, purge expired jobs."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Sequence

from .config import load_settings
from .embedded import free_port, start_redis

logger = logging.getLogger(__name__)


def _stop(procs: Sequence[tuple[str, subprocess.Popen]], timeout: float = 30.0) -> None:
    """SIGTERM in order (web first, Redis last), then SIGKILL whatever is left."""
    for name, proc in procs:
        if proc.poll() is None:
            logger.info("stopping %s (pid %d)", name, proc.pid)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %.0f s, killing it", name, timeout)
                proc.kill()
                proc.wait()


def _wait_healthy(url: str, procs: Sequence[tuple[str, subprocess.Popen]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with status {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local URL
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def up(host: str, port: int, concurrency: int) -> int:
    """Start Redis, a worker and the gateway; stop them all on Ctrl-C or SIGTERM."""
    settings = load_settings()
    instance = Path(settings.instance_path).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, QED_INSTANCE_PATH=str(instance), QED_STORE_URL=settings.store_url)
    procs: list[tuple[str, subprocess.Popen]] = []
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not os.environ.get("QED_BROKER_URL"):
            redis, env["QED_BROKER_URL"] = start_redis(instance / "redis", persist=True)
            procs.append(("redis", redis))
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_cgi", "worker",
                                   "--loglevel", "INFO", "--concurrency", str(concurrency),
                                   "--without-gossip", "--without-mingle"], env=env)
        procs.append(("worker", worker))
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:flask_qed.gunicorn_conf",
                                "--bind", f"{host}:{port}", "flask_cgi:app"], env=env)
        procs.append(("web", web))
        shown = "localhost" if host in ("0.0.0.0", "") else host
        _wait_healthy(f"http://{shown}:{port}/healthz", procs)
        print(f"flask_qed is up: http://{shown}:{port}/  (store {env['QED_STORE_URL']}, "
              f"broker {env['QED_BROKER_URL']}); Ctrl-C stops it", flush=True)
        while not stopping:
            dead = [(n, p.returncode) for n, p in procs if p.poll() is not None]
            if dead:
                print(f"qed up: {dead[0][0]} exited with status {dead[0][1]}; stopping", file=sys.stderr)
                return 1
            time.sleep(0.3)
        return 0
    except (TimeoutError, RuntimeError, OSError) as exc:
        print(f"qed up: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop(list(reversed(procs)))
        print("qed up: stopped", flush=True)


def apps() -> int:
    from .runtime import Runtime
    for app in Runtime.load().apps:
        kind = ", ".join(m.name for m in app.models) or f"Flask app ({app.task_modules or 'no tasks'})"
        print(f"{app.prefix:8} {app.name}: {kind}")
    return 0


def purge() -> int:
    from .stores import open_store
    s = load_settings()
    print(f"purged {open_store(s.store_url, s.result_ttl).purge_expired()} expired jobs")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qed", description="flask_qed: scientific models over HTTP.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_up = sub.add_parser("up", help="start Redis, a worker and the gateway (Ctrl-C stops them)")
    p_up.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_up.add_argument("--port", type=int, default=7777, help="port (default 7777; 0 picks a free one)")
    p_up.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    sub.add_parser("apps", help="list the science apps and their models")
    sub.add_parser("purge", help="delete expired jobs from the store now")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "up":
        return up(args.host, args.port or free_port(), args.concurrency)
    return apps() if args.command == "apps" else purge()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
