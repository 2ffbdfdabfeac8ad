"""A mistake in the configuration stops every entry point at start with one line on
stderr that names it — no traceback — and a non-zero exit status: ``qed up``, ``qed
apps``, gunicorn (with the project's settings module, and with the checkout's
gunicorn.conf.py picked up by a plain ``gunicorn flask_cgi:app``) and the Celery worker.

The commands run for real, in their own processes, as a deployment starts them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flask_qed.embedded import free_port
from tests.conftest import ROOT

COMMANDS = {
    "qed up": lambda: [sys.executable, "-m", "flask_qed.cli", "up", "--port", str(free_port())],
    "qed apps": lambda: [sys.executable, "-m", "flask_qed.cli", "apps"],
    "gunicorn -c python:flask_qed.gunicorn_conf": lambda: [
        sys.executable, "-m", "gunicorn", "-c", "python:flask_qed.gunicorn_conf", "--bind",
        f"127.0.0.1:{free_port()}", "flask_cgi:app"],
    "gunicorn (gunicorn.conf.py)": lambda: [sys.executable, "-m", "gunicorn", "--bind",
                                            f"127.0.0.1:{free_port()}", "flask_cgi:app"],
    "celery worker": lambda: [sys.executable, "-m", "celery", "-A", "celery_cgi", "worker", "--pool", "solo",
                              "--without-gossip", "--without-mingle"],
}

# An app of its own whose prefix is PRAM's.
PREFIX_CLASH = '''
    from flask_qed import App

    def plugin():
        return App(name="pesticides", prefix="/pram", title="Pesticides")
'''

MISTAKES = {
    "a mistyped QED_APPS module": ({"QED_APPS": "pram_flsk:plugin"}, [
        "QED_APPS names 'pram_flsk:plugin', but there is no module 'pram_flsk'", "installed apps: ",
        "pram (/pram)", "hms (/hms)"]),
    "an app name in QED_APPS": ({"QED_APPS": "hms"}, [
        "QED_APPS entry 'hms' is not module:attr", "installed apps: ", "hms (/hms)"]),
    "an installed app named again": ({"QED_APPS": "pram_flask:plugin"}, [
        "app pram is loaded already, from entry point pram", "an installed app needs no QED_APPS entry"]),
    "two apps with one prefix": ({"QED_APPS": "clash_app:plugin"}, [
        "app pesticides's prefix /pram is taken by app pram", "prefixes must be unique"]),
    "a number that is not one": ({"QED_RESULT_TTL": "a day"}, ["QED_RESULT_TTL must be an integer, got 'a day'"]),
    "a value outside its choices": ({"QED_LOG_FORMAT": "xml"}, ["QED_LOG_FORMAT must be text or json, got 'xml'"]),
    "contradictory settings": ({"QED_TASK_SOFT_TIME_LIMIT": "100", "QED_TASK_TIME_LIMIT": "50"}, [
        "QED_TASK_SOFT_TIME_LIMIT (100 s) must not exceed QED_TASK_TIME_LIMIT (50 s)"]),
}


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command that should stop at once; if it starts instead, stop it and all it started."""
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{argv} did not stop: {err[-2000:]}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    (tmp_path / "site").mkdir(exist_ok=True)
    (tmp_path / "site" / "clash_app.py").write_text(textwrap.dedent(PREFIX_CLASH))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QED_", "GUNICORN_"))}
    env.update(QED_INSTANCE_PATH=str(tmp_path / "instance"), QED_STARTUP_TIMEOUT="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path / "site")]), **settings)
    return env


def assert_one_line(done: subprocess.CompletedProcess, words: list[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0, done
    assert len(lines) == 1 and done.stderr.count("\n") <= 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.mark.parametrize("mistake", MISTAKES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_configuration_mistake_is_one_line_naming_it(tmp_path, command, mistake):
    settings, words = MISTAKES[mistake]
    done = run(COMMANDS[command](), environment(tmp_path, **settings), cwd=ROOT)
    line = assert_one_line(done, words)
    assert line.startswith("qed " if command.startswith("qed") else "flask_qed cannot start: "), line
    assert not (tmp_path / "instance" / "redis").exists()  # qed up started nothing


@pytest.mark.parametrize("command", ["qed up", "gunicorn -c python:flask_qed.gunicorn_conf",
                                     "gunicorn (gunicorn.conf.py)"])
def test_a_bad_gunicorn_setting_is_one_line_naming_it(tmp_path, command):
    done = run(COMMANDS[command](), environment(tmp_path, GUNICORN_WORKERS="0"), cwd=ROOT)
    assert_one_line(done, ["GUNICORN_WORKERS must be positive, got 0"])


def test_qed_apps_is_not_stopped_by_a_setting_of_gunicorn_alone(tmp_path):
    """GUNICORN_WORKERS matters to gunicorn only; `qed apps` starts no gunicorn."""
    done = run(COMMANDS["qed apps"](), environment(tmp_path, GUNICORN_WORKERS="0"), cwd=ROOT)
    assert done.returncode == 0 and "/pram" in done.stdout and done.stderr == "", done
