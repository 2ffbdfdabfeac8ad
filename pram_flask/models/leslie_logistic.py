"""Leslie projection with density dependence and a decaying toxicant (EPA ubertool ``leslie_logistic``).

At step t (1, 2, ...) the projection matrix is adjusted before use:
- fecundities (first row) x exp(-gamma N), N the total population before the step;
- survivals (every other row) x (1 - M48(t)), with the logistic dose-response
  M48(t) = 1 / (1 + exp(-(a ln C(t) + b))) at the concentration
  C(t) = C0 (1/2)^(t / half_life).
For a Leslie matrix (survival only below the diagonal) this is ubertool's
computation; survival entries elsewhere below the first row (e.g. adults
staying adults) are reduced alike.
"""
from __future__ import annotations

import numpy as np

from ._common import col, number
from ._leslie import MAX_RUNS, POP_MATRIX, LeslieInputs, Modifier, by_stage_count, cut, project

NAME = "leslie_logistic"
TITLE = "Leslie matrix with logistic dose-response"
DESCRIPTION = ("Stage-structured population projection with density-dependent fecundity and "
               "survival lowered by a first-order decaying toxicant through a logistic "
               "dose-response. At most 50 stages, 1000 time steps, 50,000 values per run, 100 "
               "runs per job, and no stage above 1e12 in the projection itself.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "stages", "l_m"],
    "Simulation": ["time_steps"],
    "Toxicity": ["init_conc", "half_life", "logistic_a", "logistic_b", "logistic_gamma"],
}
MAX_ROWS = MAX_RUNS


class Inputs(LeslieInputs):
    init_conc: float = number("mg/L", "Initial concentration C0 of the toxicant (in the units of the "
                              "dose-response coefficients)", ge=0, le=1e9)
    half_life: float = number("time steps", "Half-life of the toxicant", gt=0, le=1e9)
    logistic_a: float = number("-", "Slope a of the logistic dose-response (per ln concentration)",
                               ge=-1e3, le=1e3)
    logistic_b: float = number("-", "Intercept b of the logistic dose-response", ge=-1e3, le=1e3)
    logistic_gamma: float = number("1/individual", "Density dependence of fecundity gamma",
                                   ge=0, le=1e3)

    def step_modifier(self) -> Modifier:
        return effects(*(np.array([v], dtype=float) for v in (self.init_conc, self.half_life, self.logistic_a,
                                                               self.logistic_b, self.logistic_gamma)))


OUTPUTS = {
    "out_pop_matrix": POP_MATRIX,
}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {
    "init_pop_size": [100.0, 50.0, 20.0], "stages": 3,
    "l_m": [[0.0, 1.5, 1.0], [0.5, 0.0, 0.0], [0.0, 0.25, 0.0]], "time_steps": 25,
    "init_conc": 20.0, "half_life": 4.0, "logistic_a": 2.0, "logistic_b": -5.0,
    "logistic_gamma": 0.002,
}


def mortality(conc: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Logistic dose-response 1 / (1 + exp(-(a ln C + b))), with a ln 0 taken as -inf x sign(a)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        z = np.where(a == 0, b, a * np.log(conc) + b)
        return 1.0 / (1.0 + np.exp(-z))


def effects(c0: np.ndarray, half: np.ndarray, a: np.ndarray, b: np.ndarray, gamma: np.ndarray) -> Modifier:
    """The step adjustment of runs with these parameters (arrays, one value a run)."""
    def adjust(m: np.ndarray, step: int, total: np.ndarray) -> np.ndarray:
        survive = 1.0 - mortality(c0 * 0.5 ** (step / half), a, b)
        out = m * survive[:, None, None]
        out[:, 0, :] = m[:, 0, :] * np.exp(-gamma * total)[:, None]
        return out
    return adjust


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    steps = col(columns, "time_steps").astype(int)
    c0, half = col(columns, "init_conc"), col(columns, "half_life")
    a, b, gamma = col(columns, "logistic_a"), col(columns, "logistic_b"), col(columns, "logistic_gamma")

    def run(idx: np.ndarray, matrices: np.ndarray, n0: np.ndarray) -> dict[str, list]:
        adjust = effects(c0[idx], half[idx], a[idx], b[idx], gamma[idx])
        grid = project(matrices, n0, int(steps[idx].max()), adjust)
        return {"out_pop_matrix": cut(grid, steps[idx])}

    return by_stage_count(columns, run)
