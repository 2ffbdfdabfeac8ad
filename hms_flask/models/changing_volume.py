"""Changing-volume flow routing: each segment is a nonlinear reservoir.

A boundary inflow series is routed through N segments. Each segment stores
``V = L·A(h)`` (trapezoidal section, side slope 0 = rectangular) and releases
Manning's-equation flow at its depth. Fully implicit (backward Euler) and
solved by Newton's method per segment: unconditionally stable, no Courant
limit, mass conserved to round-off (see hms_flask.science.routing).

This module also holds the inputs shared with the kinematic-wave model.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import numpy as np
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from flask_qed import FieldError

from ..science import routing

NAME = "changing_volume"
TITLE = "Changing-volume flow routing"
DESCRIPTION = ("Routes a boundary inflow through N river segments treated as nonlinear reservoirs "
               "(volume from the cross-section, outflow from Manning's equation), implicit in time.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Period": ["startDate", "endDate", "timestep"],
    "Flow": ["boundary_flow", "initial_flow"],
    "Reach": ["segments", "length", "width", "slope", "mannings_n", "side_slope"],
}
BATCH = False
ALIASES = ("hydrodynamic/changing_volume",)
MAX_VALUES = 1_000_000   # most (output times × segments × subreaches) per request
# The implicit scheme steps through the (time, reach) diagonals in Python,
# vectorised along each: about 50 µs a diagonal, so 100,000 steps take ~5 s.
MAX_STEPS = 100_000
MAX_REACHES = 10_000     # computational reaches (segments × subreaches)
MIN_TIMESTEP = 1.0       # s; output times are whole seconds
# Cost model: the values computed, (output times) × segments × subreaches.
MAX_COST = MAX_VALUES
COST_UNITS = "values (output times x segments x subreaches)"
TIME_LIMIT = 120         # s; the largest accepted run takes ~10 s

# Physically meaningful ranges (SI). Outside them Manning's equation over- or
# underflows and Newton's method has nothing to converge to.
FLOW_MAX = 1e6           # m3/s: above the largest floods on record (~3e5)
Flow = Annotated[float, Field(ge=0, le=FLOW_MAX)]
Length = Annotated[float, Field(ge=1, le=1e6)]           # m: 1 m .. 1000 km per segment
Width = Annotated[float, Field(ge=0.01, le=1e5)]         # m: a ditch .. 100 km
Slope = Annotated[float, Field(ge=1e-7, le=1)]           # m/m
Roughness = Annotated[float, Field(ge=1e-3, le=1)]       # s/m^(1/3)
SideSlope = Annotated[float, Field(ge=0, le=100)]        # m/m (horizontal per vertical)


def _one_or_list(kind: Any) -> Any:
    return kind | Annotated[list[kind], Field(min_length=1)]  # type: ignore[valid-type]


def _series(units: str, description: str, default: Any = ..., time: bool = False) -> Any:
    """A field of one value or a list; ``time``: its rows are time steps (the form's hint)."""
    extra = {"units": units, "series": "time"} if time else {"units": units}
    return Field(default, description=description, json_schema_extra=extra)


class RoutingInputs(BaseModel):
    """Inputs common to changing-volume and kinematic-wave routing."""
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    startDate: datetime = Field(..., validation_alias=AliasChoices("startDate", "start_date"),
                                description="Start of the simulation (ISO date or date-time)",
                                json_schema_extra={"units": "ISO 8601"})
    endDate: datetime = Field(..., validation_alias=AliasChoices("endDate", "end_date"),
                              description="End of the simulation (last output time <= endDate)",
                              json_schema_extra={"units": "ISO 8601"})
    timestep: float = Field(..., ge=MIN_TIMESTEP, le=366 * 86_400, description="Time step in seconds",
                            json_schema_extra={"units": "s"})
    boundary_flow: _one_or_list(Flow) = _series(
        "m3/s", "Inflow at the upstream boundary: one value (constant), one per step "
        "(t1..tN) or one per output time (t0..tN); 0 .. 1e6", time=True)
    segments: int | None = Field(None, ge=1, le=MAX_VALUES, description="Number of segments (default: "
                                 "length of the per-segment lists, else 1)", json_schema_extra={"units": "-"})
    length: _one_or_list(Length) = _series("m", "Segment length (one value or one per segment); 1 .. 1e6")
    width: _one_or_list(Width) = _series("m", "Channel (bottom) width (one value or one per segment); "
                                         "0.01 .. 1e5")
    slope: _one_or_list(Slope) = _series("m/m", "Channel bed slope (one value or one per segment); 1e-7 .. 1")
    mannings_n: _one_or_list(Roughness) = _series("s/m^(1/3)", "Manning's roughness n (one value or one "
                                                    "per segment); 0.001 .. 1")
    initial_flow: Flow | None = Field(None, description="Steady uniform flow at t0 (default: the "
                                      "first boundary flow); 0 .. 1e6", json_schema_extra={"units": "m3/s"})

    def per_segment_fields(self) -> tuple[str, ...]:
        return ("length", "width", "slope", "mannings_n")

    def computational_reaches(self) -> int:
        return 1

    @model_validator(mode="after")
    def _check(self) -> "RoutingInputs":
        check_dates(self.startDate, self.endDate)
        if self.endDate <= self.startDate:
            raise FieldError("endDate", "must be after startDate")
        steps = n_steps(self.startDate, self.endDate, self.timestep)
        if steps < 1:
            raise ValueError(f"the period {self.startDate} .. {self.endDate} is shorter than one "
                             f"timestep ({self.timestep} s)")
        if steps > MAX_STEPS:
            raise ValueError(f"{steps} time steps; at most {MAX_STEPS} per request (use a longer "
                             "timestep or a shorter period)")
        n_seg = segment_count(self, self.per_segment_fields())
        if isinstance(self.boundary_flow, list) and len(self.boundary_flow) not in (1, steps, steps + 1):
            raise ValueError(f"boundary_flow has {len(self.boundary_flow)} values; give 1, {steps} "
                             f"(one per step) or {steps + 1} (one per output time)")
        reaches = n_seg * self.computational_reaches()
        if reaches > MAX_REACHES:  # the solver steps through steps + reaches diagonals
            raise ValueError(f"{n_seg} segments x {self.computational_reaches()} subreaches = {reaches} "
                             f"computational reaches; at most {MAX_REACHES} per request")
        cells = (steps + 1) * n_seg * self.computational_reaches()
        if cells > MAX_VALUES:
            raise ValueError(f"{steps + 1} output times x {n_seg} segments"
                             f"{' x subreaches' if self.computational_reaches() > 1 else ''} = "
                             f"{cells} values; at most {MAX_VALUES} per request")
        return self


def check_dates(start: datetime, end: datetime) -> None:
    if (start.tzinfo is None) != (end.tzinfo is None):
        raise ValueError("startDate and endDate must both have a time zone or both have none")


def n_steps(start: datetime, end: datetime, timestep: float) -> int:
    """Whole time steps from start to end (so the last output time is <= end)."""
    return int((end - start).total_seconds() // timestep)


def segment_count(inputs: BaseModel, names: tuple[str, ...]) -> int:
    """Number of segments; per-segment lists must agree with it and each other."""
    lengths = {name: len(v) for name in names
               if isinstance(v := getattr(inputs, name), list) and len(v) != 1}
    counts = set(lengths.values()) | ({inputs.segments} if inputs.segments else set())
    if len(counts) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"per-segment lists disagree on the number of segments "
                         f"(segments: {inputs.segments}; {detail})")
    return counts.pop() if counts else 1


def expand(value: float | list[float], n: int) -> np.ndarray:
    """One value or a list -> float array of length n."""
    arr = np.atleast_1d(np.asarray(value, float))
    return np.full(n, arr[0]) if arr.size == 1 else arr


def timeline(inputs: RoutingInputs) -> tuple[list[str], np.ndarray, float]:
    """Output times t0..tN as ISO text, boundary inflow at those times, initial flow."""
    steps = n_steps(inputs.startDate, inputs.endDate, inputs.timestep)
    times = [(inputs.startDate + timedelta(seconds=k * inputs.timestep)).isoformat()
             for k in range(steps + 1)]
    flow = np.atleast_1d(np.asarray(inputs.boundary_flow, float))
    if flow.size == 1:
        flow = np.full(steps + 1, flow[0])
    elif flow.size == steps:
        flow = np.concatenate(([flow[0]], flow))
    initial = flow[0] if inputs.initial_flow is None else inputs.initial_flow
    return times, flow, float(initial)


def result(inputs: RoutingInputs, times: list[str], inflow: np.ndarray, out: dict[str, np.ndarray],
           reach: Any, dx: np.ndarray, per_segment: int, method: str, scheme: str) -> dict[str, Any]:
    """The JSON-ready result of a routing run."""
    n_seg = out["flow"].shape[1]
    return {
        "dates": times,
        "segments": [str(i + 1) for i in range(n_seg)],
        "boundary_flow": inflow,
        "flow": out["flow"], "depth": out["depth"], "volume": out["volume"],
        "metadata": {
            "method": method, "scheme": scheme,
            "timestep (s)": inputs.timestep, "steps": len(times) - 1, "segments": n_seg,
            "computational reaches per segment": per_segment,
            "max Courant number": routing.courant(reach, out["state"], dx, inputs.timestep, per_segment),
            "mass balance (m3)": routing.mass_balance(inflow, out["flow"][:, -1], out["volume"],
                                                      inputs.timestep),
            "units": {"flow": "m3/s", "depth": "m", "volume": "m3", "boundary_flow": "m3/s"},
            "layout": "flow/depth/volume[time index][segment index]; time 0 is the initial state",
        },
    }


def estimate_cost(inputs: RoutingInputs) -> int:
    """Values computed: output times × segments × computational reaches per segment."""
    steps = n_steps(inputs.startDate, inputs.endDate, inputs.timestep)
    return (steps + 1) * segment_count(inputs, inputs.per_segment_fields()) * inputs.computational_reaches()


class Inputs(RoutingInputs):
    side_slope: _one_or_list(SideSlope) = Field(0.0, description="Bank side slope z (horizontal per "
                                                "vertical; 0 = rectangular); 0 .. 100",
                                                json_schema_extra={"units": "m/m"})

    def per_segment_fields(self) -> tuple[str, ...]:
        return ("length", "width", "slope", "mannings_n", "side_slope")


def routing_outputs(depth: str) -> dict[str, dict[str, str]]:
    """The outputs of both routing methods; they differ only in what depth means."""
    return {
        "dates": {"description": "Output times t0..tN (t0 = initial state)", "units": "ISO 8601"},
        "flow": {"description": "Outflow of each segment at each time", "units": "m3/s"},
        "depth": {"description": depth, "units": "m"},
        "volume": {"description": "Water volume stored in each segment at each time", "units": "m3"},
        "boundary_flow": {"description": "Boundary inflow used at each time", "units": "m3/s"},
        "metadata": {"description": "Method, scheme, Courant number, mass balance, units", "units": "-"},
    }


OUTPUTS = routing_outputs("Water depth of each segment at each time")

# The form's prefill (kinematic_wave shares the river): a flood wave over a day of hourly
# steps, base flow 5 m3/s, peak 50 m3/s at 06:00, through three 2 km segments.
RIVER_EXAMPLE = {
    "startDate": "2020-06-01T00:00:00", "endDate": "2020-06-02T00:00:00", "timestep": 3600,
    "boundary_flow": [5.0, 10.0, 20.0, 30.0, 40.0, 45.0, 50.0, 45.0, 40.0, 34.0, 28.0, 23.0, 19.0,
                      16.0, 13.0, 11.0, 9.5, 8.5, 7.5, 6.5, 6.0, 5.5, 5.2, 5.0, 5.0],
    "segments": 3, "length": [2000.0, 2000.0, 2000.0], "width": 15.0, "slope": 0.0005,
    "mannings_n": 0.035,
}
EXAMPLE = {**RIVER_EXAMPLE, "side_slope": 1.0}


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    params = Inputs.model_validate(inputs)
    times, inflow, initial = timeline(params)
    n = segment_count(params, params.per_segment_fields())
    dx = expand(params.length, n)
    reach = routing.ManningReach(expand(params.width, n), expand(params.side_slope, n),
                                 expand(params.mannings_n, n), expand(params.slope, n))
    out = routing.route(inflow, params.timestep, reach, dx, 1, initial)
    return result(params, times, inflow, out, reach, dx, 1, "changing volume (nonlinear reservoir)",
                  "implicit backward Euler, Newton per segment; unconditionally stable")
