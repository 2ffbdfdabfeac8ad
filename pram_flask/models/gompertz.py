"""Gompertz population growth (EPA ubertool ``gompertz``).

dN/dt = r N ln(K/N), solved as N(t) = K exp(-ln(K/N0) exp(-r t)), with r in
percent per time step and K the carrying capacity.
"""
from __future__ import annotations

import numpy as np

from ._common import col, number
from ._population import MAX_POPULATION, MAX_RUNS, PopulationInputs, ragged, series_output, steps

NAME = "gompertz"
TITLE = "Gompertz growth"
DESCRIPTION = ("Population size over time under Gompertz growth towards a carrying capacity, "
               "N(t) = K exp(-ln(K/N0) exp(-r t)). At most 1000 time steps.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "K"],
    "Rates": ["growth_rate"],
    "Simulation": ["time_steps"],
}
MAX_ROWS = MAX_RUNS


class Inputs(PopulationInputs):
    growth_rate: float = number("%/time step", "Maximum growth rate r, in percent per time step",
                                gt=0, le=1000)
    K: float = number("individuals", "Carrying capacity K", gt=0, le=MAX_POPULATION)


OUTPUTS = {"out_pop_time_series": series_output("Population size at each time step")}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {"init_pop_size": 20, "growth_rate": 15, "K": 500, "time_steps": 30}


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    n, t = steps(columns)
    n0, k, r = col(columns, "init_pop_size"), col(columns, "K"), col(columns, "growth_rate") / 100.0
    grid = k[:, None] * np.exp(-np.log(k / n0)[:, None] * np.exp(-r[:, None] * t[None, :]))
    return {"out_pop_time_series": ragged(grid, n)}
