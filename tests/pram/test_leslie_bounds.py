"""leslie_logistic and leslie_probit refuse a run only when its own projection, with its density
dependence and toxicant, passes 1e12 individuals in a stage; not because the bare matrix would."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tests.pram.qaqc import input_errors, outputs

GROWING = [[0.0, 6.0, 6.0], [0.9, 0.0, 0.0], [0.0, 0.9, 0.0]]   # dominant eigenvalue ~2.6
N0 = [100.0, 50.0, 20.0]
STEPS = 120


def _one(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v["0"] for k, v in outputs(name, inputs).items()}


def _by_hand(fecundity_factor, survival_factor, steps=STEPS, matrix=GROWING, n0=N0):
    """n(t) = M(t) n(t-1): M's first row x fecundity_factor(N), the other rows x survival_factor(t)."""
    cols = [list(n0)]
    for t in range(1, steps + 1):
        prev, total = cols[-1], sum(cols[-1])
        f, s = fecundity_factor(total), survival_factor(t)
        cols.append([sum(matrix[i][j] * (f if i == 0 else s) * prev[j] for j in range(3)) for i in range(3)])
    return [[c[i] for c in cols] for i in range(3)]


def test_the_bare_matrix_would_pass_1e12() -> None:
    bare = _by_hand(lambda n: 1.0, lambda t: 1.0)
    assert max(max(row) for row in bare) > 1e12 * 1e30


LL = {"init_pop_size": N0, "stages": 3, "l_m": GROWING, "time_steps": STEPS,
      "init_conc": 0.0, "half_life": 4.0, "logistic_a": 0.0, "logistic_b": -50.0, "logistic_gamma": 0.01}


def test_leslie_logistic_density_dependence_bounds_the_projection() -> None:
    got = np.array(_one("leslie_logistic", LL)["out_pop_matrix"])
    survive = 1 - 1 / (1 + math.exp(50.0))                          # a = 0: mortality 1 / (1 + e^-b)
    want = _by_hand(lambda n: math.exp(-0.01 * n), lambda t: survive)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert got.max() < 1e4 and got[:, -1].sum() > 100                 # bounded, and not extinct


def test_leslie_logistic_a_toxicant_alone_can_bound_it() -> None:
    lethal = {**LL, "logistic_gamma": 0.0, "logistic_b": 5.0, "half_life": 1e9, "init_conc": 1.0}
    got = np.array(_one("leslie_logistic", lethal)["out_pop_matrix"])
    survive = 1 - 1 / (1 + math.exp(-5.0))
    np.testing.assert_allclose(got, _by_hand(lambda n: 1.0, lambda t: survive), rtol=1e-10, atol=1e-300)
    assert np.isfinite(got).all() and got.max() <= 1e12


def test_leslie_logistic_still_refuses_a_projection_that_overflows() -> None:
    errors = input_errors("leslie_logistic", {**LL, "logistic_gamma": 0.0})
    assert "exceed 1e12" in errors[0]["rule"]


LP = {"init_pop_size": N0, "stages": 3, "l_m": GROWING, "time_steps": STEPS, "grass_type": "Short Grass",
      "percent_active_ingredient": 50.0, "foliar_half_life": 5.0, "number_applications": 1,
      "application_rates": [0.0], "application_days": [0], "b": 4.5, "ld50_test": 200.0, "bw_tested": 178.0,
      "bw_ass": 20.0, "mineau_scaling_factor": 1.15, "probit_gamma": 0.01}


def test_leslie_probit_density_dependence_bounds_the_projection() -> None:
    got = np.array(_one("leslie_probit", LP)["out_pop_matrix"])           # no residue: survival 1
    np.testing.assert_allclose(got, _by_hand(lambda n: math.exp(-0.01 * n), lambda t: 1.0), rtol=1e-10)
    assert got.max() < 1e4 and got[:, -1].sum() > 100


def test_leslie_probit_still_refuses_a_projection_that_overflows() -> None:
    errors = input_errors("leslie_probit", {**LP, "probit_gamma": 0.0})
    assert "exceed 1e12" in errors[0]["rule"]


def test_leslie_probit_schedule_is_checked_before_the_projection() -> None:
    errors = input_errors("leslie_probit", {**LP, "application_rates": [1.0, 2.0]})
    assert "number_applications" in errors[0]["rule"]
