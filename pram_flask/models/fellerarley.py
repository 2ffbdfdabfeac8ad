"""Feller-Arley birth-death process (EPA ubertool ``fellerarley``).

In each time step every individual gives birth to one offspring with
probability r (``growth_rate``) and dies with probability mu (``death_rate``),
both in percent and drawn independently. ``iteration`` realisations are
simulated; ``out_x_mu`` is the expected size N0 (1 + r - mu)^t, the discrete
counterpart of the documented mean N0 exp((r - mu) t).
"""
from __future__ import annotations

import math

import numpy as np
from pydantic import model_validator

from ._common import RunInputs, col, number
from ._population import (MAX_ITERATIONS, MAX_POPULATION, MAX_STEPS, MAX_STOCHASTIC_RUNS,
                          MAX_VALUES_PER_RUN, SERIES_UNITS, branching, seeds)

NAME = "fellerarley"
TITLE = "Feller-Arley process"
DESCRIPTION = ("Stochastic birth-death population dynamics: several realisations and the "
               "expected size. At most 100 iterations, 1000 time steps and 20,000 values per "
               "run, 50 runs per job, and an expected size of at most 1e12; give a seed to "
               "reproduce a run.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size"],
    "Rates": ["growth_rate", "death_rate"],
    "Simulation": ["time_steps", "iteration", "seed"],
}
MAX_ROWS = MAX_STOCHASTIC_RUNS


class Inputs(RunInputs):
    init_pop_size: int = number("individuals", "Initial population size N0", ge=0, le=10**9)
    growth_rate: float = number("%/time step", "Chance that an individual gives birth in a time "
                                "step", ge=0, le=100)
    death_rate: float = number("%/time step", "Chance that an individual dies in a time step",
                               ge=0, le=100)
    time_steps: int = number("time steps", "Number of time steps simulated", ge=1, le=MAX_STEPS)
    iteration: int = number("-", "Number of realisations", ge=1, le=MAX_ITERATIONS)
    seed: int | None = number("-", "Seed of the random numbers (omit for a fresh one, reported in "
                              "out_seed)", None, ge=0, lt=2**53)

    @model_validator(mode="after")
    def _bounded(self) -> "Inputs":
        if self.iteration * (self.time_steps + 1) > MAX_VALUES_PER_RUN:
            raise ValueError(f"iteration x (time_steps + 1) must be at most {MAX_VALUES_PER_RUN}")
        growth = 1.0 + (self.growth_rate - self.death_rate) / 100.0
        if self.init_pop_size > 0 and growth > 0 and math.log(self.init_pop_size) + \
                self.time_steps * math.log(growth) > math.log(MAX_POPULATION):
            raise ValueError("the expected population would exceed 1e12 within time_steps")
        return self


OUTPUTS = {
    "out_pop_time_series": {"description": "Population size in each realisation (a list of "
                                           "`iteration` lists: time steps 0 to time_steps)",
                            "units": SERIES_UNITS},
    "out_x_mu": {"description": "Expected population size N0 (1 + r - mu)^t (a list: time steps "
                                "0 to time_steps)", "units": SERIES_UNITS},
    "out_seed": {"description": "Seed of the random numbers of this run", "units": "-"},
}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {
    "init_pop_size": 40, "growth_rate": 15.0, "death_rate": 5.0, "time_steps": 10, "iteration": 4,
    "seed": 99,
}


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    n0 = col(columns, "init_pop_size")
    birth, death = col(columns, "growth_rate") / 100.0, col(columns, "death_rate") / 100.0
    steps, iters = col(columns, "time_steps").astype(int), col(columns, "iteration").astype(int)
    run_seeds = seeds(columns)
    series, means = [], []
    for i, seed in enumerate(run_seeds):
        rng = np.random.default_rng(seed)
        series.append(branching(int(n0[i]), birth[i], death[i], iters[i], steps[i], rng).tolist())
        means.append((n0[i] * (1.0 + birth[i] - death[i]) ** np.arange(steps[i] + 1)).tolist())
    return {"out_pop_time_series": series, "out_x_mu": means, "out_seed": run_seeds}
