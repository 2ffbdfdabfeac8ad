"""Constant-volume flow routing (HMS hydrodynamics, "constant volume").

Same semantics as the original hms_flask ``FlowRouting.constantVolume``:
times run from ``startDate`` (inclusive) to ``endDate`` (exclusive) in steps of
``timestep`` (truncated to whole minutes, as the original did); every
segment keeps a constant volume, so each segment's outflow equals its inflow,
the boundary flow. The result keeps the original's "split" table layout
(columns DateTime, 0..N-1). Unlike the original, a timestep that rounds to
less than one minute is rejected (the original looped forever).

Units: here, as in changing_volume and kinematic_wave, ``timestep`` is in
seconds. The original took it in days; its clients keep that at the original
path ``/hms/hydrodynamic/constant_volume/`` (model ``constant_volume_days``).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from flask_qed import FieldError

from ..science import routing
from .changing_volume import check_dates

NAME = "constant_volume"
TITLE = "Constant-volume flow routing"
DESCRIPTION = ("Flow routing in which every segment keeps a constant volume: each of N segments "
               "carries the boundary flow at every time step.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Period": ["startDate", "endDate", "timestep"],
    "Flow": ["boundary_flow"],
    "Reach": ["segments"],
}
BATCH = False
ALIASES = ()
MAX_VALUES = 1_000_000   # most (time steps × segments) per request
MAX_COST = MAX_VALUES
COST_UNITS = "values (time steps x segments)"
TIME_LIMIT = 60          # s: a million values take a few seconds


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    startDate: datetime = Field(..., validation_alias=AliasChoices("startDate", "start_date"),
                                description="First time step (YYYY-MM-DD or ISO date-time)",
                                json_schema_extra={"units": "ISO 8601"})
    endDate: datetime = Field(..., validation_alias=AliasChoices("endDate", "end_date"),
                              description="End of the period (exclusive)",
                              json_schema_extra={"units": "ISO 8601"})
    timestep: float = Field(..., gt=0, le=366 * 86_400,
                            description="Time step in seconds (truncated to whole minutes)",
                            json_schema_extra={"units": "s"})
    boundary_flow: float = Field(..., ge=-1e6, le=1e6, description="Flow entering the first segment",
                                 json_schema_extra={"units": "m3/s"})
    segments: int = Field(..., ge=1, le=MAX_VALUES, description="Number of segments",
                          json_schema_extra={"units": "-"})

    UNIT: ClassVar[str] = "s"

    def minutes(self) -> int:
        """The time step in whole minutes."""
        return int(self.timestep // 60)

    @model_validator(mode="after")
    def _check(self) -> "Inputs":
        if self.minutes() < 1:
            raise ValueError(f"timestep {self.timestep} {self.UNIT} is less than one minute")
        check_dates(self.startDate, self.endDate)
        if self.endDate <= self.startDate:
            raise FieldError("endDate", "must be after startDate")
        rows = count_times(self.startDate, self.endDate, self.minutes())  # counted, not listed
        if rows * self.segments > MAX_VALUES:
            raise ValueError(f"{rows} time steps x {self.segments} segments = {rows * self.segments} "
                             f"values; at most {MAX_VALUES} per request")
        return self


def estimate_cost(inputs: Inputs) -> int:
    return count_times(inputs.startDate, inputs.endDate, inputs.minutes()) * inputs.segments


OUTPUTS = {
    "columns": {"description": "Column names: DateTime, then segment numbers 0..N-1", "units": "-"},
    "index": {"description": "Row numbers", "units": "-"},
    "data": {"description": "Rows of [DateTime 'YYYY-MM-DD HH:MM', flow of segment 0, ...]",
             "units": "m3/s"},
}
# The form's prefill: two days in 6-hour steps, 12.5 m3/s through three segments.
EXAMPLE = {"startDate": "2020-06-01", "endDate": "2020-06-03", "timestep": 21600,
           "boundary_flow": 12.5, "segments": 3}


def count_times(start: datetime, end: datetime, minutes: int) -> int:
    """How many time steps lie in [start, end): a number, so that a long period
    with a short step is refused without building its list first."""
    return max(0, -(-(end - start) // timedelta(minutes=minutes)))  # ceil


def times(start: datetime, end: datetime, minutes: int) -> list[datetime]:
    """start, start + step, ... while < end (step in whole minutes)."""
    step = timedelta(minutes=minutes)
    return [start + k * step for k in range(count_times(start, end, minutes))]


def compute(inputs: dict[str, Any], schema: type[Inputs] = Inputs) -> dict[str, Any]:
    params = schema.model_validate(inputs)
    stamps = times(params.startDate, params.endDate, params.minutes())
    flows = routing.constant_volume(len(stamps), params.segments, params.boundary_flow).tolist()
    return {
        "columns": ["DateTime", *range(params.segments)],
        "index": list(range(len(stamps))),
        "data": [[t.strftime("%Y-%m-%d %H:%M"), *row] for t, row in zip(stamps, flows)],
        "metadata": {"units": {"flow": "m3/s", "timestep": params.UNIT}, "segments": params.segments,
                     "steps": len(stamps)},
    }
