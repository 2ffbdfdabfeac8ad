"""SIP (Screening Imbibition Program): pesticide exposure via drinking water alone.

Science from EPA's ubertool ``sip`` model. An upper-bound dose is
the daily water intake of a 20 g bird or a 1000 g mammal drinking water
saturated with the pesticide (its solubility). That dose is compared with
acute (LD50) and chronic (NOAEC / NOAEL) toxicity values adjusted to the body
weight of the assessed animal, as in T-REX:

* avian LD50:  AT = LD50 * (AW / TW) ** (x - 1), x = Mineau scaling factor;
* mammal LD50 and NOAEL:  AT = value * (TW / AW) ** 0.25;
* avian NOAEC (mg/kg-diet) -> dose equivalent: NOAEC * FI / TW, with the food
  intake FI = 0.0582 * TW[kg] ** 0.651; the lowest over the tested species is used.

Acute ratios >= 0.1 and chronic ratios >= 1 are a potential concern.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import field_validator, model_validator

from ._common import RunInputs, col, number, text

NAME = "sip"
TITLE = "SIP"
DESCRIPTION = ("Screening Imbibition Program: upper-bound exposure of birds and mammals to a "
               "pesticide through drinking water alone.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Chemical": ["solubility"],
    "Mammals": ["ld50_mammal_water", "ld50_species_tested_mammal", "ld50_bodyweight_tested_mammal_other",
        "noael_mammal_water", "noael_species_tested_mammal", "noael_bodyweight_tested_mammal_other"],
    "Birds": ["ld50_avian_water", "ld50_species_tested_bird", "ld50_bodyweight_tested_bird_other",
        "mineau_scaling_factor", "noaec_duck", "noaec_quail", "noaec_bird_other_1",
        "noaec_bodyweight_bird_other_1", "noaec_bird_other_2", "noaec_bodyweight_bird_other_2"],
}

FW_BIRD = 0.0162        # L/day drunk by a 20 g passerine bird: 1.180 * 20**0.874 / 1000
FW_MAMMAL = 0.172       # L/day drunk by a 1000 g herbivorous mammal: 0.708 * 1000**0.795 / 1000
BW_ASSESSED_BIRD = 20.0       # g
BW_ASSESSED_MAMMAL = 1000.0   # g
BW_TESTED = {"laboratory rat": 350.0, "mallard duck": 1580.0, "bobwhite quail": 178.0}  # g
MAMMAL_SPECIES = ("laboratory rat", "other")
BIRD_SPECIES = ("bobwhite quail", "mallard duck", "other")


class Inputs(RunInputs):
    solubility: float = number("mg/L", "Water solubility of the pesticide", ge=0)
    ld50_mammal_water: float = number("mg/kg-bw", "Mammalian acute oral LD50", gt=0)
    ld50_species_tested_mammal: str = text(f"Species tested for the mammalian LD50: {MAMMAL_SPECIES}")
    ld50_bodyweight_tested_mammal_other: float | None = number(
        "g", "Body weight of the tested mammal when the species is 'other'", None, gt=0)
    noael_mammal_water: float = number("mg/kg-bw", "Mammalian chronic NOAEL", gt=0)
    noael_species_tested_mammal: str = text(f"Species tested for the mammalian NOAEL: {MAMMAL_SPECIES}")
    noael_bodyweight_tested_mammal_other: float | None = number(
        "g", "Body weight of the tested mammal (NOAEL) when the species is 'other'", None, gt=0)
    ld50_avian_water: float = number("mg/kg-bw", "Avian acute oral LD50", gt=0)
    ld50_species_tested_bird: str = text(f"Species tested for the avian LD50: {BIRD_SPECIES}")
    ld50_bodyweight_tested_bird_other: float | None = number(
        "g", "Body weight of the tested bird when the species is 'other'", None, gt=0)
    mineau_scaling_factor: float = number("-", "Mineau scaling factor (default 1.15)", gt=0, le=3)
    noaec_duck: float = number("mg/kg-diet", "Mallard duck chronic NOAEC", gt=0)
    noaec_quail: float = number("mg/kg-diet", "Bobwhite quail chronic NOAEC", gt=0)
    noaec_bird_other_1: float | None = number("mg/kg-diet", "Chronic NOAEC, other bird species 1",
                                              None, gt=0)
    noaec_bodyweight_bird_other_1: float | None = number("g", "Body weight of other bird species 1",
                                                         None, gt=0)
    noaec_bird_other_2: float | None = number("mg/kg-diet", "Chronic NOAEC, other bird species 2",
                                              None, gt=0)
    noaec_bodyweight_bird_other_2: float | None = number("g", "Body weight of other bird species 2",
                                                         None, gt=0)

    @field_validator("ld50_species_tested_mammal", "noael_species_tested_mammal")
    @classmethod
    def _mammal_species(cls, value: str) -> str:
        return _species(value, MAMMAL_SPECIES)

    @field_validator("ld50_species_tested_bird")
    @classmethod
    def _bird_species(cls, value: str) -> str:
        return _species(value, BIRD_SPECIES)

    @model_validator(mode="after")
    def _other_species_weights(self) -> "Inputs":
        for species, weight in (("ld50_species_tested_mammal", "ld50_bodyweight_tested_mammal_other"),
                                ("noael_species_tested_mammal", "noael_bodyweight_tested_mammal_other"),
                                ("ld50_species_tested_bird", "ld50_bodyweight_tested_bird_other")):
            if getattr(self, species) == "other" and getattr(self, weight) is None:
                raise ValueError(f"{weight} is required when {species} is 'other'")
        for i in (1, 2):
            noaec, weight = f"noaec_bird_other_{i}", f"noaec_bodyweight_bird_other_{i}"
            if (getattr(self, noaec) is None) != (getattr(self, weight) is None):
                raise ValueError(f"{noaec} and {weight} must be given together")
        return self


def _species(value: Any, allowed: tuple[str, ...]) -> str:
    name = " ".join(str(value).split()).lower()
    if name not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return name


OUTPUTS = {
    "out_fw_bird": {"description": "Daily water intake of a 20 g bird", "units": "L/day"},
    "out_fw_mamm": {"description": "Daily water intake of a 1000 g mammal", "units": "L/day"},
    "out_dose_bird": {"description": "Upper bound drinking water dose, birds", "units": "mg/kg-bw"},
    "out_dose_mamm": {"description": "Upper bound drinking water dose, mammals", "units": "mg/kg-bw"},
    "out_at_bird": {"description": "Adjusted acute toxicity value (LD50), birds", "units": "mg/kg-bw"},
    "out_at_mamm": {"description": "Adjusted acute toxicity value (LD50), mammals", "units": "mg/kg-bw"},
    "out_det": {"description": "Lowest dose-equivalent chronic toxicity value, birds",
                "units": "mg/kg-bw"},
    "out_act": {"description": "Adjusted chronic toxicity value (NOAEL), mammals", "units": "mg/kg-bw"},
    "out_acute_bird": {"description": "Acute dose / adjusted LD50 ratio, birds", "units": "-"},
    "out_acuconb": {"description": "Acute level of concern, birds", "units": "text"},
    "out_acute_mamm": {"description": "Acute dose / adjusted LD50 ratio, mammals", "units": "-"},
    "out_acuconm": {"description": "Acute level of concern, mammals", "units": "text"},
    "out_chron_bird": {"description": "Chronic dose / dose-equivalent toxicity ratio, birds",
                       "units": "-"},
    "out_chronconb": {"description": "Chronic level of concern, birds", "units": "text"},
    "out_chron_mamm": {"description": "Chronic dose / adjusted NOAEL ratio, mammals", "units": "-"},
    "out_chronconm": {"description": "Chronic level of concern, mammals", "units": "text"},
}

# Risk at a glance (flask_qed.risk): ubertool's SIP calls drinking water an exposure route
# of concern when the acute ratio is at or above 0.1 or the chronic ratio at or above 1.
_SIP = "EPA's SIP (ubertool: an acute ratio >= 0.1, a chronic ratio >= 1 is a concern)"
LOCS = {"sip_acute": {"level": 0.1, "label": "drinking water, acute", "source": _SIP},
        "sip_chronic": {"level": 1.0, "label": "drinking water, chronic", "source": _SIP}}
RISK = {"out_acute_bird": ["sip_acute"], "out_acute_mamm": ["sip_acute"],
        "out_chron_bird": ["sip_chronic"], "out_chron_mamm": ["sip_chronic"]}
GLOSSARY = {"fw": "daily water intake", "at": "adjusted acute toxicity value (LD50)",
            "det": "dose-equivalent chronic toxicity value", "act": "adjusted chronic toxicity value (NOAEL)",
            "chron": "chronic", "acucon": "acute level of concern", "chroncon": "chronic level of concern"}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "chemical_name": "Atrazine", "pc_code": "80803", "solubility": 35.0,
    "ld50_mammal_water": 1869.0, "ld50_species_tested_mammal": "laboratory rat",
    "noael_mammal_water": 10.0, "noael_species_tested_mammal": "laboratory rat",
    "ld50_avian_water": 4237.0, "ld50_species_tested_bird": "bobwhite quail",
    "mineau_scaling_factor": 1.15, "noaec_duck": 225.0, "noaec_quail": 225.0,
}


def concern(ratio: np.ndarray, limit: float, animals: str) -> np.ndarray:
    """ubertool's message per run: not a concern below ``limit``, a concern otherwise."""
    return np.where(ratio < limit,
                    f"Drinking water exposure alone is NOT a potential concern for {animals}",
                    f"Exposure through drinking water alone is a potential concern for {animals}")


def tested_weight(species: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Body weight (g) of the tested animal: the standard species' or the user's 'other'."""
    weight = other.copy()
    for name, grams in BW_TESTED.items():
        weight[species == name] = grams
    return weight


def dose_equivalent(noaec: np.ndarray, weight_g: np.ndarray) -> np.ndarray:
    """Avian NOAEC (mg/kg-diet) as a dose (mg/kg-bw) through the test bird's food intake."""
    weight_kg = weight_g / 1000.0
    food_intake = 0.0582 * weight_kg ** 0.651
    return noaec * food_intake / weight_kg


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    n = len(columns["solubility"])
    solubility = col(columns, "solubility")
    fw_bird, fw_mamm = np.full(n, FW_BIRD), np.full(n, FW_MAMMAL)
    dose_bird = fw_bird * solubility / (BW_ASSESSED_BIRD / 1000.0)
    dose_mamm = fw_mamm * solubility / (BW_ASSESSED_MAMMAL / 1000.0)

    tw_bird = tested_weight(columns["ld50_species_tested_bird"],
                            col(columns, "ld50_bodyweight_tested_bird_other"))
    tw_ld50 = tested_weight(columns["ld50_species_tested_mammal"],
                            col(columns, "ld50_bodyweight_tested_mammal_other"))
    tw_noael = tested_weight(columns["noael_species_tested_mammal"],
                             col(columns, "noael_bodyweight_tested_mammal_other"))
    at_bird = col(columns, "ld50_avian_water") * (BW_ASSESSED_BIRD / tw_bird) ** (
        col(columns, "mineau_scaling_factor") - 1.0)
    at_mamm = col(columns, "ld50_mammal_water") * (tw_ld50 / BW_ASSESSED_MAMMAL) ** 0.25
    act = col(columns, "noael_mammal_water") * (tw_noael / BW_ASSESSED_MAMMAL) ** 0.25

    candidates = np.vstack([
        dose_equivalent(col(columns, "noaec_quail"), np.full(n, BW_TESTED["bobwhite quail"])),
        dose_equivalent(col(columns, "noaec_duck"), np.full(n, BW_TESTED["mallard duck"])),
        dose_equivalent(col(columns, "noaec_bird_other_1"),
                        col(columns, "noaec_bodyweight_bird_other_1")),
        dose_equivalent(col(columns, "noaec_bird_other_2"),
                        col(columns, "noaec_bodyweight_bird_other_2")),
    ])
    det = np.fmin.reduce(candidates, axis=0)  # NaN (species not given) is skipped

    with np.errstate(divide="ignore", invalid="ignore"):
        acute_bird, acute_mamm = dose_bird / at_bird, dose_mamm / at_mamm
        chron_bird, chron_mamm = dose_bird / det, dose_mamm / act
    return {
        "out_fw_bird": fw_bird, "out_fw_mamm": fw_mamm,
        "out_dose_bird": dose_bird, "out_dose_mamm": dose_mamm,
        "out_at_bird": at_bird, "out_at_mamm": at_mamm, "out_det": det, "out_act": act,
        "out_acute_bird": acute_bird, "out_acuconb": concern(acute_bird, 0.1, "birds"),
        "out_acute_mamm": acute_mamm, "out_acuconm": concern(acute_mamm, 0.1, "mammals"),
        "out_chron_bird": chron_bird, "out_chronconb": concern(chron_bird, 1.0, "birds"),
        "out_chron_mamm": chron_mamm, "out_chronconm": concern(chron_mamm, 1.0, "mammals"),
    }

