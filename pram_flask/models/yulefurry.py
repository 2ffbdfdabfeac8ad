"""Yule-Furry pure-birth process (EPA ubertool ``yulefurry``).

In each time step every individual gives birth to one offspring with
probability p (``birth_probability``, in percent). ``n_iterations``
realisations are simulated; ``out_x_mu`` is the expected size N0 (1 + p)^t,
the discrete counterpart of the documented mean N0 exp(r t).
"""
from __future__ import annotations

import math

import numpy as np
from pydantic import model_validator

from ._common import RunInputs, col, number
from ._population import (MAX_ITERATIONS, MAX_POPULATION, MAX_STEPS, MAX_STOCHASTIC_RUNS,
                          MAX_VALUES_PER_RUN, SERIES_UNITS, branching, seeds)

NAME = "yulefurry"
TITLE = "Yule-Furry process"
DESCRIPTION = ("Stochastic pure-birth population growth: several realisations and the expected "
               "size. At most 100 iterations, 1000 time steps and 20,000 values per run, 50 runs "
               "per job, and an expected size of at most 1e12; give a seed to reproduce a run.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "birth_probability"],
    "Simulation": ["time_steps", "n_iterations", "seed"],
}
MAX_ROWS = MAX_STOCHASTIC_RUNS


class Inputs(RunInputs):
    init_pop_size: int = number("individuals", "Initial population size N0", ge=0, le=10**9)
    birth_probability: float = number("%/time step", "Chance that an individual gives birth in a "
                                      "time step", ge=0, le=100)
    time_steps: int = number("time steps", "Number of time steps simulated", ge=1, le=MAX_STEPS)
    n_iterations: int = number("-", "Number of realisations", ge=1, le=MAX_ITERATIONS)
    seed: int | None = number("-", "Seed of the random numbers (omit for a fresh one, reported in "
                              "out_seed)", None, ge=0, lt=2**53)

    @model_validator(mode="after")
    def _bounded(self) -> "Inputs":
        if self.n_iterations * (self.time_steps + 1) > MAX_VALUES_PER_RUN:
            raise ValueError(f"n_iterations x (time_steps + 1) must be at most {MAX_VALUES_PER_RUN}")
        if self.init_pop_size > 0 and math.log(self.init_pop_size) + self.time_steps * \
                math.log1p(self.birth_probability / 100.0) > math.log(MAX_POPULATION):
            raise ValueError("the expected population would exceed 1e12 within time_steps")
        return self


OUTPUTS = {
    "out_pop_time_series": {"description": "Population size in each realisation (a list of "
                                           "n_iterations lists: time steps 0 to time_steps)",
                            "units": SERIES_UNITS},
    "out_x_mu": {"description": "Expected population size N0 (1 + p)^t (a list: time steps 0 "
                                "to time_steps)", "units": SERIES_UNITS},
    "out_seed": {"description": "Seed of the random numbers of this run", "units": "-"},
}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {
    "init_pop_size": 40, "birth_probability": 15.0, "time_steps": 10, "n_iterations": 4, "seed": 99,
}


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    n0, p = col(columns, "init_pop_size"), col(columns, "birth_probability") / 100.0
    steps, iters = col(columns, "time_steps").astype(int), col(columns, "n_iterations").astype(int)
    run_seeds = seeds(columns)
    series, means = [], []
    for i, seed in enumerate(run_seeds):
        rng = np.random.default_rng(seed)
        series.append(branching(int(n0[i]), p[i], 0.0, iters[i], steps[i], rng).tolist())
        means.append((n0[i] * (1.0 + p[i]) ** np.arange(steps[i] + 1)).tolist())
    return {"out_pop_time_series": series, "out_x_mu": means, "out_seed": run_seeds}
