"""The compose stack, really deployed: the image built, every service up in Docker.

A Docker engine is used when one answers; otherwise, as root with ``dockerd``
installed, a private one is started (vfs storage, no iptables, no default
bridge: containers run on the stack's own network) and stopped by PID at the
end. Its data root is kept between runs, so images and build layers are cached.
Where the official base images cannot be pulled, ``deploy/base-image.sh``
builds stand-ins from the host's Debian mirror, as an air-gapped operator would.

MongoDB cannot be installed on the build machines: the ``mongodb`` service is
replaced by nx-27017 (MongoDB's wire protocol over SQLite; tests/docker/).
Where it differs from MongoDB: no users (the store URL has no credentials), no
TTL monitor (the store enforces expiry on read and purges), no transactions
(the store uses none).

The scenarios run in order on one stack: every service healthy; a model of
each app end to end through nginx; nginx's own refusals as JSON; 200 slow
clients do not starve /healthz; two worker replicas share the work; a Redis
restart with jobs queued loses none; ``down`` with a job running and the next
``up`` find its result; ``down -v`` at the end.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from flask_qed.embedded import free_port
from flask_qed.keys import add_key
from tests.conftest import ROOT

ENGINE_ROOT = Path(os.environ.get("QED_TEST_DOCKER_ROOT", "/var/lib/flask_qed-test-docker"))
ENGINE_SOCKET = "unix:///run/flask_qed-test-docker.sock"
PYTHON_IMAGE = "python:3.11-slim-bookworm"
STANDINS = {"python": "flask_qed/python:3.11-slim-bookworm", "redis": "flask_qed/redis:7",
            "nginx": "flask_qed/nginx:1"}
RICE = {"mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 909}
SQUARE = {"type": "Polygon", "coordinates": [[[-84.0, 33.0], [-83.75, 33.0], [-83.75, 33.25],
                                              [-84.0, 33.25], [-84.0, 33.0]]]}
TERMINAL = {"SUCCESS", "FAILURE", "REVOKED"}

pytestmark = pytest.mark.docker


def _run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 900,
         check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode:
        raise AssertionError(f"{' '.join(argv[:6])} failed ({done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _engine_answers(env: dict[str, str]) -> bool:
    try:
        return subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def engine() -> Iterator[dict[str, str]]:
    """Environment for docker and docker-compose that reaches a working engine."""
    if not shutil.which("docker") or not shutil.which("docker-compose"):
        pytest.skip("no docker client or docker-compose (apt-get install docker.io docker-compose)")
    env = dict(os.environ)
    if _engine_answers(env):
        yield env
        return
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        pytest.skip("no Docker engine answers, and one cannot be started here (needs root and dockerd)")
    env["DOCKER_HOST"] = ENGINE_SOCKET
    ENGINE_ROOT.mkdir(parents=True, exist_ok=True)
    log = open(ENGINE_ROOT.parent / "flask_qed-test-dockerd.log", "ab")
    daemon = subprocess.Popen(
        ["dockerd", "--storage-driver=vfs", "--iptables=false", "--bridge=none",
         "--data-root", str(ENGINE_ROOT), "--exec-root", "/run/flask_qed-test-docker",
         "--pidfile", "/run/flask_qed-test-docker.pid", "-H", ENGINE_SOCKET],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _engine_answers(env):
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"a private dockerd did not start (exit {daemon.poll()}); see its log")
            time.sleep(0.5)
        yield env
    finally:
        daemon.send_signal(signal.SIGTERM)  # only the daemon this test started, by PID
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def _have(env: dict[str, str], image: str) -> bool:
    return _run(["docker", "image", "inspect", image], env, check=False).returncode == 0


def _pull(env: dict[str, str], image: str) -> bool:
    return _have(env, image) or _run(["docker", "pull", image], env, timeout=120, check=False).returncode == 0


@pytest.fixture(scope="module")
def images(engine: dict[str, str]) -> dict[str, str]:
    """The project's image and what the stack runs beside it: official images where
    they can be pulled, else stand-ins built from Debian (deploy/base-image.sh)."""
    if all(_pull(engine, i) for i in (PYTHON_IMAGE, "redis:7.2-alpine", "nginx:1.27")):
        chosen = {"python": PYTHON_IMAGE, "redis": "redis:7.2-alpine", "nginx": "nginx:1.27"}
    else:
        _run(["bash", "deploy/base-image.sh"], {**engine, "DOCKER": "docker"}, timeout=1800)
        chosen = dict(STANDINS)
    chosen["project"] = "flask_qed:stack-test"
    _run(["docker", "build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={chosen['python']}",
          "-t", chosen["project"], "."], engine, timeout=1800)
    chosen["mongo"] = "flask_qed-test/mongo-standin"
    _run(["docker", "build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={chosen['python']}",
          "-t", chosen["mongo"], "-f", "tests/docker/mongo-standin.Dockerfile", "tests/docker"],
         engine, timeout=900)
    return chosen


class Stack:
    """One compose project on a private name and port, driven through docker-compose."""

    def __init__(self, env: dict[str, str], images: dict[str, str], tmp: Path):
        self.name = f"qedtest{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        keys = tmp / "keys"
        keys.mkdir()
        self.key = add_key(keys / "api_keys", "admin")
        for path in (keys, keys / "api_keys"):  # the gateway runs as uid 10001
            os.chown(path, 10001, 10001)
        settings = {
            "COMPOSE_PROJECT_NAME": self.name, "REDIS_PASSWORD": uuid.uuid4().hex,
            "MONGO_ROOT_USERNAME": "qed", "MONGO_ROOT_PASSWORD": uuid.uuid4().hex,
            "FLOWER_BASIC_AUTH": f"admin:{uuid.uuid4().hex}", "QED_IMAGE": images["project"],
            "NGINX_IMAGE": images["nginx"], "REDIS_IMAGE": images["redis"],
            "MONGO_STANDIN_IMAGE": images["mongo"], "QED_HTTP_PORT": str(self.port),
            "QED_KEYS_DIR": str(keys), "WORKER_STOP_GRACE_PERIOD": "2m",
            "QED_MAX_ACTIVE_JOBS": "500", "QED_RATE_LIMIT": "off"}
        self.env_file = tmp / "stack.env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        self.env = {k: v for k, v in env.items() if k not in settings}
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.key}"

    def compose(self, *args: str, timeout: float = 600, check: bool = True,
                **more: str) -> subprocess.CompletedProcess:
        argv = ["docker-compose", "-p", self.name, "--env-file", str(self.env_file),
                "-f", "docker-compose.yml", "-f", "tests/docker/compose.test.yml"]
        done = _run([*argv, *args], {**self.env, **more}, timeout=timeout, check=False)
        if check and done.returncode:
            # say why: what the services printed and their health-check answers
            logs = _run([*argv, "logs", "--tail", "30"], self.env, check=False).stdout[-8000:]
            probes = "\n".join(
                _run(["docker", "inspect", "--format", "{{.Name}} {{if .State.Health}}{{json .State.Health}}"
                      "{{end}}", cid], self.env, check=False).stdout[-1500:]
                for cid in _run([*argv, "ps", "-q"], self.env, check=False).stdout.split())
            raise AssertionError(f"docker-compose {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}\n{probes}\n{logs}")
        return done

    def containers(self, service: str | None = None) -> list[str]:
        args = ["ps", "-q"] + ([service] if service else [])
        return [c for c in self.compose(*args).stdout.split() if c]

    def health(self) -> dict[str, tuple[str, str]]:
        """Container name -> (compose service, health status)."""
        found = {}
        for cid in self.containers():
            out = _run(["docker", "inspect", "--format",
                        "{{index .Config.Labels \"com.docker.compose.service\"}} {{.Name}} "
                        "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", cid],
                       self.env).stdout.split()
            found[out[1]] = (out[0], out[2])
        return found

    def wait_healthy(self, timeout: float = 300) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = self.health()
            if states and all(s == "healthy" for _, s in states.values()):
                return states
            if time.monotonic() > deadline:
                logs = self.compose("logs", "--tail", "40").stdout[-6000:]
                raise AssertionError(f"not healthy after {timeout} s: {states}\n{logs}")
            time.sleep(2)

    def submit(self, path: str, inputs: Any) -> str:
        response = self.http.post(self.base + path, json={"inputs": inputs}, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["job_id"]

    def wait(self, job_id: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = self.http.get(f"{self.base}/jobs/{job_id}/status", timeout=10)
                if answer.status_code == 200 and answer.json()["status"] in TERMINAL:
                    return self.http.get(f"{self.base}/jobs/{job_id}", timeout=30).json()
            except requests.RequestException:
                pass  # the stack may be restarting
            assert time.monotonic() < deadline, f"job {job_id} unfinished after {timeout} s"
            time.sleep(0.5)


@pytest.fixture(scope="module")
def stack(engine: dict[str, str], images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(engine, images, tmp_path_factory.mktemp("stack"))
    try:
        stack.compose("up", "-d", "--no-build", timeout=900)
        stack.wait_healthy()
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", "--timeout", "30", timeout=300)


def test_every_service_is_healthy_and_only_nginx_is_published(stack: Stack) -> None:
    states = stack.wait_healthy()
    assert {service for service, _ in states.values()} == {"nginx", "web", "worker", "redis", "mongodb"}
    published = _run(["docker", "ps", "--filter", f"label=com.docker.compose.project={stack.name}",
                      "--format", "{{.Names}} {{.Ports}}"], stack.env).stdout
    for line in published.splitlines():
        name, _, ports = line.partition(" ")
        assert ("->" in ports) == ("nginx" in name), line


def test_a_model_of_each_app_runs_end_to_end_through_nginx(stack: Stack) -> None:
    assert requests.get(f"{stack.base}/jobs", timeout=10).status_code == 401  # keys are on
    rice = stack.wait(stack.submit("/pram/rice", RICE))
    assert rice["status"] == "SUCCESS", rice
    assert rice["data"]["outputs"]["out_cw"]["0"] == pytest.approx(2015.5872, rel=1e-5)
    area = stack.wait(stack.submit("/hms/percent_area", {"geometry": SQUARE, "grid": "nldas"}))
    assert area["status"] == "SUCCESS", area
    points = area["data"]["geometry"]["0"]["points"]
    assert len(points) == 4 and sum(p["percentCatchment"] for p in points) == pytest.approx(100, abs=1e-6)
    # gateway and worker share the metrics volume: the worker's finished jobs show in /metrics
    scraped = stack.http.get(f"{stack.base}/metrics", timeout=10).text
    assert re.search(r'qed_jobs_finished_total\{app="pram",model="rice",status="SUCCESS"\} [1-9]', scraped)
    # the gateway's links name the host and port the client used, not nginx's own
    started = stack.http.post(f"{stack.base}/ogcapi/processes/pram.rice/execution", json={"inputs": RICE},
                              headers={"Prefer": "respond-async"}, timeout=30)
    assert started.status_code == 201 and started.headers["Location"].startswith(f"{stack.base}/ogcapi/jobs/"), \
        (started.status_code, started.headers.get("Location"))
    gz = stack.http.get(f"{stack.base}/openapi.json", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert gz.status_code == 200 and gz.headers.get("Content-Encoding") == "gzip"
    assert "/" not in gz.headers.get("Server", "")  # no software version on the wire


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_nginx_refusals_are_the_gateways_json(stack: Stack) -> None:
    long_uri = _raw(stack.port, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert long_uri.split(b"\r\n")[0].split()[1] == b"414" and b'"code": 414' in long_uri
    big_headers = _raw(stack.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n")
    assert big_headers.split(b"\r\n")[0].split()[1] == b"431" and b'"code": 431' in big_headers
    # a body over the gateway's limit (256 MiB) is refused from its Content-Length
    too_big = _raw(stack.port, b"POST /pram/rice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 300000000\r\nConnection: close\r\n\r\n{")
    assert too_big.split(b"\r\n")[0].split()[1] == b"413" and b'"code": 413' in too_big
    for answer in (long_uri, big_headers):
        assert b"<html" not in answer.lower() and b"nginx/" not in answer


def test_slow_clients_cost_nginx_not_the_gateway(stack: Stack) -> None:
    slow = []
    try:
        for _ in range(200):  # each sends half a request, then waits
            sock = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
            sock.sendall(b"POST /pram/rice HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
            slow.append(sock)
        times = []
        for _ in range(5):
            start = time.monotonic()
            assert requests.get(f"{stack.base}/healthz", timeout=5).status_code == 200
            times.append(time.monotonic() - start)
        assert max(times) < 1.0, times
    finally:
        for sock in slow:
            sock.close()


def test_two_worker_replicas_share_the_work(stack: Stack) -> None:
    stack.compose("up", "-d", "--no-build", "--no-recreate", WORKER_REPLICAS="2")
    workers = stack.containers("worker")
    assert len(workers) == 2
    stack.wait_healthy()
    # sixteen different batches: identical ones would be answered from one run
    # (the result cache joins a job to a running twin), leaving a worker idle
    jobs = [
        stack.submit("/pram/rice", [dict(RICE, mai=0.1 + i / 1000 + k / 10) for i in range(2000)])
        for k in range(16)
    ]
    assert all(stack.wait(j)["status"] == "SUCCESS" for j in jobs)
    ran = [_run(["docker", "logs", cid], stack.env).stderr.count("pram.rice[") for cid in workers]
    assert all(n > 0 for n in ran), ran
    # an upgrade-style `up -d` keeps the replica count set in the environment
    stack.compose("up", "-d", "--no-build", WORKER_REPLICAS="2")
    assert len(stack.containers("worker")) == 2


def test_a_redis_restart_with_jobs_queued_loses_none(stack: Stack) -> None:
    stack.compose("stop", "worker", timeout=300)
    queued = [stack.submit("/pram/rice", dict(RICE, mai=1 + i)) for i in range(20)]
    stack.compose("restart", "redis")
    stack.compose("start", "worker", timeout=300)
    stack.wait_healthy()
    done = [stack.wait(j) for j in queued]
    assert [d["status"] for d in done] == ["SUCCESS"] * 20
    assert [d["attempts"] for d in done] == [1] * 20


def test_down_with_a_job_running_then_up_finds_its_result(stack: Stack) -> None:
    big = [dict(RICE, mai=0.1 + i / 10000) for i in range(60000)]
    job_id = stack.submit("/pram/rice", big)
    deadline = time.monotonic() + 120
    while stack.http.get(f"{stack.base}/jobs/{job_id}/status", timeout=10).json()["status"] == "PENDING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stack.compose("down", "--timeout", "120", timeout=600)
    stack.compose("up", "-d", "--no-build", WORKER_REPLICAS="2", timeout=900)
    stack.wait_healthy()
    done = stack.wait(job_id, timeout=300)
    assert done["status"] == "SUCCESS", done
    assert len(done["data"]["outputs"]["out_cw"]) == 60000
