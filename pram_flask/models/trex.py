"""T-REX: terrestrial residue exposure of birds and mammals (EPA ubertool ``trex``).

Dietary EECs come from the Kenaga nomogram: each application in ``app_rates``
on the days of ``day_out`` adds residues to short grass, tall grass,
broadleaf plants, fruits/pods and arthropods, which then dissipate with the
foliar half-life; the year's highest daily residue is the dietary EEC.
Dose-based EECs scale it by Nagy food intake for small, medium and large
birds and mammals; risk quotients divide by body-weight-adjusted toxicity.
Seed-treatment RQs and LD50/ft2 values for granular/liquid applications follow
ubertool's equations (outputs that do not apply to a run are null).
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import field_validator, model_validator

from flask_qed import FieldError

from ..science import dietary as d
from ._common import BirdToxicityInputs, col, number, text

NAME = "trex"
TITLE = "T-REX"
DESCRIPTION = "Terrestrial residue exposure and risk quotients for birds and mammals."
VERSION = "1.5.2"

SIZES = {"sm": "small", "md": "medium", "lg": "large"}
NAGY_BIRD = {"sm": 0.02, "md": 0.1, "lg": 1.0}   # ubertool's Nagy body-weight coefficients
NAGY_MAMM = {"sm": 0.015, "md": 0.035, "lg": 1.0}
# dose outputs: food code -> (Kenaga food, water fraction); "se" = seeds (granivores)
DOSE_FOODS = {"sg": ("sg", d.WATER_FOLIAGE), "tg": ("tg", d.WATER_FOLIAGE),
              "bp": ("bp", d.WATER_FOLIAGE), "fp": ("fp", d.WATER_FOLIAGE),
              "ar": ("ar", d.WATER_FOLIAGE), "se": ("fp", d.WATER_SEEDS)}
DIET_NAMES = {"sg": "sg", "tg": "tg", "bp": "bp", "fp": "fr", "ar": "ar"}  # out_eec_diet_* names
APP_TYPES = ("Broadcast-Liquid", "Broadcast-Granular", "Row/Band/In-furrow-Liquid",
             "Row/Band/In-furrow-Granular", "Seed Treatment")
LD50_FT2 = {"rg": "Row/Band/In-furrow-Granular", "rl": "Row/Band/In-furrow-Liquid",
            "bg": "Broadcast-Granular", "bl": "Broadcast-Liquid"}
MG_PER_LB, G_PER_OZ, FT2_PER_ACRE, IN_PER_FT = 453590.0, 28349.0, 43560.0, 12.0
# ubertool's names of the Kenaga food items in out_c_0_* and out_c_mean_*
RESIDUE_NAMES = {"sg": "sg", "tg": "tg", "bp": "blp", "fp": "fp", "ar": "arthro"}
# the form's sections in this order (each input declares its own)
SECTIONS: dict[str, list[str]] = {"Chemical": [], "Application": [], "Birds": [], "Mammals": []}


class Inputs(BirdToxicityInputs):
    use: str | None = text("Crop or use site (descriptive only)", None, section="Application")
    formu_name: str | None = text("Formulation name (descriptive only)", None, section="Application")
    percent_act_ing: float = number("%", "Active ingredient in the product", ge=0, le=100, section="Chemical")
    application_type: Literal[APP_TYPES] = text("Application type", section="Application")  # type: ignore[valid-type]
    seed_treatment_formulation_name: str | None = text("Seed treatment formulation (descriptive)", None, section="Application")
    seed_crop: str | None = text("Seed crop (descriptive only)", None, section="Application")
    seed_crop_v: str | None = text("Seed crop value of EPA's web form (descriptive only)", None, section="Application")
    max_seed_rate: float | None = number("lb seed/acre", "Maximum seeding rate (seed treatment)", None, ge=0, section="Application")
    row_spacing: float = number("in", "Row spacing (row/band granular applications)", 0.0, ge=0, section="Application")
    bandwidth: float = number("in", "Band width (row/band applications)", 0.0, ge=0, section="Application")
    percent_incorp: float = number("%", "Pesticide incorporated into soil", 0.0, ge=0, le=100, section="Application")
    density: float | None = number("lb/gal", "Product density (seed treatment)", None, ge=0, section="Application")
    foliar_diss_hlife: float = number("days", "Foliar dissipation half-life", gt=0, section="Chemical")
    num_apps: int = number("-", "Number of applications", ge=1, le=d.DAYS_IN_YEAR, section="Application")
    app_rates: list[float] = number(
        "lb a.i./acre | oz/1000 ft of row | fl oz/cwt of seed",
        "Rate of each application, e.g. \"[1.15,1.15,1.15]\": lb a.i./acre for broadcast and "
        "row/band granular applications, oz of product per 1000 ft of row for row/band liquid, "
        "fl oz of product per cwt (100 lb) of seed for seed treatment",
        units_by=("application_type", {"Broadcast-Liquid": "lb a.i./acre", "Broadcast-Granular": "lb a.i./acre",
                                       "Row/Band/In-furrow-Granular": "lb a.i./acre",
                                       "Row/Band/In-furrow-Liquid": "oz/1000 ft of row",
                                       "Seed Treatment": "fl oz/cwt of seed"}), section="Application")
    day_out: list[int] = number("day of year", 'Day of each application (1-365, ascending), e.g. "[1,11,21]"', section="Application")
    ld50_bird: float = number("mg/kg-bw", "Avian acute oral LD50", gt=0, section="Birds")
    aw_bird_sm: float = number("g", "Body weight of the small assessed bird", gt=0, section="Birds")
    aw_bird_md: float = number("g", "Body weight of the medium assessed bird", gt=0, section="Birds")
    aw_bird_lg: float = number("g", "Body weight of the large assessed bird", gt=0, section="Birds")
    mineau_sca_fact: float = number("-", "Mineau scaling factor for birds", ge=0, le=3, section="Birds")
    ld50_mamm: float = number("mg/kg-bw", "Mammalian acute oral LD50", gt=0, section="Mammals")
    lc50_mamm: float | None = number("mg/kg-diet", "Mammalian dietary LC50 (optional)", None, gt=0, section="Mammals")
    noaec_mamm: float = number("mg/kg-diet", "Mammalian reproduction NOAEC", gt=0, section="Mammals")
    noael_mamm: float = number("mg/kg-bw", "Mammalian reproduction NOAEL", gt=0, section="Mammals")
    aw_mamm_sm: float = number("g", "Body weight of the small assessed mammal", gt=0, section="Mammals")
    aw_mamm_md: float = number("g", "Body weight of the medium assessed mammal", gt=0, section="Mammals")
    aw_mamm_lg: float = number("g", "Body weight of the large assessed mammal", gt=0, section="Mammals")
    tw_mamm: float = number("g", "Body weight of the tested mammal", gt=0, section="Mammals")

    @field_validator("app_rates", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> list[float]:
        return d.number_list(value, "app_rates")

    @field_validator("day_out", mode="before")
    @classmethod
    def _days(cls, value: Any) -> list[int]:
        return d.number_list(value, "day_out", integer=True)

    @model_validator(mode="after")
    def _schedule(self) -> "Inputs":
        d.check_schedule(self.app_rates, self.day_out, self.num_apps)
        if self.application_type.startswith("Row/Band") and self.bandwidth <= 0:
            raise FieldError("bandwidth", f"must be > 0 for {self.application_type} applications")
        if self.application_type == "Row/Band/In-furrow-Granular" and self.row_spacing <= 0:
            raise FieldError("row_spacing", "must be > 0 for Row/Band/In-furrow-Granular applications")
        if self.application_type == "Seed Treatment" and (self.density is None or self.max_seed_rate is None):
            raise ValueError("density and max_seed_rate are required for Seed Treatment applications")
        return self


def _out(description: str, units: str = "-") -> dict[str, str]:
    return {"description": description, "units": units}


def _outputs() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for food, name in RESIDUE_NAMES.items():
        out[f"out_c_0_{name}"] = _out(f"Upper-bound residue on {food} just after the first application",
                                      "mg/kg-diet")
        out[f"out_c_mean_{name}"] = _out(f"Mean residue on {food} just after the first application",
                                         "mg/kg-diet")
    for s, size in (("s", "small"), ("m", "medium"), ("l", "large")):
        for kind, animal in (("bird", "bird"), ("mamm", "mammal")):
            out[f"out_sa_{kind}_1_{s}"] = _out(f"Seed treatment acute RQ, {size} {animal}, method 1")
            out[f"out_sa_{kind}_2_{s}"] = _out(f"Seed treatment acute RQ, {size} {animal}, method 2")
            out[f"out_sc_{kind}_{s}"] = _out(f"Seed treatment chronic RQ, {size} {animal}")
    for food, name in DIET_NAMES.items():
        out[f"out_eec_diet_{name}"] = _out(f"Dietary EEC, {food}", "mg/kg-diet")
    for kind in ("bird", "mamm"):
        for food in DOSE_FOODS:
            for sz, size in SIZES.items():
                out[f"out_eec_dose_{kind}_{food}_{sz}"] = _out(
                    f"Dose-based EEC, {size} {kind} eating {food}", "mg/kg-bw")
    for food in DOSE_FOODS:
        for sz, size in SIZES.items():
            out[f"out_arq_bird_{food}_{sz}"] = _out(f"Acute dose RQ, {size} bird, {food}")
            out[f"out_arq_dose_mamm_{food}_{sz}"] = _out(f"Acute dose RQ, {size} mammal, {food}")
            out[f"out_crq_dose_mamm_{food}_{sz}"] = _out(f"Chronic dose RQ, {size} mammal, {food}")
    for food in DIET_NAMES:
        out[f"out_arq_diet_bird_{food}_a"] = _out(f"Acute dietary RQ, birds, {food}")
        out[f"out_arq_diet_bird_{food}_c"] = _out(f"Chronic dietary RQ, birds, {food}")
        out[f"out_arq_diet_mamm_{food}"] = _out(f"Acute dietary RQ, mammals, {food} (needs lc50_mamm)")
        out[f"out_crq_diet_mamm_{food}"] = _out(f"Chronic dietary RQ, mammals, {food}")
    for method, app_type in LD50_FT2.items():
        for kind in ("bird", "mamm"):
            for sz, size in SIZES.items():
                out[f"out_ld50_{method}_{kind}_{sz}"] = _out(f"LD50 per ft2, {size} {kind}, {app_type} only")
    return out


OUTPUTS = _outputs()

# Risk at a glance (flask_qed.risk): each RQ against EPA's levels of concern for
# terrestrial animals — an acute RQ against the acute (0.5), acute restricted-use (0.2)
# and acute endangered-species (0.1) LOCs, a chronic RQ against the chronic LOC (1.0).
_ACUTE = ["acute", "acute_restricted", "acute_endangered"]
RISK = {name: ["chronic"] if "chronic" in spec["description"].lower() else _ACUTE
        for name, spec in OUTPUTS.items() if " RQ" in spec["description"]}
GLOSSARY = {"sa": "seed treatment, acute", "sc": "seed treatment, chronic", "s": "small", "m": "medium",
            "l": "large", "a": "acute (dietary RQ of birds, from the LC50)",
            "c": "chronic (dietary RQ of birds, from the NOAEC)", "ld50_ft2": "LD50s per square foot"}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "chemical_name": "Triticonazole", "use": "Turf", "formu_name": "Trinity",
    "percent_act_ing": 100.0, "application_type": "Broadcast-Liquid", "row_spacing": 0.0,
    "bandwidth": 0.0, "percent_incorp": 0.0, "foliar_diss_hlife": 35.0, "num_apps": 3,
    "app_rates": [1.15, 1.15, 1.15], "day_out": [1, 11, 21], "ld50_bird": 1900.0,
    "species_of_the_tested_bird_avian_ld50": "Bobwhite quail", "tw_bird_ld50": 178.0,
    "lc50_bird": 5000.0, "species_of_the_tested_bird_avian_lc50": "Bobwhite quail",
    "tw_bird_lc50": 178.0, "noaec_bird": 172.0,
    "species_of_the_tested_bird_avian_noaec": "Bobwhite quail", "tw_bird_noaec": 178.0,
    "aw_bird_sm": 20.0, "aw_bird_md": 100.0, "aw_bird_lg": 1000.0, "mineau_sca_fact": 1.15,
    "ld50_mamm": 2000.0, "noaec_mamm": 750.0, "noael_mamm": 37.5, "aw_mamm_sm": 15.0,
    "aw_mamm_md": 35.0, "aw_mamm_lg": 1000.0, "tw_mamm": 350.0,
}


def _seed_treatment(c: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> None:
    """Seed-treatment RQs (null unless density/max_seed_rate are given)."""
    # ubertool: first rate (fl oz/cwt) x a.i. / 128 fl oz/gal x density (lb/gal)
    seed_ai = c["first_rate"] * c["frac_ai"] / 128.0 * c["density"]
    applied = seed_ai * 10000.0                                  # mg a.i./kg seed
    per_acre = c["max_seed_rate"] * seed_ai / 100.0 * 1e6 / (FT2_PER_ACRE * 2.2)  # mg a.i./ft2
    for sz, s in (("sm", "s"), ("md", "m"), ("lg", "l")):
        aw_b, aw_m = c[f"aw_bird_{sz}"], c[f"aw_mamm_{sz}"]
        at_b = d.adjusted_ld50_bird(c["ld50_bird"], aw_b, c["tw_bird_ld50"], c["mineau_sca_fact"])
        at_m = d.adjusted_mamm(c["ld50_mamm"], aw_m, c["tw_mamm"])
        nagy_b = d.food_intake_bird(aw_b, d.WATER_SEEDS) * 0.001 * applied / NAGY_BIRD[sz]
        nagy_m = d.food_intake_mamm(aw_m, d.WATER_SEEDS) * 0.001 * applied / NAGY_MAMM[sz]
        out[f"out_sa_bird_1_{s}"] = nagy_b / at_b
        out[f"out_sa_bird_2_{s}"] = per_acre / (at_b * NAGY_BIRD[sz])
        out[f"out_sc_bird_{s}"] = applied / c["noaec_bird"]
        out[f"out_sa_mamm_1_{s}"] = nagy_m / at_m
        out[f"out_sa_mamm_2_{s}"] = per_acre / (at_m * NAGY_MAMM[sz])
        out[f"out_sc_mamm_{s}"] = nagy_m / d.adjusted_mamm(c["noael_mamm"], aw_m, c["tw_mamm"])


def _dietary(c: dict[str, np.ndarray], eec: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> None:
    """Dietary EECs and dietary RQs for birds and mammals."""
    for food, name in DIET_NAMES.items():
        out[f"out_eec_diet_{name}"] = eec[food]
        out[f"out_arq_diet_bird_{food}_a"] = eec[food] / c["lc50_bird"]
        out[f"out_arq_diet_bird_{food}_c"] = eec[food] / c["noaec_bird"]
        out[f"out_arq_diet_mamm_{food}"] = eec[food] / c["lc50_mamm"]
        out[f"out_crq_diet_mamm_{food}"] = eec[food] / c["noaec_mamm"]


def _doses(c: dict[str, np.ndarray], eec: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> None:
    """Dose-based EECs and RQs for each food item and body size."""
    for sz in SIZES:
        aw_b, aw_m = c[f"aw_bird_{sz}"], c[f"aw_mamm_{sz}"]
        at_b = d.adjusted_ld50_bird(c["ld50_bird"], aw_b, c["tw_bird_ld50"], c["mineau_sca_fact"])
        at_m = d.adjusted_mamm(c["ld50_mamm"], aw_m, c["tw_mamm"])
        chronic_m = d.adjusted_mamm(c["noael_mamm"], aw_m, c["tw_mamm"])
        for food, (kenaga, water) in DOSE_FOODS.items():
            dose_b = eec[kenaga] * d.food_intake_bird(aw_b, water) / aw_b
            dose_m = eec[kenaga] * d.food_intake_mamm(aw_m, water) / aw_m
            out[f"out_eec_dose_bird_{food}_{sz}"] = dose_b
            out[f"out_arq_bird_{food}_{sz}"] = dose_b / at_b
            out[f"out_eec_dose_mamm_{food}_{sz}"] = dose_m
            out[f"out_arq_dose_mamm_{food}_{sz}"] = dose_m / at_m
            out[f"out_crq_dose_mamm_{food}_{sz}"] = dose_m / chronic_m


def _ld50_ft2(c: dict[str, np.ndarray], app_type: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """LD50s per square foot; null for runs of another application type."""
    incorp = 1.0 - c["percent_incorp"] / 100.0
    band_ft = c["bandwidth"] / IN_PER_FT
    rows_ft = c["row_spacing"] / IN_PER_FT
    ai_max = c["max_rate"] * c["frac_ai"]
    exposure = {
        "rg": ai_max * MG_PER_LB / (FT2_PER_ACRE / rows_ft * band_ft) * incorp,
        "rl": ai_max * G_PER_OZ / (1000.0 * band_ft) * incorp,
        "bg": ai_max * MG_PER_LB / FT2_PER_ACRE,
        "bl": ai_max * MG_PER_LB / FT2_PER_ACRE,
    }
    for method, kind_type in LD50_FT2.items():
        applies = app_type == kind_type
        for sz in SIZES:
            aw_b, aw_m = c[f"aw_bird_{sz}"], c[f"aw_mamm_{sz}"]
            at_b = d.adjusted_ld50_bird(c["ld50_bird"], aw_b, c["tw_bird_ld50"], c["mineau_sca_fact"])
            at_m = d.adjusted_mamm(c["ld50_mamm"], aw_m, c["tw_mamm"])
            bird = exposure[method] / (at_b * aw_b / 1000.0)
            mamm = exposure[method] / (at_m * aw_m / 1000.0)
            out[f"out_ld50_{method}_bird_{sz}"] = np.where(applies, bird, np.nan)
            out[f"out_ld50_{method}_mamm_{sz}"] = np.where(applies, mamm, np.nan)


NUMERIC = ("percent_act_ing", "max_seed_rate", "row_spacing", "bandwidth", "percent_incorp", "density",
           "foliar_diss_hlife", "ld50_bird", "tw_bird_ld50", "lc50_bird", "noaec_bird", "aw_bird_sm",
           "aw_bird_md", "aw_bird_lg", "mineau_sca_fact", "ld50_mamm", "lc50_mamm", "noaec_mamm",
           "noael_mamm", "aw_mamm_sm", "aw_mamm_md", "aw_mamm_lg", "tw_mamm")


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    c = {name: col(columns, name) for name in NUMERIC}
    rates, days = d.pad_schedule(columns["app_rates"], columns["day_out"])
    c["frac_ai"] = c["percent_act_ing"] / 100.0
    c["first_rate"], c["max_rate"] = rates[:, 0], rates.max(axis=1)
    unit_peak = d.peak_residue(rates, days, c["foliar_diss_hlife"]) * c["frac_ai"]
    eec = {food: unit_peak * mult for food, mult in d.FOOD_INIT.items()}
    out: dict[str, np.ndarray] = {}
    for food, name in RESIDUE_NAMES.items():
        out[f"out_c_0_{name}"] = c["first_rate"] * c["frac_ai"] * d.FOOD_INIT[food]
        out[f"out_c_mean_{name}"] = c["first_rate"] * c["frac_ai"] * d.FOOD_MEAN[food]
    with np.errstate(divide="ignore", invalid="ignore"):
        _seed_treatment(c, out)
        _dietary(c, eec, out)
        _doses(c, eec, out)
        _ld50_ft2(c, np.asarray(columns["application_type"], dtype=object), out)
    return {name: out[name] for name in OUTPUTS}
