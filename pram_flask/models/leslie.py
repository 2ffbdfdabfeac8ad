"""Leslie matrix population projection and its eigen-analysis (EPA ubertool ``leslie``).

n(t+1) = L n(t). From the dominant eigenvalue lambda of L (the asymptotic growth
rate per step) with its right eigenvector w (stable stage distribution) and
left eigenvector v (reproductive values) come the sensitivities
s_ij = v_i w_j / <v, w> = d lambda / d l_ij and the elasticities
e_ij = s_ij l_ij / lambda (which sum to 1).
"""
from __future__ import annotations

import numpy as np

from ._common import col
from ._leslie import MAX_RUNS, POP_MATRIX, LeslieInputs, by_stage_count, cut, project

NAME = "leslie"
TITLE = "Leslie matrix"
DESCRIPTION = ("Stage-structured population projection with a Leslie (or any non-negative "
               "projection) matrix, its dominant eigenvalue, stable stage distribution, "
               "reproductive values, sensitivities and elasticities. At most 50 stages, 1000 "
               "time steps, 50,000 values per run, 100 runs per job, and no stage above 1e12.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "stages", "l_m"],
    "Simulation": ["time_steps"],
}
MAX_ROWS = MAX_RUNS


class Inputs(LeslieInputs):
    pass


OUTPUTS = {
    "out_pop_matrix": POP_MATRIX,
    "out_fecundity": {"description": "Fecundities: the first row of l_m", "units": "-"},
    "out_growth": {"description": "Survival to the next stage: l_m[j+1][j] for each stage j but the "
                                  "last", "units": "-"},
    "out_survival": {"description": "Survival within a stage: the diagonal of l_m", "units": "-"},
    "out_eigdom": {"description": "Dominant eigenvalue lambda: asymptotic growth factor per time "
                                  "step", "units": "-"},
    "out_eigleft": {"description": "Reproductive values: left eigenvector of lambda, scaled so "
                                   "that the first stage is 1 (or summing to 1 if the first is 0)",
                    "units": "-"},
    "out_eigright": {"description": "Stable stage distribution: right eigenvector of lambda, "
                                    "summing to 1", "units": "-"},
    "out_sensitivity": {"description": "Sensitivity of lambda to each entry of l_m (stages x stages)",
                        "units": "-"},
    "out_elasticity": {"description": "Elasticity of lambda to each entry of l_m (stages x "
                                      "stages; sums to 1)", "units": "-"},
}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {
    "init_pop_size": [100.0, 50.0, 20.0], "stages": 3,
    "l_m": [[0.0, 1.5, 1.0], [0.5, 0.0, 0.0], [0.0, 0.25, 0.0]], "time_steps": 12,
}


def _perron(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dominant (largest modulus, then largest real part) eigenvalue and its unit-sum vector."""
    values, vectors = np.linalg.eig(matrices)
    modulus = np.abs(values)
    top = modulus >= modulus.max(axis=1, keepdims=True) * (1 - 1e-9)
    k = np.argmax(np.where(top, values.real, -np.inf), axis=1)
    rows = np.arange(len(matrices))
    lam = values[rows, k].real
    vec = vectors[rows, :, k].real
    total = vec.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        vec = np.where(total != 0, vec / total, vec)
    return lam, vec


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    steps = col(columns, "time_steps").astype(int)

    def run(idx: np.ndarray, matrices: np.ndarray, n0: np.ndarray) -> dict[str, list]:
        grid = project(matrices, n0, int(steps[idx].max()))
        lam, w = _perron(matrices)
        _, v = _perron(np.transpose(matrices, (0, 2, 1)))
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(v[:, :1] != 0, v / v[:, :1], v)
            sens = v[:, :, None] * w[:, None, :] / np.einsum("ri,ri->r", v, w)[:, None, None]
            elas = sens * matrices / lam[:, None, None]
        s = matrices.shape[1]
        return {
            "out_pop_matrix": cut(grid, steps[idx]),
            "out_fecundity": matrices[:, 0, :].tolist(),
            "out_growth": [np.diagonal(m, offset=-1).tolist() for m in matrices],
            "out_survival": [np.diagonal(m).tolist() for m in matrices],
            "out_eigdom": lam.tolist(),
            "out_eigleft": v.tolist(), "out_eigright": w.tolist(),
            "out_sensitivity": sens.reshape(-1, s, s).tolist(),
            "out_elasticity": elas.reshape(-1, s, s).tolist(),
        }

    return by_stage_count(columns, run)
