"""Constant-volume flow routing with the time step in days, as the original took it.

The original hms_flask took ``timestep`` in days; ``constant_volume`` now takes
it in seconds, like the other routing models. Old clients keep the days at the
original path ``/hms/hydrodynamic/constant_volume/``, served by this model.
"""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from . import constant_volume as cv

NAME = "constant_volume_days"
TITLE = "Constant-volume flow routing (time step in days, original interface)"
DESCRIPTION = cv.DESCRIPTION + " The time step is in days, as in the original HMS service."
VERSION = cv.VERSION
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Period": ["startDate", "endDate", "timestep"],
    "Flow": ["boundary_flow"],
    "Reach": ["segments"],
}
BATCH = False
ALIASES = ("hydrodynamic/constant_volume",)
MAX_COST, COST_UNITS, TIME_LIMIT = cv.MAX_COST, cv.COST_UNITS, cv.TIME_LIMIT
OUTPUTS = cv.OUTPUTS
EXAMPLE = {**cv.EXAMPLE, "timestep": 0.25}  # the form's prefill: constant_volume's run, in days


class Inputs(cv.Inputs):
    timestep: float = Field(..., gt=0, le=366, description="Time step in days (truncated to whole minutes)",
                            json_schema_extra={"units": "d"})

    UNIT: ClassVar[str] = "d"

    def minutes(self) -> int:
        return int(self.timestep * 24 * 60)


estimate_cost = cv.estimate_cost


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    return cv.compute(inputs, Inputs)
