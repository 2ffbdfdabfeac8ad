"""Science apps used only by the tests, loaded through QED_APPS like any plugin."""
from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, Field

from flask_qed import App, Model


class SleepInputs(BaseModel):
    seconds: float = Field(..., ge=0, le=60, description="How long to work", json_schema_extra={"units": "s"})
    marker: str = Field("", description="File to which each attempt appends its process id")
    fail: bool = Field(False, description="Raise a domain error instead of finishing")
    stubborn: bool = Field(False, description="Swallow the soft time limit, as C code would")


def sleepy(inputs: dict) -> dict:
    if inputs["marker"]:
        with open(inputs["marker"], "a") as fh:
            fh.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + inputs["seconds"]
    while time.monotonic() < deadline:
        try:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        except BaseException:  # noqa: BLE001 - stubborn on purpose, to meet the hard limit
            if not inputs["stubborn"]:
                raise
    if inputs["fail"]:
        raise ValueError("the sleepy model was asked to fail")
    attempts = len(Path(inputs["marker"]).read_text().split()) if inputs["marker"] else 1
    return {"slept": inputs["seconds"], "attempts_seen": attempts, "nan": float("nan")}


def plugin() -> App:
    model = Model(name="sleepy", title="Sleepy", description="Works for a while.", version="1",
                  inputs=SleepInputs, compute=sleepy, batch=False)
    # The same work with a cost model: a run may not ask for more than 30 s, and
    # fails with TimeLimitExceeded past 2 s.
    limited = Model(name="limited", title="Sleepy with limits", description="Works, within limits.",
                    version="1", inputs=SleepInputs, compute=sleepy, batch=False, time_limit=2,
                    max_cost=30, estimate_cost=lambda inputs: inputs.seconds, cost_units="seconds")
    return App(name="testing", prefix="/testing", models=[model, limited])
