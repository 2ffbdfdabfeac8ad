"""The ``qed`` command: run the embedded stack, list apps, purge expired jobs."""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from . import config, startup
from .config import load_settings
from .embedded import die_with_parent, free_port, start_redis

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


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` (so what answers there later is ours).

    With SO_REUSEADDR, as gunicorn binds: the connections a server just stopped has
    left in TIME-WAIT do not make its port look busy; a listening socket still does."""
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host or "0.0.0.0", port))
        except OSError:
            return False
    return True


RESTART_WINDOW = 60.0   # s: exits closer together than this count as one run of failures
RESTART_LIMIT = 5       # exits of one process within the window before qed up gives up
RESTART_DELAYS = (0.5, 1, 2, 4, 8)  # s before each restart in a run of failures


class Supervised:
    """A child of ``qed up``: started again with back-off when it dies, given up on after
    ``RESTART_LIMIT`` exits within ``RESTART_WINDOW`` seconds."""

    def __init__(self, name: str, start: Callable[[], subprocess.Popen]):
        self.name, self._start = name, start
        self.proc = start()
        self.exits: list[float] = []
        self.restart_at: float | None = None

    def check(self, now: float) -> str | None:
        """Restart the child if it is due; the reason to give up, if it is time to."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restart_at = None
                self.proc = self._start()
                print(f"qed up: {self.name} restarted (pid {self.proc.pid})", file=sys.stderr, flush=True)
            return None
        status = self.proc.poll()
        if status is None:
            return None
        self.exits = [t for t in self.exits if now - t < RESTART_WINDOW] + [now]
        if len(self.exits) >= RESTART_LIMIT:
            return (f"{self.name} exited {len(self.exits)} times within {RESTART_WINDOW:.0f} s (last status "
                    f"{status}); giving up: see its messages above")
        delay = RESTART_DELAYS[min(len(self.exits), len(RESTART_DELAYS)) - 1]
        print(f"qed up: {self.name} exited with status {status}; restarting it in {delay:g} s",
              file=sys.stderr, flush=True)
        self.restart_at = now + delay
        return None


def up(host: str, port: int, concurrency: int) -> int:
    """Start Redis, a worker and the gateway; stop them all on Ctrl-C, SIGTERM or SIGHUP.

    Redis is the broker unless ``QED_BROKER_URL`` names one; beside a broker that is not
    Redis (RabbitMQ) it carries the notices, shared counters and lock of ``QED_REDIS_URL``,
    unless that names a Redis of its own.

    The children are tied to this process (they get SIGTERM if it dies, even by
    SIGKILL). The embedded Redis listens on 127.0.0.1 only, in protected mode,
    with a random password written to its config file (never on a command
    line) and handed to the worker and gateway in their environment. A child
    that dies is started again (Redis on the same port and append-only file),
    after a pause that grows with each exit; one that exits five times in a
    minute stops everything, with the reason. Files are created readable by
    their owner only (umask 077): the instance folder holds every client's jobs.
    """
    # Longer than a function should be: the whole life of the stack, start to stop, in order.
    os.umask(0o077)
    settings, _apps = startup.check()  # a configuration mistake stops qed up before anything starts
    instance = Path(settings.instance_path).resolve()
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if instance.stat().st_uid == os.getuid():
        instance.chmod(0o700)
    env = dict(os.environ, QED_INSTANCE_PATH=str(instance), QED_STORE_URL=settings.store_url)
    # One folder of metrics for the gateway's and the worker's processes: /metrics adds them up.
    metrics_dir = instance / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(mode=0o700, parents=True)
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    children: list[Supervised] = []
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        if not port_is_free(host, port):
            raise RuntimeError(f"port {port} on {host or '0.0.0.0'} is in use; choose another with --port "
                               "(0 picks a free one)")
        redis_args: dict = {}
        broker_given = config.variable("QED_BROKER_URL").text(os.environ)
        # An embedded Redis: the broker when none is named; beside another broker (RabbitMQ),
        # the Redis of finished-job notices, shared rate-limit counts and the sweeper's lock,
        # unless QED_REDIS_URL names one.
        if not broker_given or (not broker_given.startswith(("redis://", "rediss://"))
                                and not config.variable("QED_REDIS_URL").text(os.environ)):
            import secrets
            redis_args = {"workdir": instance / "redis", "persist": True, "port": free_port(),
                          "password": secrets.token_hex(24), "tied": True}
            redis, redis_url = start_redis(**redis_args)
            env["QED_REDIS_URL" if broker_given else "QED_BROKER_URL"] = redis_url
            first = [redis]
            children.append(Supervised("redis", lambda: first.pop() if first else start_redis(**redis_args)[0]))
        children.append(Supervised("worker", lambda: subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_cgi", "worker", "--loglevel", "INFO",
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle"],
            env=env, preexec_fn=die_with_parent)))  # noqa: PLW1509
        children.append(Supervised("web", lambda: subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:flask_qed.gunicorn_conf",
             "--bind", f"{host}:{port}", "flask_cgi:app"], env=env, preexec_fn=die_with_parent)))  # noqa: PLW1509
        shown = "localhost" if host in ("0.0.0.0", "") else host
        _wait_healthy(f"http://{shown}:{port}/healthz", [(c.name, c.proc) for c in children])
        embedded = "embedded Redis (127.0.0.1, password protected)"
        broker = embedded if redis_args and not broker_given else _redact(env["QED_BROKER_URL"])
        if redis_args and broker_given:
            broker += f"; notices and shared counts on the {embedded}"
        print(f"flask_qed is up: http://{shown}:{port}/  (store {env['QED_STORE_URL']}, "
              f"broker {broker}); Ctrl-C stops it", flush=True)
        while not stopping:
            for child in children:
                reason = child.check(time.monotonic())
                if reason:
                    print(f"qed up: {reason}; stopping", file=sys.stderr, flush=True)
                    return 1
            time.sleep(0.3)
        return 0
    except (TimeoutError, RuntimeError, OSError) as exc:
        print(f"qed up: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        _stop([(c.name, c.proc) for c in reversed(children)])
        print("qed up: stopped", flush=True)


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    return head.split("://", 1)[0] + "://…@" + tail if sep else url


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


def keys(args: argparse.Namespace) -> int:
    from . import keys as keyfile
    path = args.file or config.read("QED_API_KEYS_FILE")
    if not path:
        print("qed keys: name the key file with --file or QED_API_KEYS_FILE", file=sys.stderr)
        return 2
    if args.keys_command == "add":
        try:
            key = keyfile.add_key(path, args.name)
        except ValueError as exc:
            print(f"qed keys: {exc}", file=sys.stderr)
            return 2
        print(key)
        print(f"# the key of {args.name!r}; it is shown only now, {path} keeps only its hash",
              file=sys.stderr)
        return 0
    if args.keys_command == "list":
        for name, count in keyfile.list_clients(path):
            print(f"{name}\t{count} key{'s' if count != 1 else ''}")
        return 0
    removed = keyfile.revoke(path, args.name)
    print(f"revoked {removed} key{'s' if removed != 1 else ''} of {args.name!r}")
    return 0 if removed else 1


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("flask_qed")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qed", description="flask_qed: scientific models over HTTP.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_up = sub.add_parser("up", help="start Redis, a worker and the gateway (Ctrl-C, SIGTERM or SIGHUP stops them)")
    p_up.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_up.add_argument("--port", type=int, default=7777, help="port (default 7777; 0 picks a free one)")
    p_up.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    sub.add_parser("apps", help="list the science apps and their models")
    sub.add_parser("purge", help="delete expired jobs from the store now")
    p_keys = sub.add_parser("keys", help="manage API keys (the file named by QED_API_KEYS_FILE)")
    p_keys.add_argument("--file", help="the key file (default: $QED_API_KEYS_FILE)")
    keys_sub = p_keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_sub.add_parser("add", help="make a new key for a client and print it once").add_argument("name")
    keys_sub.add_parser("list", help="list the clients that have keys")
    keys_sub.add_parser("revoke", help="remove every key of a client").add_argument("name")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The apps are loaded here only to be listed or checked; the gateway and workers log their own.
    logging.getLogger("flask_qed.plugins").setLevel(logging.WARNING)
    try:
        if args.command == "up":
            return up(args.host, args.port or free_port(), args.concurrency)
        if args.command == "keys":
            return keys(args)
        return apps() if args.command == "apps" else purge()
    except startup.MISTAKES as exc:  # settings or apps: one line that names the mistake
        print(f"qed {args.command}: {startup.one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
