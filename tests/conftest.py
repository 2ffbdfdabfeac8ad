"""Fixtures: a real Redis server, a real Celery worker and the gateway, all started here."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from flask_qed.embedded import start_redis

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {"SUCCESS", "FAILURE", "REVOKED"}


def start_worker(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen:
    """``celery -A celery_cgi worker`` exactly as a deployment runs it; wait until ready."""
    fh = open(log, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_cgi", "worker",
                             "--loglevel", "INFO", "--concurrency", "2", "--without-mingle",
                             "--without-gossip", *extra],
                            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while b" ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def make_env(redis_url: str, store_url: str, instance: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_BROKER_URL=redis_url, QED_STORE_URL=store_url, QED_INSTANCE_PATH=str(instance),
               QED_APPS="tests.testapps:plugin", QED_JOB_LEASE="2",
               # Every test client is 127.0.0.1: fair-use limits are tested on their own.
               QED_RATE_LIMIT="off", QED_MAX_ACTIVE_JOBS="100000", QED_MAX_ACTIVE_ROWS="100000000",
               # Each test's job runs: the result cache is tested on its own (tests/jobs/test_cache.py).
               QED_CACHE="off",
               PYTHONPATH=os.pathsep.join(filter(None, [env.get("PYTHONPATH", ""), str(ROOT)])))
    env.update(more)
    return env


_NX: dict[str, Any] = {}


def nx27017_url() -> str:
    """A session-wide nx-27017 server (MongoDB's wire protocol over SQLite) on a free port."""
    if "url" not in _NX:
        from flask_qed.embedded import free_port, wait_for_port
        port = free_port()
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"qed-nx27017-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([sys.executable, "-m", "nx_27017.nx_27017", "--host", "127.0.0.1",
                                 "-p", str(port), "--data-dir", str(folder),
                                 # its own pid and log files: by default every server on the
                                 # machine shares /tmp's, and a second test session's would not start
                                 "--pid-file", str(folder / "nx.pid"), "--log-file", str(folder / "nx.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port("127.0.0.1", port, 30)
        _NX.update(url=f"mongodb://127.0.0.1:{port}", proc=proc)
    return _NX["url"]


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if "proc" in _NX:
        stop(_NX["proc"])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(proc)


@pytest.fixture(scope="session")
def stack_env(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    instance = tmp_path_factory.mktemp("instance")
    return make_env(redis_url, f"sqlite:///{instance / 'jobs.sqlite3'}", instance)


@pytest.fixture(scope="session")
def worker(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen]:
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    proc = start_worker(stack_env, log)
    yield proc
    stop(proc)


@pytest.fixture(scope="session")
def gateway(stack_env: dict[str, str]) -> Any:
    """The gateway in-process, on the same broker and store as the worker."""
    from flask_qed.runtime import Runtime
    from flask_qed.web import create_gateway
    from flask_qed.tasks import create_celery
    return create_gateway(create_celery(Runtime.load(stack_env)))


@pytest.fixture()
def client(gateway: Any, worker: subprocess.Popen) -> Any:
    return gateway.test_client()


def wait_for(client: Any, job_id: str, timeout: float = 60, prefix: str = "") -> dict[str, Any]:
    """Poll a job until it is finished; return its record."""
    deadline = time.monotonic() + timeout
    url = f"{prefix}/data?job_id={job_id}" if prefix else f"/jobs/{job_id}"
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"job {job_id} still {body['status']} after {timeout} s"
        time.sleep(0.05)


@pytest.fixture()
def own_stack(tmp_path: Path) -> Iterator[Any]:
    """Factory: a private Redis, worker and in-process gateway with extra settings."""
    started: list[subprocess.Popen] = []

    def make(**settings: str) -> dict[str, Any]:
        from flask_qed.runtime import Runtime
        from flask_qed.tasks import create_celery
        from flask_qed.web import create_gateway
        redis, url = start_redis(tmp_path / "redis")
        started.append(redis)
        env = make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path, **settings)
        worker = start_worker(env, tmp_path / "worker.log")
        started.insert(0, worker)
        client = create_gateway(create_celery(Runtime.load(env))).test_client()
        return {"client": client, "worker": worker, "env": env, "redis": redis,
                "start_worker": lambda: _track(start_worker(env, tmp_path / "worker2.log"))}

    def _track(proc: subprocess.Popen) -> subprocess.Popen:
        started.insert(0, proc)
        return proc

    yield make
    for proc in started:
        stop(proc)
