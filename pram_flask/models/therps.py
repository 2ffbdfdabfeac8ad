"""T-HERPS: dietary exposure of terrestrial-phase amphibians and reptiles (EPA ubertool ``therps``).

``num_apps`` equal applications of ``application_rate`` every ``app_interval``
days from day 1 leave Kenaga residues (upper-bound and mean multipliers) on
broadleaf plants/small insects, fruits/pods/large insects and short grass,
which dissipate with the foliar half-life.  Herptiles eat the plants and
insects directly, or herbivorous/insectivorous mammals and small
terrestrial-phase amphibians that ate them.  Bird toxicity data stand in for
herptiles (LD50 scaled by Mineau's factor, LC50, NOAEC).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import model_validator

from flask_qed import FieldError

from ..science import dietary as d
from ._common import BirdToxicityInputs, col, number, text

NAME = "therps"
TITLE = "T-HERPS"
DESCRIPTION = "Dietary exposure and risk quotients for terrestrial-phase amphibians and reptiles."
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Chemical": ["percent_act_ing", "foliar_diss_hlife"],
    "Application": ["use", "formu_name", "application_rate", "num_apps", "app_interval"],
    "Birds": ["ld50_bird", "mineau_sca_fact"],
    "Herptiles": ["bw_frog_prey_mamm", "bw_frog_prey_herp", "aw_herp_sm", "awc_herp_sm", "aw_herp_md",
        "awc_herp_md", "aw_herp_lg", "awc_herp_lg"],
}

SIZES = {"sm": "small", "md": "medium", "lg": "large"}
FOODS = {"bl": "bp", "fr": "fp"}           # herptile output code -> Kenaga food item
PREY = {"hm": "sg", "im": "fp"}            # herbivorous / insectivorous mammal prey -> their food
PREY_SIZES = ("md", "lg")                  # only medium and large herptiles eat vertebrate prey
VARIANTS = {"": d.FOOD_INIT, "_mean": d.FOOD_MEAN}
DOSE_NAME = {"bl": "bp", "fr": "fr", "hm": "hm", "im": "im", "tp": "tp"}  # ubertool's dose output codes


class Inputs(BirdToxicityInputs):
    use: str | None = text("Crop or use site (descriptive only)", None)
    formu_name: str | None = text("Formulation name (descriptive only)", None)
    percent_act_ing: float = number("%", "Active ingredient in the product", ge=0, le=100)
    application_rate: float = number("lb a.i./acre", "Rate of each application", ge=0)
    num_apps: int = number("-", "Number of applications", ge=1, le=d.DAYS_IN_YEAR)
    app_interval: int = number("days", "Days between applications", ge=0, le=d.DAYS_IN_YEAR)
    foliar_diss_hlife: float = number("days", "Foliar dissipation half-life", gt=0)
    ld50_bird: float = number("mg/kg-bw", "Avian acute oral LD50 (surrogate for herptiles)", gt=0)
    mineau_sca_fact: float = number("-", "Mineau scaling factor for birds", ge=0, le=3)
    bw_frog_prey_mamm: float = number("g", "Body weight of the mammal eaten by the herptile", gt=0)
    bw_frog_prey_herp: float = number("g", "Body weight of the amphibian eaten by the herptile", gt=0)
    aw_herp_sm: float = number("g", "Body weight of the small assessed herptile", gt=0)
    awc_herp_sm: float = number("%", "Water content of the small herptile's diet", ge=0, lt=100)
    aw_herp_md: float = number("g", "Body weight of the medium assessed herptile", gt=0)
    awc_herp_md: float = number("%", "Water content of the medium herptile's diet", ge=0, lt=100)
    aw_herp_lg: float = number("g", "Body weight of the large assessed herptile", gt=0)
    awc_herp_lg: float = number("%", "Water content of the large herptile's diet", ge=0, lt=100)

    @model_validator(mode="after")
    def _schedule(self) -> "Inputs":
        if self.num_apps > 1 and self.app_interval < 1:
            raise FieldError("app_interval", "must be at least 1 day when num_apps > 1")
        last = 1 + (self.num_apps - 1) * self.app_interval
        if self.num_apps > 1 and last > d.DAYS_IN_YEAR:
            raise ValueError(f"the last application (day {last}) falls after day {d.DAYS_IN_YEAR}: "
                             "reduce num_apps or app_interval")
        return self


def _outputs() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, str]] = {}
    for sz, size in SIZES.items():
        out[f"out_ld50_ad_{sz}"] = {"description": f"Adjusted LD50, {size} herptile", "units": "mg/kg-bw"}
    for var, label in (("", "upper-bound"), ("_mean", "mean")):
        for food in (*FOODS, *PREY, "tp"):
            sizes = SIZES if food in FOODS else dict.fromkeys(PREY_SIZES)
            for sz in sizes:
                out[f"out_eec_dose_{DOSE_NAME[food]}_{sz}{var}"] = {
                    "description": f"Dose-based EEC ({label}), {SIZES[sz]} herptile eating {food}",
                    "units": "mg/kg-bw"}
                out[f"out_arq_dose_{DOSE_NAME[food]}_{sz}{var}"] = {
                    "description": f"Acute dose RQ ({label}), {SIZES[sz]} herptile eating {food}", "units": "-"}
        for food in (*FOODS, *PREY, "tp"):
            out[f"out_eec_diet_herp_{food}{var}"] = {
                "description": f"Dietary EEC ({label}) of herptiles eating {food}", "units": "mg/kg-diet"}
            out[f"out_eec_arq_herp_{food}{var}"] = {
                "description": f"Acute dietary RQ ({label}), herptiles eating {food}", "units": "-"}
            out[f"out_eec_crq_herp_{food}{var}"] = {
                "description": f"Chronic dietary RQ ({label}), herptiles eating {food}", "units": "-"}
    return out


OUTPUTS = _outputs()

# Risk at a glance (flask_qed.risk): each RQ against EPA's levels of concern for
# terrestrial animals — an acute RQ against the acute (0.5), acute restricted-use (0.2)
# and acute endangered-species (0.1) LOCs, a chronic RQ against the chronic LOC (1.0).
_ACUTE = ["acute", "acute_restricted", "acute_endangered"]
RISK = {name: ["chronic"] if "chronic" in spec["description"].lower() else _ACUTE
        for name, spec in OUTPUTS.items() if " RQ" in spec["description"]}
GLOSSARY = {"herp": "herptiles (reptiles and terrestrial-phase amphibians)", "bl": "broadleaf plants",
            "bp": "broadleaf plants", "fr": "fruits and pods", "hm": "herbivorous mammals",
            "im": "insectivorous mammals", "tp": "terrestrial-phase amphibians", "mean": "mean residues (else upper-bound)"}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "chemical_name": "Fluxapyroxad", "use": "Dried shelled beans (except soybeans)",
    "percent_act_ing": 100.0, "application_rate": 0.18, "num_apps": 2, "app_interval": 7,
    "foliar_diss_hlife": 35.0, "ld50_bird": 2000.0,
    "species_of_the_tested_bird_avian_ld50": "Bobwhite quail", "tw_bird_ld50": 178.0,
    "lc50_bird": 2457.0, "species_of_the_tested_bird_avian_lc50": "Bobwhite quail",
    "tw_bird_lc50": 178.0, "noaec_bird": 100.0,
    "species_of_the_tested_bird_avian_noaec": "Bobwhite quail", "tw_bird_noaec": 178.0,
    "noael_bird": 7.8, "species_of_the_tested_bird_avian_noael": "Bobwhite quail",
    "tw_bird_noael": 178.0, "mineau_sca_fact": 1.15, "bw_frog_prey_mamm": 15.0,
    "bw_frog_prey_herp": 15.0, "aw_herp_sm": 2.0, "awc_herp_sm": 85.0, "aw_herp_md": 20.0,
    "awc_herp_md": 85.0, "aw_herp_lg": 200.0, "awc_herp_lg": 85.0,
}


def food_intake_herp(weight_g: np.ndarray, water: np.ndarray) -> np.ndarray:
    """Wet food intake of a herptile, g/day (reptile allometry used by T-HERPS)."""
    return 0.013 * weight_g ** 0.773 / (1.0 - water)


def _diets(c: dict[str, np.ndarray], peak: np.ndarray, mult: dict[str, float]) -> dict[str, np.ndarray]:
    """Dietary EECs (mg/kg-diet) of each herptile food item."""
    diet = {food: peak * mult[kenaga] for food, kenaga in FOODS.items()}
    prey_m = c["bw_frog_prey_mamm"]
    for food, kenaga in PREY.items():
        diet[food] = peak * mult[kenaga] * d.food_intake_mamm(prey_m, d.WATER_FOLIAGE) / prey_m
    prey_h = c["bw_frog_prey_herp"]
    diet["tp"] = peak * mult["bp"] * food_intake_herp(prey_h, c["awc_herp_sm"]) / prey_h
    return diet


def _doses(c: dict[str, np.ndarray], diet: dict[str, np.ndarray], var: str, out: dict[str, np.ndarray]) -> None:
    """Dose-based EECs and acute RQs for each food and herptile size."""
    for sz in SIZES:
        aw = c[f"aw_herp_{sz}"]
        at = d.adjusted_ld50_bird(c["ld50_bird"], aw, c["tw_bird_ld50"], c["mineau_sca_fact"])
        doses = {food: diet[food] * food_intake_herp(aw, c[f"awc_herp_{sz}"]) / aw for food in FOODS}
        if sz in PREY_SIZES:
            # whole prey: dietary EEC x prey weight / predator weight (ubertool)
            doses.update({food: diet[food] * c["bw_frog_prey_mamm"] / aw for food in PREY})
            # ubertool feeds every amphibian-eating herptile the medium herptile's diet water
            doses["tp"] = diet["tp"] * food_intake_herp(aw, c["awc_herp_md"]) / aw
        for food, dose in doses.items():
            out[f"out_eec_dose_{DOSE_NAME[food]}_{sz}{var}"] = dose
            out[f"out_arq_dose_{DOSE_NAME[food]}_{sz}{var}"] = dose / at


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    names = [n for n, f in Inputs.model_fields.items() if f.annotation in (float, int, float | None)]
    c = {name: col(columns, name) for name in names}
    for sz in SIZES:
        c[f"awc_herp_{sz}"] = c[f"awc_herp_{sz}"] / 100.0
    rates, days = d.even_schedule(c["application_rate"], c["num_apps"], c["app_interval"])
    peak = d.peak_residue(rates, days, c["foliar_diss_hlife"]) * c["percent_act_ing"] / 100.0
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for sz in SIZES:
            out[f"out_ld50_ad_{sz}"] = d.adjusted_ld50_bird(
                c["ld50_bird"], c[f"aw_herp_{sz}"], c["tw_bird_ld50"], c["mineau_sca_fact"])
        for var, mult in VARIANTS.items():
            diet = _diets(c, peak, mult)
            _doses(c, diet, var, out)
            for food, eec in diet.items():
                out[f"out_eec_diet_herp_{food}{var}"] = eec
                out[f"out_eec_arq_herp_{food}{var}"] = eec / c["lc50_bird"]
                out[f"out_eec_crq_herp_{food}{var}"] = eec / c["noaec_bird"]
    return {name: out[name] for name in OUTPUTS}
