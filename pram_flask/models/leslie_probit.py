"""Leslie projection of a bird population exposed through its diet (EPA ubertool / pram_flask ``leslie_probit``).

- Residues on the grass the birds eat: each application of ``rate`` lb/acre of a
  product with ``percent_active_ingredient`` % a.i. adds ``rate x %a.i./100 x
  multiplier`` mg/kg (Kenaga upper bound: short grass 240, tall grass 110, or
  ``plant_surface_conc``); residues fall by first order with the foliar
  half-life, day by day from day 0.
- Daily dose of the assessed bird (weight ``bw_ass``, g): food intake
  F = 1.180 bw_ass^0.874 / 1000 kg/day, dose = F C / (bw_ass / 1000) mg/kg-bw.
- Its LD50, scaled from the tested bird (weight ``bw_tested``) with Mineau's
  factor: LD50_ass = ld50_test (bw_ass / bw_tested)^(msf - 1).
- Probit dose-response with slope ``b``: z = b (log10 dose - log10 LD50_ass);
  a fraction 1 - Phi(z) of the birds survive the day's dose.
- Step t (1, 2, ...) projects with the matrix adjusted for day t - 1: the
  fecundities (first row) times exp(-gamma N), N the total population before the
  step; every survival (the other rows) times 1 - Phi(z).

ubertool's own implementation of this model does not run (it reads inputs it
never declares); these are the equations it was written for, with the body
weights named as its commented-out inputs (``bw_tested``, ``bw_ass``). Its
``sol`` input (solubility) has no role in a dietary dose and is accepted but not
used.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import field_validator, model_validator

from ._common import col, number, text
from ._leslie import MAX_RUNS, POP_MATRIX, LeslieInputs, Modifier, _parse, by_stage_count, cut, project

NAME = "leslie_probit"
TITLE = "Leslie matrix with probit dose-response (birds)"
DESCRIPTION = ("Stage-structured bird population projection with density-dependent fecundity and "
               "survival lowered by a probit dose-response to the daily dietary dose from "
               "pesticide residues on grass. At most 50 stages, 1000 time steps (days), 50,000 "
               "values per run, 100 runs per job, and no stage above 1e12 in the projection itself; "
               "applications fall within the simulated days.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Population": ["init_pop_size", "stages", "l_m"],
    "Simulation": ["time_steps"],
    "Application": ["grass_type", "plant_surface_conc", "percent_active_ingredient", "foliar_half_life", "sol",
        "number_applications", "application_rates", "application_days"],
    "Toxicity": ["b", "test_species", "ld50_test", "bw_tested", "bw_ass", "mineau_scaling_factor",
        "probit_gamma"],
}
MAX_ROWS = MAX_RUNS

KENAGA = {"short grass": 240.0, "tall grass": 110.0}


class Inputs(LeslieInputs):
    grass_type: str = text("Food item: 'Short Grass' (240 mg/kg per lb/acre) or 'Tall Grass' (110); "
                           "plant_surface_conc, when given, replaces the multiplier", "Short Grass")
    plant_surface_conc: float | None = number("mg/kg per lb a.i./acre", "Residue per unit "
                                              "application rate (replaces the grass multiplier)",
                                              None, ge=0, le=1e4)
    percent_active_ingredient: float = number("%", "Active ingredient in the product", ge=0, le=100)
    foliar_half_life: float = number("days", "Foliar dissipation half-life", gt=0, le=1e6)
    sol: float | None = number("mg/L", "Solubility (accepted as ubertool does; not used)", None, ge=0)
    number_applications: int = number("-", "Number of applications", ge=1, le=1000)
    application_rates: list[float] = number("lb/acre", "Rate of each application (a list)")
    application_days: list[int] = number("days", "Day of each application (a list, increasing, "
                                         "from 0)")
    b: float = number("-", "Slope of the probit dose-response", gt=0, le=1e3)
    test_species: str | None = text("Species tested for the LD50 (descriptive only)", None)
    ld50_test: float = number("mg/kg-bw", "Acute oral LD50 of the tested bird", gt=0)
    bw_tested: float = number("g", "Body weight of the tested bird", gt=0, le=1e6)
    bw_ass: float = number("g", "Body weight of the assessed bird", gt=0, le=1e6)
    mineau_scaling_factor: float = number("-", "Mineau scaling factor", ge=0, le=3)
    probit_gamma: float = number("1/individual", "Density dependence of fecundity gamma", ge=0, le=1e3)

    @field_validator("application_rates", "application_days", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _parse(value)

    @field_validator("grass_type")
    @classmethod
    def _grass(cls, value: str) -> str:
        if value.strip().lower() not in KENAGA:
            raise ValueError("must be 'Short Grass' or 'Tall Grass'")
        return value

    @model_validator(mode="after")
    def _shapes(self) -> "Inputs":  # replaces the base check: the projection needs the schedule
        self.check_shapes()
        self.check_schedule()
        self.check_growth()
        return self

    def step_modifier(self) -> Modifier:
        columns = {}
        for name in ("time_steps", "grass_type", "plant_surface_conc", "percent_active_ingredient",
                     "foliar_half_life", "application_rates", "application_days", "bw_ass", "ld50_test",
                     "bw_tested", "mineau_scaling_factor", "b"):
            columns[name] = np.empty(1, dtype=object)
            columns[name][0] = getattr(self, name)
        surv = exposure(columns)[3]
        return effects(surv, np.array([self.probit_gamma], dtype=float))

    def check_schedule(self) -> None:
        n = self.number_applications
        if len(self.application_rates) != n or len(self.application_days) != n:
            raise ValueError(f"application_rates and application_days must each have "
                             f"number_applications ({n}) values")
        if any(not math.isfinite(r) or r < 0 or r > 1e3 for r in self.application_rates):
            raise ValueError("application_rates must be between 0 and 1000 lb/acre")
        days = self.application_days
        if days[0] < 0 or any(b <= a for a, b in zip(days, days[1:])):
            raise ValueError("application_days must increase from day 0 or later")
        if days[-1] >= self.time_steps:
            raise ValueError(f"application day {days[-1]} falls after the last simulated day "
                             f"({self.time_steps - 1})")


OUTPUTS = {
    "out_pop_matrix": POP_MATRIX,
    "out_conc": {"description": "Residue on the food item on days 0 to time_steps - 1 (a list)",
                 "units": "mg/kg-diet"},
    "out_dose_bird": {"description": "Daily dose of the assessed bird on days 0 to time_steps - 1 "
                                     "(a list)", "units": "mg/kg-bw/day"},
    "out_surv_frac": {"description": "Fraction surviving the day's dose, 1 - Phi(z), on days 0 to "
                                     "time_steps - 1 (a list)", "units": "-"},
    "out_at_bird": {"description": "LD50 of the assessed bird (Mineau scaling)", "units": "mg/kg-bw"},
}

# The form's prefill: inputs the tests check against ubertool or by hand.
EXAMPLE = {
    "init_pop_size": [100.0, 50.0, 20.0], "stages": 3,
    "l_m": [[0.0, 1.5, 1.0], [0.5, 0.0, 0.0], [0.0, 0.25, 0.0]], "time_steps": 30,
    "grass_type": "Short Grass", "percent_active_ingredient": 50.0, "foliar_half_life": 5.0,
    "sol": 100.0, "number_applications": 3, "application_rates": "[1.0, 0.5, 0.5]",
    "application_days": "[0, 7, 14]", "b": 4.5, "test_species": "bobwhite quail",
    "ld50_test": 200.0, "bw_tested": 178.0, "bw_ass": 20.0, "mineau_scaling_factor": 1.15,
    "probit_gamma": 0.001,
}

_erf = np.frompyfunc(math.erf, 1, 1)


def survival_fraction(dose: np.ndarray, ld50: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """1 - Phi(slope (log10 dose - log10 LD50)); a zero dose leaves everyone alive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = slope * (np.log10(dose) - np.log10(ld50))
    return 1.0 - 0.5 * (1.0 + _erf(z / math.sqrt(2.0)).astype(np.float64))


def exposure(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """(residue, dose, LD50 of the assessed bird, fraction surviving): (runs x days) grids but the LD50."""
    steps = col(columns, "time_steps").astype(int)
    runs = len(steps)
    days = np.arange(int(steps.max()))
    # residues: one (runs x days) grid; each application adds a decaying pulse
    per_rate = np.array([KENAGA[str(g).strip().lower()] for g in columns["grass_type"]])
    if "plant_surface_conc" in columns:
        override = col(columns, "plant_surface_conc")
        per_rate = np.where(np.isnan(override), per_rate, override)
    per_rate = per_rate * col(columns, "percent_active_ingredient") / 100.0
    decay = math.log(2.0) / col(columns, "foliar_half_life")
    conc = np.zeros((runs, len(days)))
    for i in range(runs):
        for rate, day in zip(columns["application_rates"][i], columns["application_days"][i]):
            after = days >= day
            conc[i, after] += rate * per_rate[i] * np.exp(-decay[i] * (days[after] - day))
    bw = col(columns, "bw_ass")
    intake = 1.180 * bw ** 0.874 / 1000.0                       # kg food/day
    dose = intake[:, None] * conc / (bw[:, None] / 1000.0)
    at_bird = col(columns, "ld50_test") * (bw / col(columns, "bw_tested")) ** \
        (col(columns, "mineau_scaling_factor") - 1.0)
    surv = survival_fraction(dose, at_bird[:, None], col(columns, "b")[:, None])
    return conc, dose, at_bird, surv


def effects(surv: np.ndarray, gamma: np.ndarray) -> Modifier:
    """The step adjustment of runs with these daily survivals (runs x days) and gammas (runs)."""
    def adjust(m: np.ndarray, step: int, total: np.ndarray) -> np.ndarray:
        out = m * surv[:, step - 1][:, None, None]
        out[:, 0, :] = m[:, 0, :] * np.exp(-gamma * total)[:, None]
        return out
    return adjust


def compute(columns: dict[str, np.ndarray]) -> dict[str, list]:
    steps = col(columns, "time_steps").astype(int)
    conc, dose, at_bird, surv = exposure(columns)
    gamma = col(columns, "probit_gamma")

    def run(idx: np.ndarray, matrices: np.ndarray, n0: np.ndarray) -> dict[str, list]:
        grid = project(matrices, n0, int(steps[idx].max()), effects(surv[idx], gamma[idx]))
        return {"out_pop_matrix": cut(grid, steps[idx])}

    out = by_stage_count(columns, run)
    out["out_conc"] = [row[:k].tolist() for row, k in zip(conc, steps)]
    out["out_dose_bird"] = [row[:k].tolist() for row, k in zip(dose, steps)]
    out["out_surv_frac"] = [row[:k].tolist() for row, k in zip(surv, steps)]
    out["out_at_bird"] = at_bird
    return out
