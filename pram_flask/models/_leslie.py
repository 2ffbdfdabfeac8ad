"""Shared pieces of ubertool's stage-structured (Leslie matrix) models.

Inputs are a projection matrix ``l_m`` (stages x stages: fecundities in the
first row, survival from one stage to the next below the diagonal) and the
initial numbers per stage. Runs with the same number of stages are projected
together as one (runs x stages x stages) array.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

import numpy as np
from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from flask_qed import FieldError

from ._common import RunInputs, number

MAX_STAGES = 50
MAX_STEPS = 1000
MAX_VALUES_PER_RUN = 50_000    # stages x (time_steps + 1)
MAX_RUNS = 100
MAX_POPULATION = 1e12

# A step modifier turns (matrices (R,S,S), step i (1-based), totals before the step (R,))
# into the matrices used for that step.
Modifier = Callable[[np.ndarray, int, np.ndarray], np.ndarray]


def _parse(value: Any) -> Any:
    """A list given as JSON text (as EPA's clients send it) parsed; a boolean in it is no
    number, as it is none in a list given as JSON."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"not a JSON list: {value[:60]!r}") from None
        flag = _boolean_in(parsed)
        if flag is not None:
            raise PydanticCustomError("number_not_boolean", "Input should be a number, not {value} (in the list's text)",
                                      {"value": json.dumps(flag)})
        return parsed
    return value


def _boolean_in(value: Any) -> bool | None:
    """The first boolean of a list, at any depth (None if it holds none)."""
    for item in value if isinstance(value, list) else ():
        found = item if type(item) is bool else _boolean_in(item)
        if found is not None:
            return found
    return None


class LeslieInputs(RunInputs):
    init_pop_size: list[float] = number("individuals", "Initial number in each stage (a list of "
                                        "`stages` numbers, e.g. [10, 5, 2])")
    stages: int = number("-", f"Number of stages (at most {MAX_STAGES})", ge=1, le=MAX_STAGES)
    l_m: list[list[float]] = number("-", "Projection matrix, a list of `stages` rows of `stages` "
                                    "numbers: fecundities in the first row, the survival from "
                                    "stage j to j+1 at row j+1, column j")
    time_steps: int = number("time steps", f"Number of time steps projected (at most {MAX_STEPS})",
                             ge=1, le=MAX_STEPS)

    @field_validator("init_pop_size", "l_m", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _parse(value)

    @model_validator(mode="after")
    def _shapes(self) -> "LeslieInputs":
        self.check_shapes()
        self.check_growth()
        return self

    def check_shapes(self) -> None:
        s = self.stages
        if len(self.init_pop_size) != s:
            raise FieldError("init_pop_size", f"has {len(self.init_pop_size)} values for {s} stages")
        if len(self.l_m) != s or any(len(row) != s for row in self.l_m):
            raise FieldError("l_m", f"must be {s} rows of {s} numbers (stages = {s})")
        if any(not math.isfinite(x) or x < 0 or x > 1e6 for row in self.l_m for x in row):
            raise FieldError("l_m", "entries must be finite numbers between 0 and 1e6")
        if any(not math.isfinite(x) or x < 0 or x > MAX_POPULATION for x in self.init_pop_size):
            raise FieldError("init_pop_size", "values must be between 0 and 1e12")
        if s * (self.time_steps + 1) > MAX_VALUES_PER_RUN:
            raise FieldError("time_steps", f"stages x (time_steps + 1) must be at most {MAX_VALUES_PER_RUN}")

    def step_modifier(self) -> Modifier | None:
        """This run's adjustment of the matrix at each step (density dependence, a toxicant's
        effect), as the model computes it; None: the bare matrix."""
        return None

    def check_growth(self) -> None:
        """Refuse a run only when its own projection, with its effects, passes 1e12 in a stage."""
        grid = project(np.asarray([self.l_m], dtype=float), np.asarray([self.init_pop_size], dtype=float),
                       self.time_steps, self.step_modifier())
        if not np.all(grid <= MAX_POPULATION):
            raise ValueError("a stage would exceed 1e12 individuals within time_steps: "
                             "lower time_steps, l_m or init_pop_size")


def project(matrices: np.ndarray, n0: np.ndarray, n_steps: int,
            modifier: Modifier | None = None) -> np.ndarray:
    """(runs, stages, n_steps + 1): n(t) = L(t) n(t-1) from n(0) = ``n0``."""
    runs, s = n0.shape
    out = np.empty((runs, s, n_steps + 1))
    out[:, :, 0] = n0
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, n_steps + 1):
            prev = out[:, :, step - 1]
            m = matrices if modifier is None else modifier(matrices, step, prev.sum(axis=1))
            out[:, :, step] = np.einsum("rij,rj->ri", m, prev)
    return out


def by_stage_count(columns: dict[str, np.ndarray],
                   run: Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, list]]) -> dict[str, list]:
    """Call ``run(indices, matrices, n0)`` for each group of runs with the same number of stages;
    gather its per-run outputs back in run order."""
    stages = np.asarray([int(s) for s in columns["stages"]])
    results: dict[str, list] = {}
    for s in np.unique(stages):
        idx = np.flatnonzero(stages == s)
        matrices = np.asarray([columns["l_m"][i] for i in idx], dtype=float).reshape(len(idx), s, s)
        n0 = np.asarray([columns["init_pop_size"][i] for i in idx], dtype=float).reshape(len(idx), s)
        for name, values in run(idx, matrices, n0).items():
            column = results.setdefault(name, [None] * len(stages))
            for i, v in zip(idx, values):
                column[i] = v
    return results


def cut(grid: np.ndarray, steps: np.ndarray) -> list[list[list[float]]]:
    """Per run: stages x (its time_steps + 1) as nested lists."""
    return [g[:, : int(k) + 1].tolist() for g, k in zip(grid, steps)]


POP_MATRIX = {"description": "Number in each stage over time: a list of `stages` lists, each "
                             "for time steps 0 to time_steps", "units": "individuals"}
