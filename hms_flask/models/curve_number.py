"""SCS curve-number surface runoff for a series of precipitation depths.

Each step's depth is one event (as EPA HMS applies the method to daily
precipitation): ``Q = (P - Ia)^2 / (P - Ia + S)`` for ``P > Ia``, else 0,
``Ia = ratio x S``, ``S = 25400 / CN - 254`` mm (USDA SCS 1986, TR-55 eqs. 2-1,
2-2, 2-4). The curve number is given, or looked up for a land cover and
hydrologic soil group in TR-55 Tables 2-2a and 2-2c (models/data/
tr55_curve_numbers.csv), then adjusted for antecedent moisture (Chow, Maidment
& Mays 1988, eqs. 5.5.3/5.5.4). Given a catchment area and the step length the
runoff is also a mean flow per step, usable as kinematic_wave's boundary_flow.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..science import runoff

NAME = "curve_number"
TITLE = "SCS curve-number runoff"
DESCRIPTION = ("Surface runoff of each step's precipitation by the SCS (NRCS) curve-number method "
               "(TR-55), with the curve number given or looked up for a land cover and soil group; "
               "optionally the mean flow per step from a catchment area.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Precipitation": ["precipitation"],
    "Curve number": ["curve_number", "land_cover", "hydrologic_soil_group", "initial_abstraction_ratio",
                     "antecedent_moisture"],
    "Flow (optional)": ["area", "timestep"],
}
BATCH = False
ALIASES = ()
MAX_VALUES = 1_000_000   # most precipitation steps per request
MAX_COST = MAX_VALUES
COST_UNITS = "precipitation steps"
TIME_LIMIT = 60

Depth = Annotated[float, Field(ge=0, le=2000)]   # mm a step: above the 24-h record (~1,825 mm)
COVERS = tuple(runoff.curve_numbers())


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    precipitation: list[Depth] = Field(..., min_length=1, max_length=MAX_VALUES,
                                       description="Precipitation depth of each step; 0 .. 2000",
                                       json_schema_extra={"units": "mm", "series": "time"})
    curve_number: float | None = Field(None, ge=1, le=100, description="Runoff curve number for "
                                       "average moisture (AMC II), 1 .. 100; or give land_cover and "
                                       "hydrologic_soil_group", json_schema_extra={"units": "-"})
    land_cover: Literal[COVERS] | None = Field(  # type: ignore[valid-type]
        None, description="TR-55 (1986) Table 2-2a/2-2c cover and hydrologic condition",
        json_schema_extra={"units": "-"})
    hydrologic_soil_group: Literal["A", "B", "C", "D"] | None = Field(
        None, description="Hydrologic soil group (TR-55 appendix A)", json_schema_extra={"units": "-"})
    initial_abstraction_ratio: float = Field(0.2, ge=0, le=1, description="Ia / S (TR-55: 0.2)",
                                             json_schema_extra={"units": "-"})
    antecedent_moisture: Literal["I", "II", "III"] = Field(
        "II", description="Antecedent moisture condition: I dry, II average, III wet "
        "(Chow et al. 1988 eqs. 5.5.3/5.5.4)", json_schema_extra={"units": "-"})
    area: float | None = Field(None, gt=0, le=1e7, description="Catchment area (with timestep: "
                               "out_flow)", json_schema_extra={"units": "km2"})
    timestep: float | None = Field(None, ge=1, le=366 * 86_400, description="Length of a step (with "
                                   "area: out_flow)", json_schema_extra={"units": "s"})

    @model_validator(mode="after")
    def _check(self) -> "Inputs":
        looked_up = self.land_cover is not None or self.hydrologic_soil_group is not None
        if self.curve_number is not None and looked_up:
            raise ValueError("give curve_number, or land_cover and hydrologic_soil_group, not both")
        if self.curve_number is None and (self.land_cover is None or self.hydrologic_soil_group is None):
            raise ValueError("give curve_number, or both land_cover and hydrologic_soil_group")
        if (self.area is None) != (self.timestep is None):
            raise ValueError("area and timestep go together (both give out_flow)")
        return self

    def cn_ii(self) -> float:
        if self.curve_number is not None:
            return self.curve_number
        return runoff.curve_numbers()[self.land_cover][self.hydrologic_soil_group]


def estimate_cost(inputs: Inputs) -> int:
    return len(inputs.precipitation)


OUTPUTS = {
    "out_runoff": {"description": "Direct runoff depth of each step", "units": "mm"},
    "out_flow": {"description": "Mean runoff flow over each step (given area and timestep)",
                 "units": "m3/s"},
    "curve_number": {"description": "Curve number used (after the antecedent-moisture adjustment)",
                     "units": "-"},
    "retention": {"description": "Potential maximum retention S", "units": "mm"},
    "initial_abstraction": {"description": "Initial abstraction Ia", "units": "mm"},
}
# The form's prefill: a week of daily rain on half-acre lots on a group B soil.
EXAMPLE = {"precipitation": [0, 12.5, 48.0, 127.0, 6.0, 0, 30.0], "land_cover": "residential_1_2_acre",
           "hydrologic_soil_group": "B", "area": 2.5, "timestep": 86400}


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    params = Inputs.model_validate(inputs)
    cn = runoff.adjust_for_moisture(params.cn_ii(), params.antecedent_moisture)
    s = runoff.retention(cn)
    q = runoff.runoff(params.precipitation, cn, params.initial_abstraction_ratio)
    out: dict[str, Any] = {"out_runoff": q.tolist(), "curve_number": cn, "retention": s,
                           "initial_abstraction": params.initial_abstraction_ratio * s}
    units = {"out_runoff": "mm", "retention": "mm", "initial_abstraction": "mm"}
    if params.area is not None and params.timestep is not None:
        out["out_flow"] = runoff.flow(q, params.area, params.timestep).tolist()
        units["out_flow"] = "m3/s"
    out["metadata"] = {"units": units, "steps": len(q), "curve_number_amc_ii": params.cn_ii(),
                       "antecedent_moisture": params.antecedent_moisture,
                       "source": "USDA SCS (1986) TR-55 eqs. 2-1..2-4, Tables 2-2a/2-2c"}
    return out
