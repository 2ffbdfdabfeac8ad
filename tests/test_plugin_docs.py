"""docs/adding-an-app.md's plugin, exactly as the page shows it: its files are copied
out of the page, installed with pip like any distribution, found by ``qed apps``
through its entry point, and its model runs as a job on a real worker.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from importlib.metadata import PathDistribution, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT, wait_for

DOC = ROOT / "docs" / "adding-an-app.md"
PROJECT = "soil-models"


def documented_files() -> dict[str, str]:
    """Path → text of every code block of the page that starts with ``# soil-models/<path>``."""
    files = {}
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", DOC.read_text(), re.S | re.M):
        first = block.splitlines()[0] if block else ""
        found = re.match(rf"# {PROJECT}/(\S+)", first)
        if found:
            assert found.group(1) not in files, f"{found.group(1)} is shown twice"
            files[found.group(1)] = block
    return files


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documented project, pip-installed into a folder of its own: the folder."""
    base = tmp_path_factory.mktemp("plugin")
    for name, text in documented_files().items():
        (base / PROJECT / name).parent.mkdir(parents=True, exist_ok=True)
        (base / PROJECT / name).write_text(text)
    # --target keeps the shared environment untouched; the dependencies are checked below.
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                           str(base / "site"), str(base / PROJECT)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return base / "site"


def test_the_page_shows_every_file_of_a_complete_project():
    files = documented_files()
    assert {"pyproject.toml", "my_app/__init__.py", "my_app/models/__init__.py", "my_app/models/soil.py",
            "my_app/science/__init__.py", "my_app/science/decay.py"} <= set(files)
    pyproject = files["pyproject.toml"]
    for table in ("[build-system]", "[project]", "[tool.setuptools.packages.find]",
                  '[project.entry-points."flask_qed.apps"]'):
        assert table in pyproject, table
    text = DOC.read_text()
    assert "pip install ./soil-models" in text and "qed up" in text and "restart" in text.lower()
    for argument in ("name", "prefix", "title", "models", "factory", "task_modules", "task_prefixes"):
        assert re.search(rf"^\| `{argument}` \|", text, re.M), argument  # the App table


def test_pip_installs_the_distribution_with_its_entry_point(installed: Path):
    dist = PathDistribution(next(installed.glob("soil_models-*.dist-info")))
    assert dist.metadata["Name"] == PROJECT
    assert [(ep.group, ep.name, ep.value) for ep in dist.entry_points] == [
        ("flask_qed.apps", "soil", "my_app:plugin")]
    for requirement in dist.requires or []:  # what it depends on is what flask_qed runs with
        version(Requirement(requirement).name)
    assert (installed / "my_app" / "science" / "decay.py").exists()


def _env(installed: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_INSTANCE_PATH=str(tmp_path), PYTHONPATH=os.pathsep.join([str(installed), str(ROOT)]))
    return env


def test_qed_apps_finds_the_installed_app(installed: Path, tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "flask_qed.cli", "apps"], env=_env(installed, tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^/soil\s+soil: soil$", done.stdout, re.M), done.stdout
    assert "/pram" in done.stdout and "/hms" in done.stdout  # beside the built-in apps


def test_the_installed_model_runs_as_a_job(installed: Path, own_stack, monkeypatch):
    """A real worker that has the app installed runs ``POST /soil/soil``; first-order decay
    leaves 2**(-t/half_life) of the pesticide: half after one half-life, 2**-0.5 after half of one."""
    monkeypatch.syspath_prepend(str(installed))  # the in-process gateway finds it as the worker does
    stack = own_stack(PYTHONPATH=os.pathsep.join([str(installed), str(ROOT)]), QED_APPS="")
    client = stack["client"]
    described = client.get("/soil/soil")
    assert described.status_code == 200, described.get_json()
    submitted = client.post("/soil/soil", json={"inputs": {"half_life": {"0": 10, "1": 10},
                                                           "t": {"0": 5, "1": 10}}})
    assert submitted.status_code == 202, submitted.get_json()
    record = wait_for(client, submitted.get_json()["job_id"])
    assert record["status"] == "SUCCESS", record
    fraction = record["data"]["outputs"]["out_fraction"]
    assert fraction["0"] == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    assert fraction["1"] == pytest.approx(0.5, rel=1e-12)
