"""TED (Terrestrial Effects Determination): daily exposure concentrations for a year.

Science from EPA's ubertool ``ted`` model (OPP's TED tool, "Min/Max rate
concentrations" worksheet; Attachment 1-7 of the diazinon ESA biological
evaluation). Two application scenarios (``min`` and ``max``) each apply
``num_apps`` times ``app_rate`` every ``app_interval`` days from day 0; day 0
to day 365 are simulated.

- Food items (Kenaga): each application adds ``app_rate x multiplier`` mg/kg
  (upper-bound / mean multipliers: short grass 240/85, tall grass 110/36,
  broadleaf plants 135/45, fruits/pods/seeds 15/7, arthropods 94/65); residues
  fall by first order with the foliar dissipation half-life.
- Soil pore water and puddles (Eq 3): ``11.2 x app_rate / (d_w + 2.6 cm x
  (porosity + 1.5 x Koc x 0.015))`` per application, with ``d_w`` 0 (pore
  water) or 1.3 cm (puddles); they fall with the aerobic soil half-life.
- Soil: pore water x Koc x f_oc; earthworms (Eq 2): pore water x Kow x 1 % lipid.
- Dew on broadleaf plants (Eq 11): upper-bound broadleaf residue x 0.62 /
  (0.012 kg/m2 wax x Kow), at most the solubility.
- Air in the canopy (Eqs 24-27): the applied mass over one hectare of 1 m high
  air plus the crop (25,000 kg at 0.77 kg/L) with the biotransfer factor
  ``log BTF = 1.065 log Kow - log H' - 1.654`` (H' dimensionless Henry's law
  constant at 25 degC); it falls with the foliar half-life.

Each output is the largest daily value of its year-long series (ubertool's
``..._maxdaily``). Only this exposure part of TED is served: the species
doses, drift distances and plant risk parts of ubertool's TED are not.
"""
from __future__ import annotations

import math

import numpy as np
from pathlib import Path
from typing import Any

from pydantic import Field, create_model, model_validator
from pydantic.json_schema import SkipJsonSchema

from flask_qed import FieldError

from ._common import RunInputs, col, number

NAME = "ted"
TITLE = "TED"
DESCRIPTION = ("Terrestrial Effects Determination: the largest daily pesticide concentrations "
               "over a year in food items (upper-bound and mean Kenaga residues), soil pore "
               "water, puddles, soil, earthworms, dew and canopy air, for a minimum and a "
               "maximum application scenario. Applications must all fall within the simulated "
               "year (day 0 to 365).")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Application": ["app_rate_min", "num_apps_min", "app_interval_min", "app_rate_max", "num_apps_max",
        "app_interval_max"],
    "Chemical": ["foliar_diss_hlife", "aerobic_soil_meta_hlife", "koc", "log_kow", "solubility",
        "henry_law_const"],
}

DAYS = 366  # day 0 (first application) to day 365

# Kenaga residue multipliers, mg/kg-diet per lb a.i./acre: (upper bound, mean)
FOOD_ITEMS = {"sg": (240.0, 85.0), "tg": (110.0, 36.0), "blp": (135.0, 45.0),
              "fp": (15.0, 7.0), "arthro": (94.0, 65.0)}
FOOD_NAMES = {"sg": "short grass", "tg": "tall grass", "blp": "broadleaf plants",
              "fp": "fruits, pods and seeds", "arthro": "arthropods"}
SCENARIOS = ("min", "max")

# soil (Eq 3)
APP_RATE_CONV = 11.2        # lb a.i./acre -> ug/cm2
SOIL_DEPTH = 2.6            # cm
SOIL_FOC = 0.015
SOIL_BULK_DENSITY = 1.5     # kg/L
SOIL_POROSITY = 1.0 - SOIL_BULK_DENSITY / 2.65
PUDDLE_DEPTH = 1.3          # cm
# earthworms (Eq 2)
EARTHWORM_LIPID = 0.01
EARTHWORM_DENSITY = 1.0     # kg/L
# dew (Eq 11)
FRAC_ON_SURFACE = 0.62
MASS_WAX = 0.012            # kg/m2
DENSITY_WATER = 1.0         # kg/L
# canopy air (Eqs 24-27)
GAS_CONSTANT = 8.205e-5     # atm-m3/mol-K
TEMPERATURE = 298.0         # K
MG_PER_LB_ACRE_HA = 453.592 * 1000.0 * 2.47105   # lb/acre -> mg on one hectare
AIR_VOLUME = 1.0 * 10_000.0 * 1000.0               # L: 1 m crop height over 1 ha
PLANT_MASS = 25_000.0       # kg per hectare
PLANT_DENSITY = 0.77        # kg/L


class Inputs(RunInputs):
    app_rate_min: float = number("lb a.i./acre", "Rate of each application, minimum scenario",
                                 ge=0, le=1000)
    num_apps_min: int = number("-", "Number of applications, minimum scenario", ge=1, le=DAYS)
    app_interval_min: int = number("days", "Days between applications, minimum scenario",
                                   ge=0, le=DAYS - 1)
    app_rate_max: float = number("lb a.i./acre", "Rate of each application, maximum scenario",
                                 ge=0, le=1000)
    num_apps_max: int = number("-", "Number of applications, maximum scenario", ge=1, le=DAYS)
    app_interval_max: int = number("days", "Days between applications, maximum scenario",
                                   ge=0, le=DAYS - 1)
    foliar_diss_hlife: float = number("days", "Foliar dissipation half-life", gt=0)
    aerobic_soil_meta_hlife: float = number("days", "Aerobic soil metabolism half-life", gt=0)
    koc: float = number("L/kg-OC", "Organic-carbon partition coefficient Koc", ge=0, le=1e9)
    log_kow: float = number("-", "log10 of the octanol-water partition coefficient", ge=-5, le=12)
    solubility: float = number("mg/L", "Water solubility", gt=0)
    henry_law_const: float = number("atm-m3/mol", "Henry's law constant", gt=0, le=1e3)

    @model_validator(mode="after")
    def _schedules(self) -> "Inputs":
        for scenario in SCENARIOS:
            apps = getattr(self, f"num_apps_{scenario}")
            interval = getattr(self, f"app_interval_{scenario}")
            if apps > 1 and interval < 1:
                raise FieldError(f"app_interval_{scenario}", f"must be at least 1 day when "
                                                             f"num_apps_{scenario} > 1")
            if (apps - 1) * interval > DAYS - 1:
                raise ValueError(f"the last application of the {scenario} scenario (day "
                                 f"{(apps - 1) * interval}) falls after day {DAYS - 1}: reduce "
                                 f"num_apps_{scenario} or app_interval_{scenario}")
        return self



def _accepting_inputs_not_computed(base: type[RunInputs]) -> type[RunInputs]:
    """ubertool's TED takes about 185 more inputs, for the parts this model does not
    compute (species doses, spray drift, plant risk), and EPA's case files send them:
    they are declared (so a misspelt name is still an error), take any scalar, are not
    used, and are left out of the JSON Schema (no form shows them)."""
    names = (Path(__file__).parent / "data" / "ted_not_computed_inputs.csv").read_text().split()[1:]
    note = "ubertool TED input for a part this model does not compute; accepted and not used"
    fields: dict[str, Any] = {name: (SkipJsonSchema[str | None], Field(None, description=note))
                              for name in names}
    return create_model("Inputs", __base__=base, __module__=__name__, **fields)


Inputs = _accepting_inputs_not_computed(Inputs)  # type: ignore[misc]


def _outputs() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for scenario in SCENARIOS:
        for bound in ("upper", "mean"):
            for item, name in FOOD_NAMES.items():
                out[f"out_diet_eec_{bound}_{scenario}_{item}_maxdaily"] = {
                    "description": f"Largest daily {bound}-bound residue on {name}, "
                                   f"{scenario} application scenario", "units": "mg/kg-diet"}
    for scenario in SCENARIOS:
        out[f"out_conc_pore_h2o_{scenario}_maxdaily"] = {
            "description": f"Largest daily concentration in soil pore water, {scenario} scenario",
            "units": "mg/L"}
        out[f"out_conc_puddles_{scenario}_maxdaily"] = {
            "description": f"Largest daily concentration in puddles, {scenario} scenario",
            "units": "mg/L"}
        out[f"out_soil_conc_{scenario}_maxdaily"] = {
            "description": f"Largest daily concentration in soil, {scenario} scenario",
            "units": "mg/kg"}
        out[f"out_diet_eec_{scenario}_soil_inv_maxdaily"] = {
            "description": f"Largest daily concentration in earthworms, {scenario} scenario",
            "units": "mg/kg"}
        out[f"out_conc_dew_{scenario}_maxdaily"] = {
            "description": f"Largest daily concentration in dew on broadleaf plants (at most the "
                           f"solubility), {scenario} scenario", "units": "mg/L"}
        out[f"out_air_conc_{scenario}_maxdaily"] = {
            "description": f"Largest daily air concentration in the crop canopy, {scenario} scenario",
            "units": "mg/L"}
    return out


OUTPUTS = _outputs()

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "chemical_name": "diazinon", "app_rate_min": 0.5, "num_apps_min": 1, "app_interval_min": 0,
    "app_rate_max": 3.0, "num_apps_max": 1, "app_interval_max": 0, "foliar_diss_hlife": 5.3,
    "aerobic_soil_meta_hlife": 34.0, "koc": 618.0, "log_kow": 3.8, "solubility": 65.5,
    "henry_law_const": 4.5e-07,
}


# -- the science, on arrays of runs -----------------------------------------

def application_flags(num_apps: np.ndarray, interval: np.ndarray, days: int = DAYS) -> np.ndarray:
    """(runs, days) booleans: True on day 0 and every ``interval`` days, ``num_apps`` times."""
    num_apps = np.asarray(num_apps, dtype=np.int64)
    interval = np.asarray(interval, dtype=np.int64)
    day = np.arange(days)
    step = np.maximum(interval, 1)[:, None]
    return (day % step == 0) & (day // step < num_apps[:, None]) & \
        ((interval[:, None] > 0) | (day == 0))


def daily_series(initial: np.ndarray, half_life: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """(runs, days): ``initial`` added on each application day, first-order decline between.

    ``initial`` and ``half_life`` are per-run arrays; ``flags`` from :func:`application_flags`.
    """
    initial = np.asarray(initial, dtype=np.float64)
    keep = np.exp(-math.log(2.0) / np.asarray(half_life, dtype=np.float64))
    out = np.empty(flags.shape, dtype=np.float64)
    out[:, 0] = initial
    for day in range(1, flags.shape[1]):
        out[:, day] = out[:, day - 1] * keep + np.where(flags[:, day], initial, 0.0)
    return out


def soil_water_initial(app_rate: np.ndarray, koc: np.ndarray, water_depth: float) -> np.ndarray:
    """Concentration (mg/L) in soil pore water (depth 0) or puddles (1.3 cm) after one application."""
    return app_rate * APP_RATE_CONV / (
        water_depth + SOIL_DEPTH * (SOIL_POROSITY + SOIL_BULK_DENSITY * koc * SOIL_FOC))


def canopy_air_initial(app_rate: np.ndarray, log_kow: np.ndarray, henry: np.ndarray) -> np.ndarray:
    """Air concentration (mg/L) in the canopy after one application (Eqs 24-27)."""
    log_hlc = np.log10(henry / (GAS_CONSTANT * TEMPERATURE))
    log_btf = 1.065 * log_kow - log_hlc - 1.654
    return app_rate * MG_PER_LB_ACRE_HA / (AIR_VOLUME + PLANT_MASS * 10.0 ** log_btf / PLANT_DENSITY)


def dew(blp_residue: np.ndarray, log_kow: np.ndarray, solubility: np.ndarray) -> np.ndarray:
    """Dew concentration (mg/L) from the upper-bound broadleaf residue, capped at the solubility."""
    return np.minimum(blp_residue * FRAC_ON_SURFACE * DENSITY_WATER / (MASS_WAX * 10.0 ** log_kow),
                      solubility)


def soil(pore_water: np.ndarray, koc: np.ndarray) -> np.ndarray:
    return pore_water * SOIL_FOC * koc


def earthworm(pore_water: np.ndarray, log_kow: np.ndarray) -> np.ndarray:
    return pore_water * 10.0 ** log_kow * EARTHWORM_LIPID / EARTHWORM_DENSITY


def _peak(half_life: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """The largest daily value of a series that starts at 1 (each application adds 1)."""
    return daily_series(np.ones(flags.shape[0]), half_life, flags).max(axis=1)


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    foliar, soil_hl = col(columns, "foliar_diss_hlife"), col(columns, "aerobic_soil_meta_hlife")
    koc, log_kow = col(columns, "koc"), col(columns, "log_kow")
    solubility, henry = col(columns, "solubility"), col(columns, "henry_law_const")
    out: dict[str, np.ndarray] = {}
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for scenario in SCENARIOS:
            rate = col(columns, f"app_rate_{scenario}")
            flags = application_flags(col(columns, f"num_apps_{scenario}"),
                                      col(columns, f"app_interval_{scenario}"))
            # every series is its day-0 value times a unit pulse train; the peak scales alike
            foliar_peak, soil_peak = _peak(foliar, flags), _peak(soil_hl, flags)
            for item, (upper, mean) in FOOD_ITEMS.items():
                out[f"out_diet_eec_upper_{scenario}_{item}_maxdaily"] = rate * upper * foliar_peak
                out[f"out_diet_eec_mean_{scenario}_{item}_maxdaily"] = rate * mean * foliar_peak
            pore = soil_water_initial(rate, koc, 0.0) * soil_peak
            out[f"out_conc_pore_h2o_{scenario}_maxdaily"] = pore
            out[f"out_conc_puddles_{scenario}_maxdaily"] = \
                soil_water_initial(rate, koc, PUDDLE_DEPTH) * soil_peak
            out[f"out_soil_conc_{scenario}_maxdaily"] = soil(pore, koc)
            out[f"out_diet_eec_{scenario}_soil_inv_maxdaily"] = earthworm(pore, log_kow)
            out[f"out_conc_dew_{scenario}_maxdaily"] = dew(
                out[f"out_diet_eec_upper_{scenario}_blp_maxdaily"], log_kow, solubility)
            out[f"out_air_conc_{scenario}_maxdaily"] = \
                canopy_air_initial(rate, log_kow, henry) * foliar_peak
    return {name: out[name] for name in OUTPUTS}
