"""The stack as a deployment runs it: ``gunicorn flask_cgi:app`` and ``celery -A celery_cgi worker``
as separate processes configured only by environment variables, driven over real HTTP.

Also proves the extension story: an app written the old way (plain Flask,
a flask-restful Resource calling ``.apply_async`` on a task of the shared
Celery app), installed as a distribution with a ``flask_qed.apps`` entry
point, is mounted and its jobs run, with no edit to the core.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from flask_qed.embedded import free_port, start_redis, wait_for_port
from tests.conftest import ROOT, make_env, start_worker, stop

OLD_APP = {
    "old_app/__init__.py": '''
        from flask_qed import App

        def plugin():
            return App(name="old", prefix="/old", factory="old_app.web:create_app",
                       task_modules=["old_app.tasks"])
        ''',
    "old_app/tasks.py": '''
        from celery_cgi import celery

        @celery.task
        def add(a, b):
            if a < 0:
                raise ValueError("a must not be negative")
            return {"sum": a + b}

        @celery.task
        def echo_json(text):
            import json
            return json.dumps({"echo": text})  # the original apps returned JSON text
        ''',
    "old_app/web.py": '''
        from flask import Flask, request
        from flask_restful import Api, Resource

        from old_app.tasks import add, echo_json

        class Add(Resource):
            def post(self):
                body = request.get_json()
                task = add.apply_async(args=[body["a"], body["b"]])
                return {"job_id": task.id}, 202

        class Echo(Resource):
            def get(self, text):
                return {"job_id": echo_json.apply_async(args=[text]).id}, 202

        def create_app():
            app = Flask(__name__)
            api = Api(app)
            api.add_resource(Add, "/add")
            api.add_resource(Echo, "/echo/<text>")
            return app
        ''',
    "old_app-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: old-app\nVersion: 0.1\n",
    "old_app-0.1.dist-info/entry_points.txt": "[flask_qed.apps]\nold = old_app:plugin\n",
}


def _deploy(tmp_path: Path, started: list, **settings: str) -> dict:
    """gunicorn + a worker, exactly as deployed, with the old-way app installed beside.

    Its own Redis, so no other test's worker takes its jobs.
    """
    redis, redis_url = start_redis(tmp_path / "redis")
    started.append(redis)
    plugins = tmp_path / "site"
    for name, text in OLD_APP.items():
        (plugins / name).parent.mkdir(parents=True, exist_ok=True)
        (plugins / name).write_text(textwrap.dedent(text).lstrip())
    env = make_env(redis_url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path,
                   PYTHONPATH=str(plugins), **settings)
    worker = start_worker(env, tmp_path / "worker.log")
    started.insert(0, worker)
    port = free_port()
    web_log = open(tmp_path / "web.log", "wb")
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:flask_qed.gunicorn_conf",
                            "--bind", f"127.0.0.1:{port}", "flask_cgi:app"],
                           cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    started.insert(0, web)
    wait_for_port("127.0.0.1", port, 30)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:  # not yet listening, or still loading the app
            pass
        assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()[-3000:]
        time.sleep(0.2)
    return {"base": base, "web": web, "worker": worker, "redis": redis, "env": env}


@pytest.fixture()
def deploy(tmp_path):
    started: list = []
    yield lambda **settings: _deploy(tmp_path, started, **settings)
    for proc in started:
        stop(proc)


@pytest.fixture()
def deployment(deploy):
    return deploy()


def poll(url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in {"SUCCESS", "FAILURE", "REVOKED"}:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_gunicorn_and_worker_run_jobs_and_stop_cleanly(deployment):
    base = deployment["base"]
    assert requests.get(f"{base}/readyz", timeout=10).json()["status"] == "ready"
    submitted = requests.post(f"{base}/pram/rice", timeout=10, json={"inputs": {
        "mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 909}})
    assert submitted.status_code == 202
    record = poll(base + submitted.headers["Location"])
    assert record["status"] == "SUCCESS"
    assert record["data"]["outputs"]["out_cw"]["0"] == pytest.approx(2015.5872, rel=1e-5)
    html = requests.get(f"{base}/no/such/page", timeout=10)
    assert html.status_code == 404 and html.headers["Content-Type"] == "application/json"
    assert stop(deployment["web"]) == 0
    assert stop(deployment["worker"]) == 0


def test_an_app_written_the_old_way_plugs_in(deployment):
    base = deployment["base"]
    assert "old" in {a["name"] for a in requests.get(f"{base}/", timeout=10).json()["apps"]}
    submitted = requests.post(f"{base}/old/add", json={"a": 2, "b": 3}, timeout=10)
    assert submitted.status_code == 202
    job_id = submitted.json()["job_id"]
    record = poll(f"{base}/old/data?job_id={job_id}")
    assert record["status"] == "SUCCESS" and record["data"] == {"sum": 5}
    assert poll(f"{base}/jobs/{job_id}")["data"] == {"sum": 5}
    failed = requests.post(f"{base}/old/add", json={"a": -1, "b": 3}, timeout=10).json()["job_id"]
    record = poll(f"{base}/old/data?job_id={failed}")
    assert record["status"] == "FAILURE" and record["error"] == "ValueError: a must not be negative"
    assert requests.get(f"{base}/pram/data?job_id={job_id}", timeout=10).status_code == 404
    echoed = requests.get(f"{base}/old/echo/hello", timeout=10).json()["job_id"]
    assert poll(f"{base}/old/data?job_id={echoed}")["data"] == {"echo": "hello"}  # JSON, not text
    missing = requests.get(f"{base}/old/nothing", timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == 404


def test_sigterm_lets_a_running_job_finish(deployment):
    base = deployment["base"]
    submitted = requests.post(f"{base}/testing/sleepy", json={"inputs": {"seconds": 2}}, timeout=10)
    assert submitted.status_code == 202
    job_url = base + submitted.headers["Location"]
    deadline = time.monotonic() + 30
    while requests.get(job_url, timeout=10).json()["status"] != "STARTED":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    deployment["worker"].send_signal(signal.SIGTERM)  # warm shutdown: finish what runs
    assert deployment["worker"].wait(60) == 0
    record = requests.get(job_url, timeout=10).json()
    assert record["status"] == "SUCCESS" and record["data"]["slept"] == 2


def test_old_way_app_with_the_broker_down_answers_503_and_records_why(deployment):
    base = deployment["base"]
    stop(deployment["redis"])
    response = requests.post(f"{base}/old/add", json={"a": 2, "b": 3}, timeout=60)
    assert response.status_code == 503 and response.json()["code"] == 503
    import sqlite3
    path = deployment["env"]["QED_STORE_URL"][len("sqlite:///"):]
    metas = [json.loads(m) for (m,) in sqlite3.connect(path).execute("SELECT meta FROM jobs")]
    assert [(m["status"], m["error"]) for m in metas] == \
        [("FAILURE", "the job queue was unavailable; submit again")]


def test_old_way_app_with_the_store_down_answers_503(deploy, tmp_path):
    # A store that cannot work at start stops gateway and worker (tests/test_chaos.py);
    # this one breaks while they run: its file is overwritten with garbage.
    stack = deploy()
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / f"jobs.sqlite3{suffix}"
        if path.exists():
            path.write_bytes(b"\x00garbage, not a database\xff" * 4096)
    response = requests.post(f"{stack['base']}/old/add", json={"a": 2, "b": 3}, timeout=30)
    assert response.status_code == 503 and "store" in response.json()["message"]


def _http_parser_setting(value: str | None) -> str:
    """``http_parser`` as gunicorn reads it from the shared settings, in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "GUNICORN_HTTP_PARSER"}
    if value is not None:
        env["GUNICORN_HTTP_PARSER"] = value
    code = "from flask_qed import gunicorn_conf; print(gunicorn_conf.http_parser)"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_requests_are_parsed_by_gunicorns_c_parser():
    """gunicorn_h1c is installed with the project, and the shared settings use it."""
    from gunicorn.config import Config
    from gunicorn.http import message

    cfg = Config()
    cfg.set("http_parser", _http_parser_setting(None))
    assert cfg.http_parser == "auto" and message._check_fast_parser(cfg)
    cfg.set("http_parser", _http_parser_setting("python"))  # and it can be turned off
    assert not message._check_fast_parser(cfg)
