"""Common loon population model (EPA ubertool ``loons``).

Four stages (three juvenile years, adults). Adult fecundity (female chicks per
adult) is fa = pa^(10/12) b m r; the projection matrix has sj below the
diagonal, fa at the top right and pa for adults staying adults. Its dominant
eigenvalue lambda is the growth factor per year.

The three juvenile years are then collapsed into one juvenile stage
(stage-duration reduction): rj = (sj/lambda)^2 / (1 + sj/lambda + (sj/lambda)^2)
of the juveniles mature each year (gj = sj rj) and the others stay
(pj = sj (1 - rj)), giving the 2 x 2 matrix [[pj, fa], [gj, pa]]. As ubertool
does, sensitivities and elasticities of its dominant eigenvalue are secants
over a 10 % decrease of one parameter (fa, pj, gj directly; b, m, pa through
fa; sj through rj, gj and pj; rj through gj and pj):
sen = |lambda(x) - lambda(0.9 x)| / (0.1 x), ela = sen x / lambda.

The 95 % interval of lambda is a Monte Carlo over 10,000 draws of the loon
vital rates from ubertool's fixed literature distributions (b: beta, mean 0.80,
sd 0.02; sj: beta, 0.45, 0.2; pa: beta, 0.92, 0.013; m: log-normal, 0.58,
0.03), with the run's sex ratio r; the other inputs do not enter it.
"""
from __future__ import annotations

import numpy as np
from pydantic import model_validator

from ._common import RunInputs, col, number
from ._leslie import MAX_POPULATION, project
from ._population import seeds

NAME = "loons"
TITLE = "Loon population model"
DESCRIPTION = ("Common loon population: stage projection, growth rate, stage-reduced matrix, "
               "sensitivities and elasticities of the growth rate to the vital rates, and a "
               "Monte Carlo 95 % interval of the growth rate. At most 1000 years and no stage "
               "above 1e12; 100 runs per job; give a seed to reproduce the interval.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["b", "m", "r", "pa", "sj", "t", "no1", "no2", "no3", "no4"],
    "Simulation": ["seed"],
}
MAX_ROWS = 100
SAMPLES = 10_000
PRIORS = {"b": (0.80, 0.02), "sj": (0.45, 0.2), "pa": (0.92, 0.013), "m": (0.58, 0.03)}


class Inputs(RunInputs):
    b: float = number("-", "Breeding probability of an adult", gt=0, le=1)
    m: float = number("chicks/pair", "Productivity: chicks fledged per breeding pair", gt=0, le=10)
    r: float = number("-", "Fraction of the chicks that are female", gt=0, le=1)
    pa: float = number("1/year", "Adult annual survival", gt=0, le=1)
    sj: float = number("1/year", "Juvenile annual survival", gt=0, le=1)
    t: int = number("years", "Years projected (at most 1000)", ge=1, le=1000)
    no1: float = number("individuals", "Initial number of first-year juveniles", ge=0, le=1e9)
    no2: float = number("individuals", "Initial number of second-year juveniles", ge=0, le=1e9)
    no3: float = number("individuals", "Initial number of third-year juveniles", ge=0, le=1e9)
    no4: float = number("individuals", "Initial number of adults", ge=0, le=1e9)
    seed: int | None = number("-", "Seed of the Monte Carlo draws (omit for a fresh one, reported "
                              "in out_seed)", None, ge=0, lt=2**53)

    @model_validator(mode="after")
    def _bounded(self) -> "Inputs":
        matrix = loon_matrix(np.array([fecundity(self.pa, self.b, self.m, self.r)]),
                             np.array([self.sj]), np.array([self.pa]))
        grid = project(matrix, np.array([[self.no1, self.no2, self.no3, self.no4]]), self.t)
        if not np.all(grid <= MAX_POPULATION):
            raise ValueError("a stage would exceed 1e12 individuals within t years: lower t or "
                             "the initial numbers")
        return self


def fecundity(pa, b, m, r):
    return pa ** (10.0 / 12.0) * b * m * r


def loon_matrix(fa: np.ndarray, sj: np.ndarray, pa: np.ndarray) -> np.ndarray:
    out = np.zeros((len(fa), 4, 4))
    out[:, 1, 0] = out[:, 2, 1] = out[:, 3, 2] = sj
    out[:, 0, 3] = fa
    out[:, 3, 3] = pa
    return out


def dominant(matrices: np.ndarray) -> np.ndarray:
    """Spectral radius of each matrix (the Perron root of a non-negative matrix)."""
    return np.abs(np.linalg.eigvals(matrices)).max(axis=-1)


def reduced(fa, sj, pa):
    """(rj, gj, pj, the 2 x 2 stage-reduced matrices) from the full model's lambda."""
    ratio = sj / dominant(loon_matrix(fa, sj, pa))
    rj = ratio ** 2 / (1.0 + ratio + ratio ** 2)
    return rj, sj * rj, sj * (1.0 - rj)


def small(pj, fa, gj, pa) -> np.ndarray:
    return np.stack([np.stack([pj, fa], axis=-1), np.stack([gj, pa], axis=-1)], axis=-2)


OUTPUTS = {
    "out_leslie": {"description": "Number in each of the 4 stages over time: 4 lists, years 0 to t",
                   "units": "individuals"},
    "out_fa": {"description": "Adult fecundity pa^(10/12) b m r", "units": "female chicks/adult/year"},
    "out_eig_dom": {"description": "Growth factor per year lambda (dominant eigenvalue, 4 stages)",
                    "units": "1/year"},
    "out_rj": {"description": "Fraction of juveniles maturing each year", "units": "-"},
    "out_gj": {"description": "Juvenile survival and maturation gj = sj rj", "units": "1/year"},
    "out_pj": {"description": "Juvenile survival without maturation pj = sj (1 - rj)", "units": "1/year"},
}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {
    "b": 0.8, "m": 0.58, "r": 0.5, "pa": 0.92, "sj": 0.75, "t": 10, "no1": 3, "no2": 0, "no3": 1,
    "no4": 2, "seed": 7,
}
for _name, _what in (("fa", "adult fecundity"), ("pj", "pj"), ("gj", "gj"), ("b", "breeding "
                     "probability"), ("m", "productivity"), ("sj", "juvenile survival"),
                     ("rj", "maturation fraction"), ("pa", "adult survival")):
    OUTPUTS[f"out_sen_{_name}"] = {"description": f"Sensitivity of lambda (stage-reduced) to {_what} "
                                                  "(secant over a 10 % decrease)", "units": "-"}
    OUTPUTS[f"out_ela_{_name}"] = {"description": f"Elasticity of lambda (stage-reduced) to {_what}",
                                   "units": "-"}
OUTPUTS["out_lamda_ci_025"] = {"description": "2.5th percentile of lambda over the Monte Carlo "
                                              "draws", "units": "1/year"}
OUTPUTS["out_lamda_ci_975"] = {"description": "97.5th percentile of lambda over the Monte Carlo "
                                              "draws", "units": "1/year"}
OUTPUTS["out_seed"] = {"description": "Seed of the Monte Carlo draws of this run", "units": "-"}


def _draws(rng: np.random.Generator, r: float, n: int) -> np.ndarray:
    """lambda of the stage-reduced matrix for n draws of the vital rates."""
    def beta(mean, sd):
        a = ((1 - mean) / sd ** 2 - 1 / mean) * mean ** 2
        return rng.beta(a, a * (1 / mean - 1), n)
    b, sj, pa = beta(*PRIORS["b"]), beta(*PRIORS["sj"]), beta(*PRIORS["pa"])
    mean, sd = PRIORS["m"]
    m = rng.lognormal(np.log(mean ** 2 / np.sqrt(mean ** 2 + sd ** 2)),
                      np.sqrt(np.log(sd ** 2 / mean ** 2 + 1)), n)
    fa = fecundity(pa, b, m, r)
    _, gj, pj = reduced(fa, sj, pa)
    return dominant(small(pj, fa, gj, pa))


def compute(columns: dict[str, np.ndarray]) -> dict[str, object]:
    b, m, r = col(columns, "b"), col(columns, "m"), col(columns, "r")
    pa, sj, years = col(columns, "pa"), col(columns, "sj"), col(columns, "t").astype(int)
    fa = fecundity(pa, b, m, r)
    full = loon_matrix(fa, sj, pa)
    n0 = np.stack([col(columns, f"no{i}") for i in range(1, 5)], axis=1)
    grid = project(full, n0, int(years.max()))
    rj, gj, pj = reduced(fa, sj, pa)
    lam = dominant(small(pj, fa, gj, pa))
    out: dict[str, object] = {
        "out_leslie": [g[:, : k + 1].tolist() for g, k in zip(grid, years)],
        "out_fa": fa, "out_eig_dom": dominant(full), "out_rj": rj, "out_gj": gj, "out_pj": pj,
    }

    def secant(name: str, value: np.ndarray, changed: np.ndarray) -> None:
        sen = np.abs(dominant(changed) - lam) / (0.1 * value)
        out[f"out_sen_{name}"], out[f"out_ela_{name}"] = sen, sen * value / lam

    secant("fa", fa, small(pj, 0.9 * fa, gj, pa))
    secant("pj", pj, small(0.9 * pj, fa, gj, pa))
    secant("gj", gj, small(pj, fa, 0.9 * gj, pa))
    secant("b", b, small(pj, fecundity(pa, 0.9 * b, m, r), gj, pa))
    secant("m", m, small(pj, fecundity(pa, b, 0.9 * m, r), gj, pa))
    secant("pa", pa, small(pj, fecundity(0.9 * pa, b, m, r), gj, 0.9 * pa))
    _, gj_sj, pj_sj = reduced(fa, 0.9 * sj, pa)
    secant("sj", sj, small(pj_sj, fa, gj_sj, pa))
    secant("rj", rj, small(sj * (1 - 0.9 * rj), fa, sj * 0.9 * rj, pa))
    run_seeds = seeds(columns)
    low, high = [], []
    for ri, seed in zip(r, run_seeds):
        draws = _draws(np.random.default_rng(seed), ri, SAMPLES)
        low.append(float(np.percentile(draws, 2.5)))
        high.append(float(np.percentile(draws, 97.5)))
    out["out_lamda_ci_025"], out["out_lamda_ci_975"] = np.array(low), np.array(high)
    out["out_seed"] = run_seeds
    return {name: out[name] for name in OUTPUTS}
