"""BeeREX: screening-level exposure and risk of honey bees to pesticides.

Follows EPA's ubertool ``beerex`` model (BeeREX v1.0). An estimated
environmental concentration (EEC, ug a.i./mg food) is derived from the
application method (foliar spray, soil application, seed treatment or tree
trunk injection), unless empirical residues in pollen, nectar and royal jelly
are supplied. Doses per bee caste/age combine those residues with the food
each caste eats; acute and chronic risk quotients divide the doses by the
larval or adult oral LD50/NOAEL.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import create_model, field_validator, model_validator

from ._common import RunInputs, col, number, text

NAME = "beerex"
TITLE = "BeeREX"
DESCRIPTION = "Honey bee exposure (dose per bee) and acute/chronic risk quotients for pesticides."
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Application": ["application_rate", "application_method", "crop_type", "empirical_residue",
        "empirical_pollen", "empirical_nectar", "empirical_jelly"],
    "Chemical": ["log_kow", "koc", "mass_tree_vegetation"],
    "Toxicity": ["adult_contact_ld50", "adult_oral_ld50", "adult_oral_noael", "larval_ld50", "larval_noael"],
    "Bee food consumption": ["lw1_jelly", "lw2_jelly", "lw3_jelly", "lq1_jelly", "lq2_jelly", "lq3_jelly", "lq4_jelly",
        "aq_jelly", "lw4_nectar", "lw4_pollen", "lw5_nectar", "lw5_pollen", "ld6_nectar",
        "ld6_pollen", "aw_cell_nectar", "aw_cell_pollen", "aw_brood_nectar", "aw_brood_pollen",
        "aw_comb_nectar", "aw_comb_pollen", "aw_fpollen_nectar", "aw_fpollen_pollen",
        "aw_fnectar_nectar", "aw_fnectar_pollen", "aw_winter_nectar", "aw_winter_pollen",
        "ad_nectar", "ad_pollen"],
}

METHODS = ("foliar spray", "soil application", "seed treatment", "tree trunk")

# (output stem, food eaten, life stage) - food names are the input prefixes'
# suffixes: "jelly", or ("nectar", "pollen") pairs.
JELLY_EATERS = ("lw1", "lw2", "lw3", "lq1", "lq2", "lq3", "lq4")
POLLEN_NECTAR_EATERS = {  # output stem -> input stem for its consumption rates
    "lw4": "lw4", "lw5": "lw5", "ld6": "ld6",
    "aw_cell": "aw_cell", "aw_brood": "aw_brood", "aw_comb": "aw_comb",
    "aw_pollen": "aw_fpollen", "aw_nectar": "aw_fnectar", "aw_winter": "aw_winter",
    "ad": "ad",
}
LARVAE = ("lw1", "lw2", "lw3", "lw4", "lw5", "ld6", "lq1", "lq2", "lq3", "lq4")
ADULTS = ("aw_cell", "aw_brood", "aw_comb", "aw_pollen", "aw_nectar", "aw_winter", "ad", "aq")
STAGES = LARVAE + ADULTS

# BeeREX default food consumption (mg/day): jelly, or nectar and pollen.
DEFAULT_JELLY = {"lw1": 1.9, "lw2": 9.4, "lw3": 19.0, "lq1": 1.9, "lq2": 9.4,
                 "lq3": 23.0, "lq4": 141.0, "aq": 525.0}
DEFAULT_NECTAR_POLLEN = {
    "lw4": (60.0, 1.8), "lw5": (120.0, 3.6), "ld6": (130.0, 3.6),
    "aw_cell": (60.0, 6.65), "aw_brood": (140.0, 9.6), "aw_comb": (60.0, 1.7),
    "aw_fpollen": (43.5, 0.041), "aw_fnectar": (292.0, 0.041),
    "aw_winter": (29.0, 2.0), "ad": (235.0, 0.0002),
}


def _consumption_fields() -> dict[str, tuple[type, object]]:
    fields: dict[str, tuple[type, object]] = {}
    for stem, mg in DEFAULT_JELLY.items():
        fields[f"{stem}_jelly"] = (float, number("mg/day", f"Royal jelly eaten by {stem}", mg, ge=0))
    for stem, (nectar, pollen) in DEFAULT_NECTAR_POLLEN.items():
        fields[f"{stem}_nectar"] = (float, number("mg/day", f"Nectar eaten by {stem}", nectar, ge=0))
        fields[f"{stem}_pollen"] = (float, number("mg/day", f"Pollen eaten by {stem}", pollen, ge=0))
    return fields


# The stem-concentration factor -0.0648 x^2 + 0.2431 x + 0.5822 of the soil-uptake
# equation is positive only between its roots, x = -1.66 and 5.41.
SOIL_LOG_KOW = (-1.66, 5.41)


class _Base(RunInputs):
    application_rate: float = number("lb a.i./A (spray, soil); mg a.i./tree (tree trunk)",
                                     "Application rate", ge=0)
    application_method: Literal["foliar spray", "soil application", "seed treatment", "tree trunk"] = \
        text("Application method: foliar spray, soil application, seed treatment or tree trunk")
    crop_type: str | None = text("Crop type (descriptive only)", None)
    empirical_residue: Literal["yes", "no"] = text(
        "Use empirical residues in pollen/nectar/jelly instead of the model EEC: yes or no")
    empirical_pollen: float | None = number("ug a.i./g", "Measured residue in pollen", None, ge=0)
    empirical_nectar: float | None = number("ug a.i./g", "Measured residue in nectar", None, ge=0)
    empirical_jelly: float | None = number("ug a.i./g", "Measured residue in royal jelly", None, ge=0)
    adult_contact_ld50: float | None = number("ug a.i./bee", "Adult contact LD50 (reported only)", None, gt=0)
    adult_oral_ld50: float = number("ug a.i./bee", "Adult acute oral LD50", gt=0)
    adult_oral_noael: float = number("ug a.i./bee", "Adult chronic oral NOAEL", gt=0)
    larval_ld50: float = number("ug a.i./bee", "Larval acute oral LD50", gt=0)
    larval_noael: float = number("ug a.i./bee", "Larval chronic oral NOAEL", gt=0)
    log_kow: float | None = number("-", "log10 octanol-water partition coefficient (soil application)", None)
    koc: float | None = number("mL/g", "Organic carbon partition coefficient (soil application)", None, ge=0)
    mass_tree_vegetation: float | None = number(
        "kg", "Mass of tree vegetation (tree trunk application)", None, gt=0)

    @field_validator("application_method", "empirical_residue", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _needed_for_method(self) -> "_Base":
        if self.empirical_residue == "yes":
            missing = [f for f in ("empirical_pollen", "empirical_nectar", "empirical_jelly")
                       if getattr(self, f) is None]
            if missing:
                raise ValueError(f"empirical_residue 'yes' needs {', '.join(missing)}")
        if self.application_method == "soil application" and (self.log_kow is None or self.koc is None):
            raise ValueError("soil application needs log_kow and koc")
        if self.application_method == "soil application" and not \
                SOIL_LOG_KOW[0] <= self.log_kow <= SOIL_LOG_KOW[1]:  # type: ignore[operator]
            raise ValueError(f"log_kow {self.log_kow} is outside {SOIL_LOG_KOW[0]}..{SOIL_LOG_KOW[1]}, "
                             "where the soil-uptake equation (Briggs) gives a positive concentration")
        if self.application_method == "tree trunk" and self.mass_tree_vegetation is None:
            raise ValueError("tree trunk application needs mass_tree_vegetation")
        return self


def _build_inputs() -> type[_Base]:
    return create_model("Inputs", __base__=_Base, __module__=__name__,  # type: ignore[call-overload]
                        **_consumption_fields())


Inputs = _build_inputs()
Inputs.__doc__ = "One BeeREX run."

OUTPUTS: dict[str, dict[str, str]] = {
    "out_eec_spray": {"description": "EEC for foliar spray", "units": "ug a.i./mg"},
    "out_eec_soil": {"description": "EEC for soil application", "units": "ug a.i./mg"},
    "out_eec_seed": {"description": "EEC for seed treatment", "units": "ug a.i./mg"},
    "out_eec_tree": {"description": "EEC for tree trunk application", "units": "ug a.i./mg"},
    "out_eec": {"description": "EEC of the chosen application method", "units": "ug a.i./mg"},
}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "version": "1", "chemical_name": "imidacloprid", "pc_code": "129099", "application_rate": 3.0,
    "application_method": "soil application", "empirical_residue": "no",
    "adult_contact_ld50": 0.043, "adult_oral_ld50": 0.0039, "adult_oral_noael": 0.00016,
    "larval_ld50": 0.005, "larval_noael": 0.0018, "log_kow": 0.56820172, "koc": 318.0,
    "lw1_jelly": 1.9, "lw2_jelly": 9.4, "lw3_jelly": 19.0, "lw4_nectar": 60.0, "lw4_pollen": 1.8,
    "lw5_nectar": 120.0, "lw5_pollen": 3.6, "ld6_nectar": 130.0, "ld6_pollen": 3.6,
    "lq1_jelly": 1.9, "lq2_jelly": 9.4, "lq3_jelly": 23.0, "lq4_jelly": 141.0,
    "aw_cell_nectar": 60.0, "aw_cell_pollen": 6.65, "aw_brood_nectar": 140.0,
    "aw_brood_pollen": 9.6, "aw_comb_nectar": 60.0, "aw_comb_pollen": 1.7,
    "aw_fpollen_nectar": 43.5, "aw_fpollen_pollen": 0.041, "aw_fnectar_nectar": 292.0,
    "aw_fnectar_pollen": 0.041, "aw_winter_nectar": 29.0, "aw_winter_pollen": 2.0,
    "ad_nectar": 235.0, "ad_pollen": 0.0002, "aq_jelly": 525.0,
}
for _stage in STAGES:
    OUTPUTS[f"out_{_stage}_total_dose"] = {"description": f"Total dose, {_stage}", "units": "ug a.i./bee"}
for _kind in ("acute", "chronic"):
    for _stage in STAGES:
        OUTPUTS[f"out_{_stage}_{_kind}_rq"] = {"description": f"{_kind.capitalize()} risk quotient, {_stage}",
                                                "units": "-"}

# Risk at a glance (flask_qed.risk): EPA's levels of concern for bees, 0.4 for an acute
# and 1.0 for a chronic RQ (as EPA's BeeREX tool compares them).
_BEE = "EPA's BeeREX tool and Guidance for Assessing Pesticide Risks to Bees (2014)"
LOCS = {"bee_acute": {"level": 0.4, "label": "bee acute", "source": _BEE},
        "bee_chronic": {"level": 1.0, "label": "bee chronic", "source": _BEE}}
RISK = {f"out_{stage}_{kind}_rq": [f"bee_{kind}"] for kind in ("acute", "chronic") for stage in STAGES}
GLOSSARY = {"lw1": "larval worker, day 1 (lw2 … lw5: days 2 to 5)", "ld6": "larval drone, day 6",
            "lq1": "larval queen, day 1 (lq2 … lq4: days 2 to 4)", "aw": "adult worker", "ad": "adult drone",
            "aq": "adult queen", "cell": "cell cleaning", "brood": "brood and queen tending, nurse bees",
            "comb": "comb building", "pollen": "pollen foraging", "nectar": "nectar foraging",
            "winter": "inside the hive in winter", "eec": "estimated environmental concentration"}


def eec_by_method(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """EEC (ug/mg) for each application method; NaN for runs not using that method."""
    method = columns["application_method"].astype(str)
    rate = col(columns, "application_rate")
    n = len(rate)
    log_kow = col(columns, "log_kow") if "log_kow" in columns else np.full(n, np.nan)
    koc = col(columns, "koc") if "koc" in columns else np.full(n, np.nan)
    tree = col(columns, "mass_tree_vegetation") if "mass_tree_vegetation" in columns else np.full(n, np.nan)
    with np.errstate(all="ignore"):
        spray = 110.0 * rate / 1000.0
        soil = ((10.0 ** (0.95 * log_kow - 2.05) + 0.82)
                * (-0.0648 * log_kow ** 2 + 0.2431 * log_kow + 0.5822)
                * (1.5 / (0.2 + 1.5 * koc * 0.01))
                * (0.5 * rate)) / 1000.0
        seed = np.full(n, 1.0 / 1000.0)
        trunk = rate / tree / 1000.0
    out = {}
    for key, values, name in (("spray", spray, "foliar spray"), ("soil", soil, "soil application"),
                              ("seed", seed, "seed treatment"), ("tree", trunk, "tree trunk")):
        out[f"out_eec_{key}"] = np.where(method == name, values, np.nan)
    out["out_eec"] = np.select([method == m for m in METHODS],
                               [out["out_eec_spray"], out["out_eec_soil"],
                                out["out_eec_seed"], out["out_eec_tree"]], np.nan)
    return out


def total_doses(columns: dict[str, np.ndarray], eec: np.ndarray) -> dict[str, np.ndarray]:
    """Dose per bee (ug) from model EEC or, where asked, empirical residues (ug/g -> ug/mg)."""
    n = len(eec)
    empirical = columns["empirical_residue"].astype(str) == "yes"

    def residue(name: str) -> np.ndarray:
        return col(columns, name) / 1000.0 if name in columns else np.full(n, np.nan)

    # model EEC: jelly gets 1/100 of the pollen/nectar EEC (ubertool's factor)
    jelly = np.where(empirical, residue("empirical_jelly"), eec / 100.0)
    pollen = np.where(empirical, residue("empirical_pollen"), eec)
    nectar = np.where(empirical, residue("empirical_nectar"), eec)
    doses = {stem: jelly * col(columns, f"{stem}_jelly") for stem in JELLY_EATERS}
    for stem, food in POLLEN_NECTAR_EATERS.items():
        doses[stem] = pollen * col(columns, f"{food}_pollen") + nectar * col(columns, f"{food}_nectar")
    doses["aq"] = jelly * col(columns, "aq_jelly")
    return doses


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = eec_by_method(columns)
    doses = total_doses(columns, out["out_eec"])
    for stage in STAGES:
        out[f"out_{stage}_total_dose"] = doses[stage]
    endpoints = {
        "acute": (col(columns, "larval_ld50"), col(columns, "adult_oral_ld50")),
        "chronic": (col(columns, "larval_noael"), col(columns, "adult_oral_noael")),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        for kind, (larval, adult) in endpoints.items():
            for stage in STAGES:
                endpoint = larval if stage in LARVAE else adult
                out[f"out_{stage}_{kind}_rq"] = doses[stage] / endpoint
    return out
