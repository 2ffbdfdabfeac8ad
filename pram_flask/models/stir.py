"""STIR (Screening Tool for Inhalation Risk): inhalation risk to birds and mammals.

Science from EPA's ubertool ``stir`` model. Two routes are screened:

* vapour: the saturated air concentration of the pesticide, breathed for one
  hour at three times the resting inhalation rate (birds: 284 * BW**0.77,
  mammals: 379 * BW**0.8 cm3/min, BW in kg);
* spray droplets: the application rate spread through an air column of the
  given height, breathed for the direct spray duration.

Doses are compared with inhalation LD50s: the mammalian inhalation LC50 is
converted to a dose and scaled to the assessed body weight (exponent 0.25); the
avian value is estimated from the avian/mammal oral LD50 ratio (divided by 3.5)
and scaled with the Mineau factor. Ratios of 0.1 or more call for refinement.
"""
from __future__ import annotations

import numpy as np

from ._common import RunInputs, col, number

NAME = "stir"
TITLE = "STIR"
DESCRIPTION = ("Screening Tool for Inhalation Risk: vapour and spray droplet inhalation doses "
               "of a pesticide for birds and mammals compared with inhalation toxicity.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Chemical": ["application_rate", "column_height", "spray_drift_fraction", "direct_spray_duration",
        "molecular_weight", "vapor_pressure"],
    "Birds": ["avian_oral_ld50", "body_weight_assessed_bird", "body_weight_tested_bird",
        "mineau_scaling_factor"],
    "Mammals": ["mammal_inhalation_lc50", "duration_mammal_inhalation_study", "body_weight_assessed_mammal",
        "body_weight_tested_mammal", "mammal_oral_ld50"],
}

MOLAR_VOLUME = 24.45          # L/mol of air at 25 C and 1 atm
STANDARD_PRESSURE = 760.0     # torr
ACTIVITY_FACTOR = 3.0         # active-animal multiplier on the resting inhalation rate
MG_PER_LB = 453.59237 * 1000.0
CM2_PER_ACRE = 40468564.2


class Inputs(RunInputs):
    application_rate: float = number("lbs a.i./acre", "Application rate", ge=0)
    column_height: float = number("m", "Height of the air column the spray mixes into", gt=0)
    spray_drift_fraction: float = number("-", "Fraction of the application that is inhalable spray drift",
                                         ge=0, le=1)
    direct_spray_duration: float = number("min", "Duration of direct spray inhalation", ge=0)
    molecular_weight: float = number("g/mol", "Molecular weight", gt=0)
    vapor_pressure: float = number("torr", "Vapour pressure", ge=0)
    avian_oral_ld50: float = number("mg/kg-bw", "Avian oral LD50", gt=0)
    body_weight_assessed_bird: float = number("kg", "Body weight of the assessed bird", gt=0)
    body_weight_tested_bird: float = number("kg", "Body weight of the tested bird", gt=0)
    mineau_scaling_factor: float = number("-", "Mineau scaling factor", gt=0, le=3)
    mammal_inhalation_lc50: float = number("mg/L", "Mammalian inhalation LC50", gt=0)
    duration_mammal_inhalation_study: float = number("hr", "Duration of the mammalian inhalation study",
                                                     gt=0)
    body_weight_assessed_mammal: float = number("kg", "Body weight of the assessed mammal", gt=0)
    body_weight_tested_mammal: float = number("kg", "Body weight of the tested mammal", gt=0)
    mammal_oral_ld50: float = number("mg/kg-bw", "Mammalian oral LD50", gt=0)


_RATIOS = {
    "vid_avian": "avian vapour inhalation dose / adjusted avian inhalation LD50",
    "sid_avian": "avian spray droplet inhalation dose / adjusted avian inhalation LD50",
    "vid_mammal": "mammalian vapour inhalation dose / adjusted mammalian inhalation LD50",
    "sid_mammal": "mammalian spray droplet inhalation dose / adjusted mammalian inhalation LD50",
}

OUTPUTS = {
    "out_sat_air_conc": {"description": "Saturated air concentration", "units": "mg/m3"},
    "out_inh_rate_avian": {"description": "Avian inhalation rate (active)", "units": "cm3/hr"},
    "out_vid_avian": {"description": "Maximum avian vapour inhalation dose", "units": "mg/kg-bw"},
    "out_inh_rate_mammal": {"description": "Mammalian inhalation rate (active)", "units": "cm3/hr"},
    "out_vid_mammal": {"description": "Maximum mammalian vapour inhalation dose", "units": "mg/kg-bw"},
    "out_ar2": {"description": "Application rate", "units": "mg/cm2"},
    "out_air_conc": {"description": "Air column concentration after spray", "units": "mg/cm3"},
    "out_sid_avian": {"description": "Avian spray droplet inhalation dose", "units": "mg/kg-bw"},
    "out_sid_mammal": {"description": "Mammalian spray droplet inhalation dose", "units": "mg/kg-bw"},
    "out_cf": {"description": "Mammalian LC50 to LD50 conversion factor", "units": "L/(hr kg-bw)"},
    "out_mammal_inhalation_ld50": {"description": "Mammalian inhalation LD50", "units": "mg/kg-bw"},
    "out_adjusted_mammal_inhalation_ld50": {"description": "Adjusted mammalian inhalation LD50",
                                            "units": "mg/kg-bw"},
    "out_estimated_avian_inhalation_ld50": {"description": "Estimated avian inhalation LD50",
                                            "units": "mg/kg-bw"},
    "out_adjusted_avian_inhalation_ld50": {"description": "Adjusted avian inhalation LD50",
                                           "units": "mg/kg-bw"},
    **{f"out_ratio_{k}": {"description": f"Ratio of {v}", "units": "-"} for k, v in _RATIOS.items()},
    **{f"out_loc_{k}": {"description": f"Level of concern for the ratio of {v}", "units": "text"}
       for k, v in _RATIOS.items()},
}

# Risk at a glance (flask_qed.risk): ubertool's STIR calls an inhalation ratio at or above
# 0.1 a reason to proceed to refinements (below it, exposure is not likely significant).
LOCS = {"stir": {"level": 0.1, "label": "inhalation (proceed to refinements)",
                 "source": "EPA's STIR (ubertool: a ratio >= 0.1 means proceed to refinements)"}}
RISK = {f"out_ratio_{k}": ["stir"] for k in _RATIOS}
GLOSSARY = {"vid": "vapour inhalation dose", "sid": "spray droplet inhalation dose",
            "ar2": "application rate", "cf": "conversion factor", "sat_air_conc": "saturated air concentration"}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "chemical_name": "Quinoxyfen", "application_rate": 0.107, "molecular_weight": 308.14,
    "vapor_pressure": 9e-08, "column_height": 3.3, "spray_drift_fraction": 0.9,
    "direct_spray_duration": 1.5, "avian_oral_ld50": 2292.0, "body_weight_assessed_bird": 0.02,
    "body_weight_tested_bird": 0.178, "mineau_scaling_factor": 1.15, "mammal_oral_ld50": 5000.0,
    "mammal_inhalation_lc50": 3.38, "duration_mammal_inhalation_study": 4.0,
    "body_weight_assessed_mammal": 0.015, "body_weight_tested_mammal": 0.35,
}


def inhalation_rate(body_weight_kg: np.ndarray, coefficient: float, exponent: float) -> np.ndarray:
    """Active inhalation rate (cm3/hr) from the allometric resting rate (cm3/min)."""
    return coefficient * body_weight_kg ** exponent * 60.0 * ACTIVITY_FACTOR


def level_of_concern(ratio: np.ndarray) -> np.ndarray:
    return np.where(ratio < 0.1, "Exposure not Likely Significant", "Proceed to Refinements")


def exposure(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Vapour and spray droplet inhalation doses (equations 1-8)."""
    bw_bird = col(columns, "body_weight_assessed_bird")
    bw_mammal = col(columns, "body_weight_assessed_mammal")
    sat_air_conc = (col(columns, "vapor_pressure") * col(columns, "molecular_weight") * 1e6
                    / (STANDARD_PRESSURE * MOLAR_VOLUME))
    rate_bird = inhalation_rate(bw_bird, 284.0, 0.77)
    rate_mammal = inhalation_rate(bw_mammal, 379.0, 0.8)
    ar2 = col(columns, "application_rate") * MG_PER_LB / CM2_PER_ACRE
    air_conc = ar2 / (col(columns, "column_height") * 100.0)
    droplet_hours = col(columns, "direct_spray_duration") / 60.0 * col(columns, "spray_drift_fraction")
    return {
        "out_sat_air_conc": sat_air_conc,
        "out_inh_rate_avian": rate_bird,
        "out_vid_avian": sat_air_conc * rate_bird / (1e6 * bw_bird),  # one hour, cm3 -> m3
        "out_inh_rate_mammal": rate_mammal,
        "out_vid_mammal": sat_air_conc * rate_mammal / (1e6 * bw_mammal),
        "out_ar2": ar2, "out_air_conc": air_conc,
        "out_sid_avian": air_conc * rate_bird * droplet_hours / bw_bird,
        "out_sid_mammal": air_conc * rate_mammal * droplet_hours / bw_mammal,
    }


def toxicity(columns: dict[str, np.ndarray], rate_mammal: np.ndarray) -> dict[str, np.ndarray]:
    """Inhalation LD50s for mammals and birds, adjusted to the assessed body weights (eq. 9-12)."""
    tested_mammal = col(columns, "body_weight_tested_mammal")
    cf = rate_mammal * 0.001 / tested_mammal
    mammal_ld50 = (col(columns, "mammal_inhalation_lc50") * cf
                   * col(columns, "duration_mammal_inhalation_study"))
    avian_ld50 = col(columns, "avian_oral_ld50") * mammal_ld50 / (3.5 * col(columns, "mammal_oral_ld50"))
    bird_ratio = col(columns, "body_weight_assessed_bird") / col(columns, "body_weight_tested_bird")
    return {
        "out_cf": cf,
        "out_mammal_inhalation_ld50": mammal_ld50,
        "out_adjusted_mammal_inhalation_ld50":
            mammal_ld50 * (tested_mammal / col(columns, "body_weight_assessed_mammal")) ** 0.25,
        "out_estimated_avian_inhalation_ld50": avian_ld50,
        "out_adjusted_avian_inhalation_ld50":
            avian_ld50 * bird_ratio ** (col(columns, "mineau_scaling_factor") - 1.0),
    }


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = exposure(columns)
    out.update(toxicity(columns, out["out_inh_rate_mammal"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        for key in _RATIOS:
            animal = key.split("_")[1]
            ratio = out[f"out_{key}"] / out[f"out_adjusted_{animal}_inhalation_ld50"]
            out[f"out_ratio_{key}"] = ratio
            out[f"out_loc_{key}"] = level_of_concern(ratio)
    return out
