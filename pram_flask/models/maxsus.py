"""Maximum sustainable yield of a logistic population (EPA ubertool ``maxsus``).

For logistic growth dN/dt = r N (1 - N/K) - H, a constant harvest H is
sustainable at size N when H = r N (1 - N/K); the largest such harvest is
H_max = r K / 4, at N = K/2. The yield curve is given at N = 0, 1, ..., K.
"""
from __future__ import annotations

import numpy as np

from ._common import RunInputs, col, number

NAME = "maxsus"
TITLE = "Maximum sustainable yield"
DESCRIPTION = ("Maximum sustainable harvest r K / 4 of a logistic population and the sustainable "
               "harvest at each whole population size 0..K. K is a whole number of at most "
               "10,000 (the curve has K + 1 points); at most 100 runs per job.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "K"],
    "Rates": ["growth_rate_percent"],
    "Simulation": ["time_steps"],
}
MAX_ROWS = 100
MAX_K = 10_000


class Inputs(RunInputs):
    growth_rate_percent: float = number("%/time step", "Intrinsic growth rate r, in percent per "
                                        "time step", ge=0, le=1000)
    K: int = number("individuals", f"Carrying capacity K (a whole number, at most {MAX_K})",
                    ge=1, le=MAX_K)
    init_pop_size: float | None = number("individuals", "Initial population size (not used by the "
                                         "yield calculation; accepted as ubertool does)", None, ge=0)
    time_steps: float | None = number("time steps", "Number of time steps (not used by the yield "
                                      "calculation; accepted as ubertool does)", None, ge=0)


OUTPUTS = {
    "out_max_sus_harvest": {"description": "Maximum sustainable harvest r K / 4",
                            "units": "individuals/time step"},
    "out_pop_time_series": {"description": "Sustainable yield curve: a list of [N, r N (1 - N/K)] "
                                           "pairs for N = 0, 1, ..., K",
                            "units": "[individuals, individuals/time step]"},
}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {"growth_rate_percent": 40, "K": 10, "init_pop_size": 5, "time_steps": 10}


def compute(columns: dict[str, np.ndarray]) -> dict[str, object]:
    r, k = col(columns, "growth_rate_percent") / 100.0, col(columns, "K")
    sizes = np.arange(int(k.max()) + 1, dtype=np.float64)
    yields = r[:, None] * sizes[None, :] * (1.0 - sizes[None, :] / k[:, None])
    curves = [np.column_stack([sizes[: int(kk) + 1], row[: int(kk) + 1]]).tolist()
              for row, kk in zip(yields, k)]
    return {"out_max_sus_harvest": r * k / 4.0, "out_pop_time_series": curves}
