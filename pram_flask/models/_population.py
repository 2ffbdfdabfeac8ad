"""Shared pieces of ubertool's population models (pure numpy + pydantic).

A population model returns, for each run, a list: the population at time steps
0, 1, ..., ``time_steps`` (ubertool's ``out_pop_time_series``). Series are
computed on one (runs x steps) grid and then cut to each run's length.
Limits keep a job bounded: at most ``MAX_STEPS`` time steps per run and
``MAX_RUNS`` runs per job, i.e. at most about a million numbers.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._common import RunInputs, col, number

MAX_STEPS = 1000
MAX_RUNS = 1000
MAX_POPULATION = 1e12   # a series may never go beyond this (keeps results finite and meaningful)

SERIES_UNITS = "individuals"


class PopulationInputs(RunInputs):
    init_pop_size: float = number("individuals", "Initial population size N0", gt=0,
                                  le=MAX_POPULATION)
    time_steps: int = number("time steps", f"Number of time steps simulated (at most {MAX_STEPS})",
                             ge=1, le=MAX_STEPS)


def steps(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(per-run number of steps as int, the time grid 0..max steps as float)."""
    n = col(columns, "time_steps").astype(np.int64)
    return n, np.arange(int(n.max()) + 1 if n.size else 1, dtype=np.float64)


def ragged(grid: np.ndarray, n: np.ndarray) -> list[list[Any]]:
    """Row i of a (runs x steps) grid cut to steps 0..n[i], as plain lists."""
    return [row[: k + 1].tolist() for row, k in zip(grid, n)]


def series_output(description: str) -> dict[str, str]:
    return {"description": description + " (a list: time steps 0 to time_steps)",
            "units": SERIES_UNITS}


# -- stochastic birth (and death) processes ------------------------------------

MAX_ITERATIONS = 100
MAX_VALUES_PER_RUN = 20_000    # iterations x (time_steps + 1)
MAX_STOCHASTIC_RUNS = 50


def branching(n0: int, birth: float, death: float, iterations: int, n_steps: int,
              rng: np.random.Generator) -> np.ndarray:
    """(iterations, n_steps + 1) realisations of a discrete-time birth-death process.

    In each time step every individual independently gives birth to one
    offspring with probability ``birth`` and dies with probability ``death``
    (ubertool's rule: both are drawn for every individual present at the start of
    the step). Counts are drawn as binomials, so any population size is exact.
    """
    out = np.empty((iterations, n_steps + 1), dtype=np.int64)
    out[:, 0] = n0
    for step in range(1, n_steps + 1):
        x = out[:, step - 1]
        births = rng.binomial(x, birth)
        deaths = rng.binomial(x, death) if death > 0 else 0
        out[:, step] = x + births - deaths
    return out


def seeds(columns: dict[str, np.ndarray]) -> list[int]:
    """Each run's seed: the ``seed`` input, or a fresh random one (reported in ``out_seed``)."""
    given = columns.get("seed")
    values = [] if given is None else given.tolist()
    fresh = np.random.SeedSequence()
    out = []
    for i in range(len(next(iter(columns.values())))):
        value = values[i] if i < len(values) else None
        if value is None or (isinstance(value, float) and np.isnan(value)):
            value = int(fresh.spawn(1)[0].generate_state(1, dtype=np.uint32)[0])
        out.append(int(value))
    return out
