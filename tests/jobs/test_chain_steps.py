"""The worker's half of a model chain (flask_qed.jobs.steps.advance) on a real store: how a
step's output is read into the outer job's inputs, and a step that is gone."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flask_qed.embedded import free_port
from flask_qed.jobs.states import FAILURE, PENDING, SUCCESS
from flask_qed.jobs.steps import ADVANCE, advance
from tests.conftest import make_env


@pytest.fixture()
def runtime(tmp_path: Path) -> Any:
    from flask_qed.runtime import Runtime
    # No broker answers: an outer job made ready stays recorded, for the reconciler to queue.
    env = make_env(f"redis://127.0.0.1:{free_port()}/0", f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)
    return Runtime.load(env)


def outer(runtime: Any, app: str, model: str, waits_for: dict[str, Any], inputs: dict[str, Any]) -> str:
    runtime.store.create("outer", {"app": app, "model": model, "task": ADVANCE, "status": PENDING,
                                   "inputs": inputs, "waits_for": waits_for, "owner": "alice", "rows": 0})
    return "outer"


def test_a_pram_column_of_one_run_feeds_a_model_that_takes_one_value(runtime: Any) -> None:
    """A PRAM step's output is the column of its runs under ``outputs`` (``{"0": v}``); a model
    that takes one value gets that value, validated as any input is."""
    runtime.store.create("step", {"app": "pram", "model": "rice", "status": SUCCESS, "task": "pram.rice",
                                  "data": {"inputs": {"mai": {"0": 0.056}}, "outputs": {"out_cw": {"0": 2.5}}}})
    job = outer(runtime, "testing", "sleepy", {"seconds": {"job": "step", "output": "out_cw",
                                                           "process": "pram.rice"}}, {})
    assert advance(runtime, None, job) == "waiting"  # ready, but no broker answers
    record = runtime.store.get(job, inputs=True, data=False)
    assert record["task"] == "testing.sleepy" and record["steps"] == {"seconds": "step"}
    assert record["inputs"]["seconds"] == 2.5 and record["status"] == PENDING


def test_a_step_gone_from_the_store_fails_the_chain_naming_it(runtime: Any) -> None:
    job = outer(runtime, "testing", "sleepy", {"seconds": {"job": "no-such-job", "output": "out_cw",
                                                           "process": "pram.rice"}}, {})
    assert advance(runtime, None, job) == "failed"
    record = runtime.store.get(job, data=False)
    assert record["status"] == FAILURE
    assert record["error"] == "step seconds (pram.rice, job no-such-job) expired before the chain went on"
    assert runtime.store.count_active("alice") == (0, 0)
