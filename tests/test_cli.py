"""The ``qed`` command: help, and ``qed up`` running the README's example end to end."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

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
