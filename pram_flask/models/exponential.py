"""Exponential population growth (EPA ubertool / pram_flask ``exponential``).

dN/dt = r N, solved as N(t) = N0 exp(r t), with r given in percent per time step.
"""
from __future__ import annotations

import math

import numpy as np
from pydantic import model_validator

from ._common import col, number
from ._population import MAX_POPULATION, MAX_RUNS, PopulationInputs, ragged, series_output, steps

NAME = "exponential"
TITLE = "Exponential growth"
DESCRIPTION = ("Population size over time under exponential growth, N(t) = N0 exp(r t). "
               "At most 1000 time steps, and the population may not exceed 1e12 "
               "individuals within the simulated time.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size"],
    "Rates": ["growth_rate"],
    "Simulation": ["time_steps"],
}
MAX_ROWS = MAX_RUNS


class Inputs(PopulationInputs):
    growth_rate: float = number("%/time step", "Intrinsic growth rate r, in percent per time step "
                                "(negative for decline)", ge=-1000, le=1000)

    @model_validator(mode="after")
    def _bounded(self) -> "Inputs":
        if math.log(self.init_pop_size) + self.growth_rate / 100.0 * self.time_steps > \
                math.log(MAX_POPULATION):
            raise ValueError("the population would exceed 1e12 within time_steps: "
                             "lower growth_rate, time_steps or init_pop_size")
        return self


OUTPUTS = {"out_pop_time_series": series_output("Population size at each time step")}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {"init_pop_size": 30, "growth_rate": 1.1, "time_steps": 10}


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    n, t = steps(columns)
    n0, r = col(columns, "init_pop_size"), col(columns, "growth_rate") / 100.0
    with np.errstate(over="ignore"):
        grid = n0[:, None] * np.exp(r[:, None] * t[None, :])
    return {"out_pop_time_series": ragged(grid, n)}
