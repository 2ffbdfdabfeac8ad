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


def test_steps_whose_outputs_make_more_runs_than_the_rows_cap_fail_the_chain(tmp_path: Path) -> None:
    """A chain's job counts no runs until its steps give its inputs; runs past
    ``QED_MAX_ACTIVE_ROWS`` then fail it, as a submission of them is refused, and are
    never queued; as many as the cap go on."""
    from flask_qed.runtime import Runtime
    env = make_env(f"redis://127.0.0.1:{free_port()}/0", f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)
    runtime = Runtime.load({**env, "QED_MAX_ACTIVE_ROWS": "2"})
    rice = {"area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}
    for runs, ends in ((3, "failed"), (2, "waiting")):
        runtime.store.create(f"step{runs}", {
            "app": "pram", "model": "rice", "status": SUCCESS, "task": "pram.rice",
            "data": {"inputs": {}, "outputs": {"out_cw": {str(i): 0.05 for i in range(runs)}}}})
        job = f"outer{runs}"
        runtime.store.create(job, {"app": "pram", "model": "rice", "task": ADVANCE, "status": PENDING,
                                   "inputs": {k: {str(i): v for i in range(runs)} for k, v in rice.items()},
                                   "waits_for": {"mai": {"job": f"step{runs}", "output": "out_cw",
                                                         "process": "pram.rice"}},
                                   "owner": "alice", "rows": 0})
        assert advance(runtime, None, job) == ends
        record = runtime.store.get(job, data=False)
        if ends == "failed":
            assert record["status"] == FAILURE and record["task"] == ADVANCE
            assert "make 3 runs, more than the 2 runs" in record["error"] and "QED_MAX_ACTIVE_ROWS" in record["error"]
            assert runtime.store.count_active("alice") == (0, 0)
        else:
            assert record["status"] == PENDING and record["task"] == "pram.rice" and record["rows"] == 2


def test_a_chains_own_inputs_are_checked_apart_from_the_whole_runs_checks() -> None:
    """Before its steps run, a chain's own inputs are refused for what is wrong with them
    alone (an unknown name, a value out of range), not for a model's check of the whole
    run, which would see the defaults of the inputs the steps will give (T-REX's bandwidth,
    checked against an application type a step might give)."""
    from flask_qed.jobs.chain import _check_own
    from flask_qed.model import InputError
    from tests.pram.qaqc import case_inputs, pram_model

    trex = pram_model("trex")
    own = {k: v for k, v in case_inputs("trex").items() if k != "app_rates"}
    _check_own(trex, {**own, "application_type": "Row/Band/In-furrow-Liquid", "bandwidth": 0}, {"app_rates"})
    with pytest.raises(InputError) as info:
        _check_own(trex, {**own, "percent_act_ing": 101, "lc50_mam": 1}, {"app_rates"})
    assert sorted(e["field"] for e in info.value.errors) == ["lc50_mam", "percent_act_ing"]


def test_a_chain_needs_room_for_all_its_jobs_before_any_is_written(tmp_path: Path) -> None:
    from flask_qed.errors import ApiError
    from flask_qed.jobs.chain import _check_room
    from flask_qed.model import InputError
    from flask_qed.runtime import Runtime
    env = make_env(f"redis://127.0.0.1:{free_port()}/0", f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)
    runtime = Runtime.load({**env, "QED_MAX_ACTIVE_JOBS": "3"})
    with pytest.raises(InputError) as never:  # more jobs than the cap: it never fits
        _check_room(runtime, "alice", 4)
    assert "a chain of 4 jobs never fits" in never.value.errors[0]["rule"]
    for n in range(2):
        runtime.store.create(f"busy{n}", {"app": "pram", "model": "rice", "task": "pram.rice", "status": PENDING,
                                          "owner": "alice", "rows": 1})
    with pytest.raises(ApiError) as full:  # 2 queued and 2 more: past 3, for now
        _check_room(runtime, "alice", 2)
    assert full.value.code == 429 and "this chain's 2 jobs and the 2 you have" in str(full.value)
    _check_room(runtime, "alice", 1)
    _check_room(runtime, "bob", 3)
    _check_room(runtime, None, 3)  # no owner (keys off, no address): not counted
