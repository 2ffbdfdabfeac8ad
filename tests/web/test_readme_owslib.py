"""The README's OWSLib example, run as written (only the address changed) against gunicorn
and a real worker with API keys on: it prints what the README says it prints, and that
value is EPA's for the same rice case."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

from tests.conftest import ROOT
from tests.pram.qaqc import load_cases
from tests.web.test_ui import stack  # noqa: F401  (fixture: gunicorn and a worker, API keys on)


def readme_example() -> tuple[str, str]:
    """The code block of the README's OWSLib section, and the output its last line promises."""
    text = (ROOT / "README.md").read_text()
    code = re.search(r"^## From Python with OWSLib\n.*?```python\n(.*?)```", text, re.S | re.M).group(1)
    promised = re.search(r"#\s*(.+)$", code.rstrip().splitlines()[-1]).group(1).strip()
    return code, promised


def run(code: str, base: str, key: str | None) -> subprocess.CompletedProcess:
    assert "http://localhost:7777" in code
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    if key is not None:
        env["QED_API_KEY"] = key
    return subprocess.run([sys.executable, "-c", code.replace("http://localhost:7777", base)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def test_readme_owslib_example_runs_as_written_with_a_key(stack):
    code, promised = readme_example()
    done = run(code, stack["base"], stack["key"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == promised == "successful 27.5184"
    # EPA's QA/QC case for the same inputs (the model's declared example) gives that value
    (_, inputs, expected), *_ = load_cases("rice")
    assert float(inputs["mai"]) == 0.056 and float(inputs["kd"]) == 757
    assert math.isclose(float(promised.split()[1]), float(expected["out_cw"]), rel_tol=1e-4)


def test_without_the_key_the_example_is_refused(stack):
    code, _ = readme_example()
    done = run(code, stack["base"], None)
    assert done.returncode != 0 and "401" in done.stderr
