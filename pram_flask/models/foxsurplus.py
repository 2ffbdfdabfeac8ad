"""Fox surplus-production model with harvest (EPA ubertool ``foxsurplus``).

Gompertz-type growth with a constant fishing effort E and catchability q:
dN/dt = r N ln(K/N) - q E N. Its solution, which ubertool evaluates, is
ln N(t) = ln K - qE/r + (ln N0 - ln K + qE/r) exp(-r t): the population tends
to K exp(-qE/r). r is in percent per time step.
"""
from __future__ import annotations

import numpy as np

from ._common import col, number
from ._population import MAX_POPULATION, MAX_RUNS, PopulationInputs, ragged, series_output, steps

NAME = "foxsurplus"
TITLE = "Fox surplus production"
DESCRIPTION = ("Population size over time under Fox's surplus-production model (Gompertz growth "
               "to a carrying capacity, minus a harvest q E N). At most 1000 time steps.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "carrying_capacity"],
    "Rates": ["growth_rate", "catchability", "effort"],
    "Simulation": ["time_steps"],
}
MAX_ROWS = MAX_RUNS


class Inputs(PopulationInputs):
    growth_rate: float = number("%/time step", "Intrinsic growth rate r, in percent per time step",
                                ge=1e-6, le=1000)
    carrying_capacity: float = number("individuals", "Carrying capacity K", gt=0, le=MAX_POPULATION)
    catchability: float = number("1/effort", "Catchability coefficient q", ge=0, le=1e3)
    effort: float = number("effort/time step", "Harvest effort E", ge=0, le=1e3)


OUTPUTS = {"out_pop_time_series": series_output("Population size at each time step")}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {
    "init_pop_size": 800, "growth_rate": 20, "carrying_capacity": 1000, "catchability": 0.01,
    "effort": 5, "time_steps": 60,
}


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    n, t = steps(columns)
    r = col(columns, "growth_rate")[:, None] / 100.0
    log_k = np.log(col(columns, "carrying_capacity"))[:, None]
    log_n0 = np.log(col(columns, "init_pop_size"))[:, None]
    harvest = (col(columns, "catchability") * col(columns, "effort"))[:, None] / r
    log_n = log_k - harvest + (log_n0 - log_k + harvest) * np.exp(-r * t[None, :])
    grid = np.exp(log_n)
    grid[:, 0] = col(columns, "init_pop_size")  # exactly N0, whatever the rounding above
    return {"out_pop_time_series": ragged(grid, n)}
