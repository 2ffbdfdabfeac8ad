"""The ``qed`` command: help, and ``qed up`` running the README's example end to end."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flask_qed.embedded import free_port
from tests.conftest import ROOT

QED = [sys.executable, "-m", "flask_qed.cli"]


def test_help_lists_the_commands():
    out = subprocess.run([*QED, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("up", "apps", "purge"):
        assert re.search(rf"^\s+{command}\s", out, re.M), out


def test_apps_lists_the_mounted_apps(tmp_path):
    env = {**os.environ, "QED_INSTANCE_PATH": str(tmp_path)}
    out = subprocess.run([*QED, "apps"], capture_output=True, text=True, check=True, env=env).stdout
    assert "/pram" in out and "rice" in out and "/hms" in out and "percent_area" in out


def readme_example(port: int) -> str:
    """The README's POST-and-poll example, pointed at ``port``."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"Run a model and poll it.*?```bash\n(.*?)```", text, re.S).group(1)
    return block.replace("7777", str(port))


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_qed_up_runs_the_readme_example_and_stops_everything(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env["QED_INSTANCE_PATH"] = str(tmp_path / "instance")
    log = open(tmp_path / "up.log", "w+")
    proc = subprocess.Popen([*QED, "up", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while "flask_qed is up" not in (tmp_path / "up.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.2)
        assert f"http://127.0.0.1:{port}/" in (tmp_path / "up.log").read_text()
        children = _children(proc.pid)
        assert len(children) == 3  # redis, worker, gunicorn
        result = subprocess.run(["bash", "-c", readme_example(port)], capture_output=True, text=True,
                                timeout=60)
        assert '"status":"SUCCESS"' in result.stdout, result
        assert '"out_cw":{"0":27.5184' in result.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, (tmp_path / "up.log").read_text()[-3000:]
    assert "qed up: stopped" in (tmp_path / "up.log").read_text()
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()
             and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert alive == []
    assert (tmp_path / "instance" / "jobs.sqlite3").exists()


def test_qed_version_names_the_installed_release():
    from importlib.metadata import version
    done = subprocess.run([sys.executable, "-m", "flask_qed.cli", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"qed {version('flask_qed')}"


def _start_up(tmp_path: Path, port: int, name: str = "up.log") -> tuple[subprocess.Popen, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env["QED_INSTANCE_PATH"] = str(tmp_path / "instance")
    log = tmp_path / name
    proc = subprocess.Popen([*QED, "up", "--port", str(port), "--concurrency", "1"], cwd=ROOT, env=env,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, text=True)
    return proc, log


def _wait_text(log: Path, text: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        if proc.poll() is not None:
            assert text in log.read_text(), log.read_text()[-3000:]
            return
        time.sleep(0.2)


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _gone(pids: list[int], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists()
                 and "zombie" not in Path(f"/proc/{p}/status").read_text().lower()]
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_qed_up_redis_is_private_restarted_and_children_die_with_qed(tmp_path: Path):
    import redis as redis_py
    port = free_port()
    proc, log = _start_up(tmp_path, port)
    children: list[int] = []
    try:
        _wait_text(log, "flask_qed is up", proc)
        children = _children(proc.pid)
        redis_pid = next(p for p in children if "redis-server" in _cmdline(p))
        conf = (tmp_path / "instance" / "redis" / "redis.conf").read_text()
        password = re.search(r"^requirepass (\S+)$", conf, re.M).group(1)
        assert password not in _cmdline(redis_pid) and password not in log.read_text()
        assert "protected-mode yes" in conf and "bind 127.0.0.1" in conf
        assert oct((tmp_path / "instance" / "redis" / "redis.conf").stat().st_mode & 0o777) == "0o600"
        redis_port = int(re.search(r"^port (\d+)$", conf, re.M).group(1))
        with pytest.raises(redis_py.AuthenticationError):  # NOAUTH
            redis_py.Redis(port=redis_port).ping()
        assert redis_py.Redis(port=redis_port, password=password).ping()
        os.kill(redis_pid, signal.SIGKILL)  # Redis dies: restarted, nothing else stops
        _wait_text(log, "restarting it", proc)
        result = subprocess.run(["bash", "-c", readme_example(port)], capture_output=True, text=True, timeout=90)
        assert '"status":"SUCCESS"' in result.stdout, (result, log.read_text()[-3000:])
        assert proc.poll() is None
        children = _children(proc.pid)
    finally:
        proc.kill()  # SIGKILL: no chance to stop its children itself
        proc.wait()
    assert _gone(children), [(_cmdline(p)) for p in children if Path(f"/proc/{p}").exists()]


def test_qed_up_stops_on_sighup_and_refuses_a_busy_port(tmp_path: Path):
    import socket
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        proc, log = _start_up(tmp_path, busy.getsockname()[1], "busy.log")
        assert proc.wait(60) != 0
        assert "is in use" in log.read_text() and "flask_qed is up" not in log.read_text()
    finally:
        busy.close()
    proc, log = _start_up(tmp_path, free_port())
    _wait_text(log, "flask_qed is up", proc)
    children = _children(proc.pid)
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(60) == 0 and "qed up: stopped" in log.read_text()
    assert _gone(children, 10)


def _time_wait_on(port: int) -> bool:
    """Whether a TCP connection on local port ``port`` is in TIME-WAIT (state 06 of /proc/net/tcp)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state == "06":
                return True
    return False


def _whole_answer(sock: socket.socket) -> bytes:
    """One HTTP answer read to its last byte (its head and Content-Length bytes of body),
    however the network split it."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        piece = sock.recv(65536)
        assert piece, data
        body += piece
    return head + b"\r\n\r\n" + body


def test_qed_up_starts_again_at_once_on_the_port_it_just_stopped(tmp_path: Path):
    """A clean stop leaves the gateway's closed connections in TIME-WAIT on its port for a
    minute; a restart right away takes the port all the same, as gunicorn binds it."""
    port = free_port()
    proc, log = _start_up(tmp_path, port, "first.log")
    try:
        _wait_text(log, "flask_qed is up", proc)
        browser = socket.create_connection(("127.0.0.1", port), timeout=10)  # a kept-alive connection,
        browser.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")  # as browsers hold them
        answer = _whole_answer(browser)
        assert answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    assert browser.recv(65536) == b""  # the stopping gateway closed it first...
    browser.close()
    assert _time_wait_on(port)  # ...so its side waits in TIME-WAIT, on the gateway's port
    proc, log = _start_up(tmp_path, port, "second.log")
    try:
        _wait_text(log, "flask_qed is up", proc)
        assert "is in use" not in log.read_text() and proc.poll() is None, log.read_text()[-3000:]
        result = subprocess.run(["bash", "-c", readme_example(port)], capture_output=True, text=True,
                                timeout=60)
        assert '"status":"SUCCESS"' in result.stdout, result
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]


def _child_named(pid: int, word: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = [p for p in _children(pid) if Path(f"/proc/{p}").exists() and word in _cmdline(p)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no child running {word}"
        time.sleep(0.2)


def _count(log: Path, text: str) -> int:
    return log.read_text().count(text)


def test_qed_up_restarts_a_dead_worker_and_gateway_and_the_api_stays_up(tmp_path: Path):
    """SIGKILL of the worker's main process, then of gunicorn's master: each is started
    again, Redis keeps running, and a job posted afterwards runs to the end."""
    port = free_port()
    proc, log = _start_up(tmp_path, port)
    try:
        _wait_text(log, "flask_qed is up", proc)
        redis_pid = _child_named(proc.pid, "redis-server")
        os.kill(_child_named(proc.pid, "celery"), signal.SIGKILL)
        _wait_text(log, "worker exited with status -9; restarting it", proc)
        _wait_text(log, "worker restarted", proc)
        os.kill(_child_named(proc.pid, "gunicorn"), signal.SIGKILL)
        _wait_text(log, "web exited with status -9; restarting it", proc)
        _wait_text(log, "web restarted", proc)
        assert proc.poll() is None and Path(f"/proc/{redis_pid}").exists()
        deadline = time.monotonic() + 60
        while True:  # the new gunicorn binds its port again
            result = subprocess.run(["bash", "-c", readme_example(port)], capture_output=True, text=True,
                                    timeout=90)
            if '"status":"SUCCESS"' in result.stdout or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert '"status":"SUCCESS"' in result.stdout, (result, log.read_text()[-3000:])
        assert "stopping" not in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def test_qed_up_gives_up_on_a_worker_that_keeps_dying(tmp_path: Path):
    """Five exits within a minute: qed up stops everything and says why."""
    proc, log = _start_up(tmp_path, free_port())
    try:
        _wait_text(log, "flask_qed is up", proc)
        killed: set[int] = set()
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            worker = [p for p in _children(proc.pid) if Path(f"/proc/{p}").exists()
                      and "celery" in _cmdline(p) and p not in killed]
            for pid in worker:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            time.sleep(0.1)
        assert proc.wait(60) == 1, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert len(killed) == 5 and _count(log, "restarting it in") == 4, text[-3000:]
    assert "worker exited 5 times within 60 s (last status -9); giving up" in text
    assert "qed up: stopped" in text


def test_qed_up_on_rabbitmq_runs_a_job_with_a_redis_for_notices(tmp_path: Path):
    """``QED_BROKER_URL=amqp://…``: ``qed up`` runs a worker and the gateway on RabbitMQ (a
    quorum queue of this run's own name) and, with no ``QED_REDIS_URL``, an embedded Redis
    beside it for notices, shared counters and the sweeper's lock: a PRAM job goes through
    RabbitMQ, and a request waiting for its result is subscribed on that Redis."""
    import socket
    import uuid

    import requests
    url = os.environ.get("QED_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        pytest.skip("no RabbitMQ answers on 127.0.0.1:5672 (set QED_TEST_RABBITMQ_URL)")
    port, queue = free_port(), f"qed-test-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_INSTANCE_PATH=str(tmp_path / "instance"), QED_BROKER_URL=url, QED_QUEUE=queue)
    log = open(tmp_path / "up.log", "w+")
    proc = subprocess.Popen([*QED, "up", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while "flask_qed is up" not in (tmp_path / "up.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.2)
        text = (tmp_path / "up.log").read_text()
        assert "broker amqp://…@127.0.0.1:5672/" in text and "notices and shared counts on the embedded Redis" in text
        assert len(_children(proc.pid)) == 3 and _child_named(proc.pid, "redis-server")
        rice = {"mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 909}
        job = requests.post(f"http://127.0.0.1:{port}/pram/rice", json={"inputs": rice}, timeout=10)
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 60
        while (record := requests.get(f"http://127.0.0.1:{port}/jobs/{job.json()['job_id']}", timeout=10).json()
               )["status"] not in ("SUCCESS", "FAILURE"):
            assert time.monotonic() < deadline, record
            time.sleep(0.2)
        assert record["status"] == "SUCCESS", record
        # EPA's QA/QC expected value for these inputs (ubertool rice_exp.csv, case 2)
        assert record["data"]["outputs"]["out_cw"]["0"] == pytest.approx(2015.5872, rel=1e-5)
        waited = requests.post(f"http://127.0.0.1:{port}/pram/rice", json={"inputs": {**rice, "kd": 910}},
                               headers={"Prefer": "wait=10"}, timeout=30)
        assert waited.status_code == 200 and waited.json()["status"] == "SUCCESS", waited.text
        # The waiting process's listener is subscribed on the embedded Redis (its settings file
        # in the instance folder holds its port and password), not polling the store.
        import redis as redis_client
        conf = dict(line.split(" ", 1) for line in
                    (tmp_path / "instance" / "redis" / "redis.conf").read_text().splitlines() if " " in line)
        heard = redis_client.Redis(port=int(conf["port"]), password=conf["requirepass"].strip('"'))
        assert b"qed:finished" in heard.pubsub_channels("qed:finished*")
        heard.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        from kombu import Connection
        with Connection(url) as conn:
            conn.default_channel.queue_delete(queue)
            for exchange in (queue, f"{queue}.pidbox", f"{queue}.reply.celery.pidbox", f"{queue}.events"):
                conn.default_channel.exchange_delete(exchange)
