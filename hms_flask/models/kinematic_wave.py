"""Kinematic-wave flow routing (Chow, Maidment & Mays 1988, Applied Hydrology §9.6).

``A = α Q^β`` with β = 0.6 and α = (n P^(2/3) / √S)^0.6, P = channel width
(wide channel), solved with the nonlinear backward-difference scheme on
``subreaches`` computational reaches per segment. Implicit in time:
unconditionally stable, mass conserved to round-off; the Courant number is
reported as a measure of numerical diffusion (see hms_flask.science.routing).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..science import routing
from .changing_volume import (COST_UNITS, MAX_COST, MAX_VALUES, RIVER_EXAMPLE, TIME_LIMIT, RoutingInputs,
                              estimate_cost, expand, result, routing_outputs, segment_count, timeline)

NAME = "kinematic_wave"
TITLE = "Kinematic-wave flow routing"
DESCRIPTION = ("Routes a boundary inflow through N river segments with the kinematic-wave "
               "approximation (Manning, wide rectangular channel), implicit nonlinear scheme.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Period": ["startDate", "endDate", "timestep"],
    "Flow": ["boundary_flow", "initial_flow"],
    "Reach": ["segments", "length", "width", "slope", "mannings_n", "subreaches"],
}
BATCH = False
ALIASES = ("hydrodynamic/kinematic_wave",)
__all__ = ["MAX_VALUES", "MAX_COST", "COST_UNITS", "TIME_LIMIT", "Inputs", "compute", "estimate_cost",
           "EXAMPLE"]


class Inputs(RoutingInputs):
    subreaches: int = Field(1, ge=1, le=50, description="Computational reaches per segment "
                            "(more = less numerical diffusion)", json_schema_extra={"units": "-"})

    def computational_reaches(self) -> int:
        return self.subreaches


OUTPUTS = routing_outputs("Flow depth (area / width) at each segment outlet")
EXAMPLE = {**RIVER_EXAMPLE, "subreaches": 4}  # the form's prefill: changing_volume's flood wave


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    params = Inputs.model_validate(inputs)
    times, inflow, initial = timeline(params)
    n = segment_count(params, params.per_segment_fields())
    m = params.subreaches
    width = expand(params.width, n)
    alpha = routing.kinematic_alpha(expand(params.mannings_n, n), width, expand(params.slope, n))
    dx = np.repeat(expand(params.length, n) / m, m)
    reach = routing.KinematicReach(np.repeat(alpha, m), np.repeat(width, m))
    out = routing.route(inflow, params.timestep, reach, dx, m, initial)
    return result(params, times, inflow, out, reach, dx, m, "kinematic wave (A = alpha Q^0.6)",
                  "nonlinear backward-difference scheme (Chow et al. 1988, section 9.6), "
                  "Newton per reach; unconditionally stable")
