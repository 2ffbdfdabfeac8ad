"""Constant-volume flow routing (HMS hydrodynamics, "constant volume").

Same semantics and inputs as the original hms_flask ``FlowRouting.constantVolume``:
times run from ``startDate`` (inclusive) to ``endDate`` (exclusive) in steps of
``timestep`` days (truncated to whole minutes, as the original did); every
segment keeps a constant volume, so each segment's outflow equals its inflow,
the boundary flow. The result keeps the original's "split" table layout
(columns DateTime, 0..N-1). Unlike the original, a timestep that rounds to
less than one minute is rejected (the original looped forever).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from ..science import routing
from .changing_volume import check_dates

NAME = "constant_volume"
TITLE = "Constant-volume flow routing"
DESCRIPTION = ("Flow routing in which every segment keeps a constant volume: each of N segments "
               "carries the boundary flow at every time step.")
VERSION = "1.0"
BATCH = False
ALIASES = ("hydrodynamic/constant_volume",)
MAX_VALUES = 1_000_000   # most (time steps × segments) per request


class Inputs(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, populate_by_name=True)

    startDate: datetime = Field(..., validation_alias=AliasChoices("startDate", "start_date"),
                                description="First time step (YYYY-MM-DD or ISO date-time)",
                                json_schema_extra={"units": "ISO 8601"})
    endDate: datetime = Field(..., validation_alias=AliasChoices("endDate", "end_date"),
                              description="End of the period (exclusive)",
                              json_schema_extra={"units": "ISO 8601"})
    timestep: float = Field(..., gt=0, le=36_500, description="Time step in days (truncated to whole minutes)",
                            json_schema_extra={"units": "d"})
    boundary_flow: float = Field(..., description="Flow entering the first segment",
                                 json_schema_extra={"units": "m3/s"})
    segments: int = Field(..., ge=1, description="Number of segments", json_schema_extra={"units": "-"})

    @model_validator(mode="after")
    def _check(self) -> "Inputs":
        if step_minutes(self.timestep) < 1:
            raise ValueError(f"timestep {self.timestep} d is less than one minute")
        check_dates(self.startDate, self.endDate)
        if self.endDate <= self.startDate:
            raise ValueError("endDate must be after startDate")
        rows = len(times(self.startDate, self.endDate, self.timestep))
        if rows * self.segments > MAX_VALUES:
            raise ValueError(f"{rows} time steps x {self.segments} segments = {rows * self.segments} "
                             f"values; at most {MAX_VALUES} per request")
        return self


OUTPUTS = {
    "columns": {"description": "Column names: DateTime, then segment numbers 0..N-1", "units": "-"},
    "index": {"description": "Row numbers", "units": "-"},
    "data": {"description": "Rows of [DateTime 'YYYY-MM-DD HH:MM', flow of segment 0, ...]",
             "units": "m3/s"},
}


def step_minutes(timestep_days: float) -> int:
    return int(timestep_days * 24 * 60)


def times(start: datetime, end: datetime, timestep_days: float) -> list[datetime]:
    """start, start + step, ... while < end (step in whole minutes)."""
    step = timedelta(minutes=step_minutes(timestep_days))
    count = -(-(end - start) // step)  # ceil: number of times strictly before end
    return [start + k * step for k in range(count)]


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    params = Inputs.model_validate(inputs)
    stamps = times(params.startDate, params.endDate, params.timestep)
    flows = routing.constant_volume(len(stamps), params.segments, params.boundary_flow).tolist()
    return {
        "columns": ["DateTime", *range(params.segments)],
        "index": list(range(len(stamps))),
        "data": [[t.strftime("%Y-%m-%d %H:%M"), *row] for t, row in zip(stamps, flows)],
        "metadata": {"units": {"flow": "m3/s", "timestep": "d"}, "segments": params.segments,
                     "steps": len(stamps)},
    }
