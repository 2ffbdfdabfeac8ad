"""Science apps used only by the tests, loaded through QED_APPS like any plugin."""
from __future__ import annotations

import base64
import binascii
import os
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

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


# -- an echo process, as OGC's test suite for OGC API - Processes expects one -----------
class BBox(BaseModel):
    """A bounding box as OGC's bbox.yaml writes it: 4 or 6 numbers, and a CRS."""

    model_config = {"extra": "forbid", "json_schema_extra": {"format": "ogc-bbox"}}
    bbox: list[float] = Field(..., min_length=4, max_length=6)
    crs: Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                 "http://www.opengis.net/def/crs/OGC/0/CRS84h"] = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

    @field_validator("bbox")
    @classmethod
    def corners(cls, value: list[float]) -> list[float]:
        if len(value) not in (4, 6):
            raise ValueError("a bbox has 4 numbers (2D) or 6 (3D)")
        half = len(value) // 2
        if any(lo > hi for lo, hi in zip(value[:half], value[half:])):
            raise ValueError("each lower corner coordinate must not exceed the upper one")
        return value


class Point(BaseModel):
    model_config = {"extra": "forbid"}
    x: float
    y: float
    label: str = ""


class EchoInputs(BaseModel):
    model_config = {"extra": "forbid"}
    stringInput: str = Field(..., description="Text, echoed", max_length=1000)
    doubleInput: float = Field(0.0, ge=-1000, le=1000, description="A number, echoed", json_schema_extra={"units": "m"})
    integerInput: int = Field(0, ge=0, le=100, description="A whole number, echoed")
    booleanInput: bool = Field(False, description="A boolean, echoed")
    arrayInput: list[float] = Field([], max_length=100, description="An array of numbers, echoed")
    objectInput: Point | None = Field(None, description="An object, echoed")
    boundingBoxInput: BBox | None = Field(None, description="A bounding box, echoed")
    binaryInput: str = Field("", description="Bytes, base64-encoded, echoed", max_length=10000,
                             json_schema_extra={"contentEncoding": "base64", "format": "byte",
                                                "contentMediaType": "application/octet-stream"})
    pause: float = Field(0.0, ge=0, le=30, description="Seconds to wait before answering",
                         json_schema_extra={"units": "s"})
    fail: bool = Field(False, description="Fail with a domain error instead of answering")

    @field_validator("binaryInput")
    @classmethod
    def base64_text(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64-encoded bytes") from None
        return value


ECHO_OUTPUTS = {name.replace("Input", "Output"): {"description": f"{name}, as it was given", "units": "-"}
                for name in ("stringInput", "doubleInput", "integerInput", "booleanInput", "arrayInput",
                             "objectInput", "boundingBoxInput", "binaryInput")}


def echo(inputs: dict) -> dict:
    time.sleep(inputs["pause"])
    if inputs["fail"]:
        raise ValueError("the echo process was asked to fail")
    return {name.replace("Input", "Output"): inputs[name] for name in EchoInputs.model_fields
            if name.endswith("Input")}


def echo_plugin() -> App:
    model = Model(name="echo", title="Echo", description="Answers its inputs as its outputs.", version="1.0",
                  inputs=EchoInputs, compute=echo, outputs=ECHO_OUTPUTS, batch=False)
    return App(name="conformance", prefix="/conformance", models=[model])
