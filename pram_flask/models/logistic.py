"""Logistic population growth (EPA ubertool ``logistic``).

As ubertool computes it: in discrete time, each step adds r N (1 - N/K) to N
(r in percent per time step, K the carrying capacity). For small r this follows
the continuous solution N(t) = K / (1 + (K/N0 - 1) exp(-r t)) of ubertool's
documentation.
"""
from __future__ import annotations

import numpy as np
from pydantic import model_validator

from ._common import col, number
from ._population import MAX_POPULATION, MAX_RUNS, PopulationInputs, ragged, series_output, steps

NAME = "logistic"
TITLE = "Logistic growth"
DESCRIPTION = ("Population size over time under logistic (density-dependent) growth towards a "
               "carrying capacity, one discrete step per time step as in ubertool. Growth rates "
               "are limited to -100..100 % per step and N0 to at most twice K (at most K when r < 0), "
               "so that the population stays positive and bounded; at most 1000 time steps.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "carrying_capacity"],
    "Rates": ["growth_rate"],
    "Simulation": ["time_steps"],
}
MAX_ROWS = MAX_RUNS


class Inputs(PopulationInputs):
    growth_rate: float = number("%/time step", "Intrinsic growth rate r, in percent per time step",
                                ge=-100, le=100)
    carrying_capacity: float = number("individuals", "Carrying capacity K", gt=0, le=MAX_POPULATION)

    @model_validator(mode="after")
    def _start_below_twice_k(self) -> "Inputs":
        if self.init_pop_size > 2 * self.carrying_capacity:
            raise ValueError("init_pop_size must be at most twice carrying_capacity")
        if self.growth_rate < 0 and self.init_pop_size > self.carrying_capacity:
            # with r < 0, K repels: a population above K would grow without bound
            raise ValueError("with a negative growth_rate, init_pop_size must be at most "
                             "carrying_capacity")
        return self


OUTPUTS = {"out_pop_time_series": series_output("Population size at each time step")}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {"init_pop_size": 10, "growth_rate": 50, "carrying_capacity": 100, "time_steps": 3}


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    n, t = steps(columns)
    r, k = col(columns, "growth_rate") / 100.0, col(columns, "carrying_capacity")
    grid = np.empty((len(n), len(t)))
    grid[:, 0] = col(columns, "init_pop_size")
    for step in range(1, len(t)):
        x = grid[:, step - 1]
        grid[:, step] = x + r * x * (1.0 - x / k)
    return {"out_pop_time_series": ragged(grid, n)}
