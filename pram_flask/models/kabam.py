"""KABAM: bioaccumulation of hydrophobic pesticides in an aquatic food web.

Follows EPA's ubertool ``kabam`` model (KABAM v1.0, Arnot & Gobas based).
Steady-state pesticide residues are computed up the food chain
(phytoplankton, zooplankton, benthic invertebrates, filter feeders, small,
medium and large fish) from water-column and pore-water EECs (Kabam Eq. A1),
with bioconcentration/bioaccumulation/biomagnification factors (Eqs. F1-F6).
The residues then give dietary and dose-based EECs, adjusted toxicity values
and risk quotients for six mammals and six birds that eat aquatic prey
(Eqs. G1-G9 and the OPP spreadsheet).
"""
from __future__ import annotations

from typing import Literal, Union

import numpy as np
from pydantic import create_model, field_validator, model_validator

from ._common import RunInputs, col, number, text

NAME = "kabam"
TITLE = "KABAM"
DESCRIPTION = ("Pesticide bioaccumulation in an aquatic food web and risk to "
               "mammals and birds eating aquatic prey.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Chemical": ["log_kow", "k_oc", "pore_water_eec", "water_column_eec"],
    "Water body": ["conc_poc", "conc_doc", "conc_do", "water_temp", "conc_ss", "sediment_oc", "sediment_lipid",
        "sediment_nlom", "sediment_water"],
    "Birds": ["mineau_scaling_factor", "species_of_the_tested_bird", "bw_quail", "bw_duck",
        "bw_other_bird", "avian_ld50", "avian_lc50", "avian_noaec"],
    "Mammals": ["species_of_the_tested_mammal", "bw_rat", "bw_other_mammal", "mammalian_ld50",
        "mammalian_lc50", "mammalian_chronic_endpoint", "mammalian_chronic_endpoint_unit"],
    "Diets": ["zoo_diet_sediment", "zoo_diet_phytoplankton", "beninv_diet_sediment",
        "beninv_diet_phytoplankton", "beninv_diet_zooplankton", "filterfeeders_diet_sediment",
        "filterfeeders_diet_phytoplankton", "filterfeeders_diet_zooplankton",
        "filterfeeders_diet_beninv", "sfish_diet_sediment", "sfish_diet_phytoplankton",
        "sfish_diet_zooplankton", "sfish_diet_beninv", "sfish_diet_filterfeeders",
        "mfish_diet_sediment", "mfish_diet_phytoplankton", "mfish_diet_zooplankton",
        "mfish_diet_beninv", "mfish_diet_filterfeeders", "mfish_diet_sfish", "lfish_diet_sediment",
        "lfish_diet_phytoplankton", "lfish_diet_zooplankton", "lfish_diet_beninv",
        "lfish_diet_filterfeeders", "lfish_diet_sfish", "lfish_diet_mfish"],
    "Aquatic organisms": ["phytoplankton_kg", "rate_constants", "sediment_respire", "phytoplankton_lipid",
        "phytoplankton_nlom", "phytoplankton_water", "zoo_wb", "zoo_lipid", "zoo_nlom", "zoo_water",
        "beninv_wb", "beninv_lipid", "beninv_nlom", "beninv_water", "filterfeeders_wb",
        "filterfeeders_lipid", "filterfeeders_nlom", "filterfeeders_water", "sfish_wb",
        "sfish_lipid", "sfish_nlom", "sfish_water", "mfish_wb", "mfish_lipid", "mfish_nlom",
        "mfish_water", "lfish_wb", "lfish_lipid", "lfish_nlom", "lfish_water",
        "phytoplankton_k1_temp", "phytoplankton_k2_temp", "phytoplankton_kd_temp",
        "phytoplankton_ke_temp", "phytoplankton_km", "phyto_respire", "zoo_k1_temp", "zoo_k2_temp",
        "zoo_kd_temp", "zoo_ke_temp", "zoo_km", "zoo_respire", "beninv_k1_temp", "beninv_k2_temp",
        "beninv_kd_temp", "beninv_ke_temp", "beninv_km", "beninv_respire", "filterfeeders_k1_temp",
        "filterfeeders_k2_temp", "filterfeeders_kd_temp", "filterfeeders_ke_temp",
        "filterfeeders_km", "filterfeeders_respire", "sfish_k1_temp", "sfish_k2_temp",
        "sfish_kd_temp", "sfish_ke_temp", "sfish_km", "sfish_respire", "mfish_k1_temp",
        "mfish_k2_temp", "mfish_kd_temp", "mfish_ke_temp", "mfish_km", "mfish_respire",
        "lfish_k1_temp", "lfish_k2_temp", "lfish_kd_temp", "lfish_ke_temp", "lfish_km",
        "lfish_respire"],
}

ORGANISMS = ("phytoplankton", "zoo", "beninv", "filterfeeders", "sfish", "mfish", "lfish")
ANIMALS = ORGANISMS[1:]
# Name of each food item in the "<predator>_diet_<item>" inputs, lowest level first.
DIET_ITEM = {"sediment": "sediment", "phytoplankton": "phytoplankton", "zoo": "zooplankton",
             "beninv": "beninv", "filterfeeders": "filterfeeders", "sfish": "sfish", "mfish": "mfish"}
FOOD_CHAIN = ("sediment",) + ORGANISMS  # a predator eats sediment and every level below it
RESPIRE_FIELD = {"phytoplankton": "phyto_respire", "zoo": "zoo_respire", "beninv": "beninv_respire",
                 "filterfeeders": "filterfeeders_respire", "sfish": "sfish_respire",
                 "mfish": "mfish_respire", "lfish": "lfish_respire"}
# dietary assimilation efficiencies (lipid, NLOM); water is 0.25 for all
EPSILON = {"zoo": (0.72, 0.72), "beninv": (0.75, 0.75), "filterfeeders": (0.75, 0.75),
           "sfish": (0.92, 0.60), "mfish": (0.92, 0.60), "lfish": (0.92, 0.60)}
EPSILON_WATER = 0.25
BETA_PHYTO, BETA_ANIMAL = 0.35, 0.035
ALPHA_POC, ALPHA_DOC = 0.35, 0.08
PORE_WATER_SHARE = 0.05  # fraction of ventilation through sediment pore water when "respire" is yes

MAMMAL_WEIGHTS = np.array([0.018, 0.085, 0.45, 1.8, 5.0, 15.0])  # shrew ... large river otter (kg)
MAMMAL_DIETS = np.array([[0, 0, 1, 0, 0, 0, 0], [0, 0, .34, .33, .33, 0, 0], [0, 0, 0, 0, 0, 1, 0],
                         [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1]], float)
BIRD_WEIGHTS = np.array([0.02, 6.7, 0.07, 2.9, 1.25, 7.5])  # sandpiper ... white pelican (kg)
BIRD_DIETS = np.array([[0, 0, .33, .33, .34, 0, 0], [0, 0, .33, .33, 0, .34, 0], [0, 0, .5, 0, .5, 0, 0],
                       [0, 0, .5, 0, 0, .5, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1]], float)

RateConstant = Union[float, Literal["calculated"]]


def _prey(predator: str) -> tuple[str, ...]:
    return FOOD_CHAIN[:FOOD_CHAIN.index(predator)]


def _generated_fields() -> dict[str, tuple[object, object]]:
    f: dict[str, tuple[object, object]] = {}
    for pred in ANIMALS:
        for item in _prey(pred):
            f[f"{pred}_diet_{DIET_ITEM[item]}"] = (float, number("%", f"Share of {item} in {pred} diet",
                                                                  0.0, ge=0, le=100))
    for org in ("sediment",) + ORGANISMS:
        if org in ANIMALS:
            f[f"{org}_wb"] = (float, number("kg", f"Wet body weight of {org}", gt=0))
        lipid_rule = {"ge": 0} if org == "sediment" else {"gt": 0}
        f[f"{org}_lipid"] = (float, number("%", f"Lipid content of {org}", le=100, **lipid_rule))
        f[f"{org}_nlom"] = (float, number("%", f"Non-lipid organic matter of {org}", ge=0, le=100))
        f[f"{org}_water"] = (float, number("%", f"Water content of {org}", ge=0, le=100))
    for org in ORGANISMS:
        for k, what, units in (("k1", "respiratory uptake", "L/kg-d"), ("k2", "respiratory elimination", "1/d"),
                               ("kd", "dietary uptake", "kg-food/kg-d"), ("ke", "fecal elimination", "1/d")):
            if org == "phytoplankton" and k in ("kd", "ke"):
                f[f"{org}_{k}_temp"] = (float, number(units, f"{org} {what} rate constant; 0 for plants",
                                                      0.0, ge=0))
            else:
                f[f"{org}_{k}_temp"] = (RateConstant, number(
                    units, f"{org} {what} rate constant: a number or 'calculated'", "calculated"))
        f[f"{org}_km"] = (float, number("1/d", f"{org} metabolic transformation rate constant", 0.0, ge=0))
        f[RESPIRE_FIELD[org]] = (Literal["yes", "no"], text(
            f"Does {org} ventilate sediment pore water (5%)? yes or no", "no"))
    return f


class _Base(RunInputs):
    log_kow: float = number("-", "log10 octanol-water partition coefficient", ge=-3, le=10)
    k_oc: float = number("L/kg OC", "Organic carbon partition coefficient", ge=0)
    pore_water_eec: float = number("ug/L", "Freely dissolved pesticide in sediment pore water", ge=0)
    water_column_eec: float = number("ug/L", "Total pesticide in the water column", gt=0)
    mineau_scaling_factor: float = number("-", "Chemical-specific Mineau scaling factor", gt=0, le=3)
    conc_poc: float = number("kg OC/L", "Particulate organic carbon in water", ge=0)
    conc_doc: float = number("kg OC/L", "Dissolved organic carbon in water", ge=0)
    conc_do: float = number("mg O2/L", "Dissolved oxygen", gt=0)
    water_temp: float = number("degC", "Water temperature (liquid water)", ge=0, le=40)
    conc_ss: float = number("kg/L", "Suspended solids", ge=0)
    sediment_oc: float = number("%", "Organic carbon in sediment", ge=0, le=100)
    species_of_the_tested_bird: Literal["quail", "duck", "other"] = text("Tested bird: quail, duck or other")
    bw_quail: float = number("g", "Body weight of tested quail", 178.0, gt=0)
    bw_duck: float = number("g", "Body weight of tested duck", 1580.0, gt=0)
    bw_other_bird: float | None = number("g", "Body weight of other tested bird", None, ge=0)
    avian_ld50: float = number("mg/kg-bw", "Avian acute oral LD50", gt=0)
    avian_lc50: float = number("mg/kg-diet", "Avian subacute dietary LC50", gt=0)
    avian_noaec: float = number("mg/kg-diet", "Avian reproduction NOAEC", gt=0)
    species_of_the_tested_mammal: Literal["rat", "other"] = text("Tested mammal: rat or other")
    bw_rat: float = number("g", "Body weight of tested rat", 350.0, gt=0)
    bw_other_mammal: float | None = number("g", "Body weight of other tested mammal", None, ge=0)
    mammalian_ld50: float = number("mg/kg-bw", "Mammalian acute oral LD50", gt=0)
    mammalian_lc50: float | None = number("mg/kg-diet", "Mammalian dietary LC50 (optional)", None, gt=0)
    mammalian_chronic_endpoint: float = number("ppm or mg/kg-bw", "Mammalian chronic endpoint", gt=0)
    mammalian_chronic_endpoint_unit: Literal["ppm", "mg/kg-bw"] = text("Unit of the chronic endpoint")
    phytoplankton_kg: float = number("1/d", "Phytoplankton growth rate constant", 0.1, ge=0)
    rate_constants: str | None = text("Client's rate-constant option label (descriptive only)", None)
    sediment_respire: str | None = text("Sediment respiration flag (descriptive only)", None)

    @field_validator("species_of_the_tested_bird", "species_of_the_tested_mammal",
                     "mammalian_chronic_endpoint_unit", *RESPIRE_FIELD.values(), mode="before",
                     check_fields=False)
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(*[f"{o}_{k}_temp" for o in ORGANISMS for k in ("k1", "k2", "kd", "ke")
                       if not (o == "phytoplankton" and k in ("kd", "ke"))], mode="before", check_fields=False)
    @classmethod
    def _rate(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().lower() == "calculated":
                return "calculated"
            try:
                value = float(value)
            except ValueError:
                raise ValueError("a rate constant must be a number >= 0 or 'calculated'") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not value >= 0:
            raise ValueError("a rate constant must be a number >= 0 or 'calculated'")
        return value

    @model_validator(mode="after")
    def _rules(self) -> "_Base":
        if self.species_of_the_tested_bird == "other" and not self.bw_other_bird:
            raise ValueError("species_of_the_tested_bird 'other' needs bw_other_bird > 0")
        if self.species_of_the_tested_mammal == "other" and not self.bw_other_mammal:
            raise ValueError("species_of_the_tested_mammal 'other' needs bw_other_mammal > 0")
        for pred in ANIMALS:
            total = sum(getattr(self, f"{pred}_diet_{DIET_ITEM[i]}") for i in _prey(pred))
            if abs(total - 100.0) > 1.0:
                raise ValueError(f"{pred} diet fractions must add up to 100 % (got {total:g})")
        return self


Inputs = create_model("Inputs", __base__=_Base, __module__=__name__,  # type: ignore[call-overload]
                      **_generated_fields())
Inputs.__doc__ = "One KABAM run."


def _outputs() -> dict[str, dict[str, str]]:
    out = {"out_free_pest_conc_watercol": {"description": "Freely dissolved pesticide in the water column",
                                           "units": "ug/L"}}
    per_org = {"cb": ("Pesticide residue in organism", "ug/kg-ww"),
               "cbl": ("Lipid-normalised residue", "ug/kg-lipid"),
               "cbd": ("Residue from dietary uptake", "ug/kg-ww"),
               "cbr": ("Residue from respiratory uptake", "ug/kg-ww"),
               "cbf": ("Total bioconcentration factor", "L/kg-ww"),
               "cbaf": ("Total bioaccumulation factor", "L/kg-ww"),
               "cbfl": ("Lipid-normalised bioconcentration factor", "L/kg-lipid"),
               "cbafl": ("Lipid-normalised bioaccumulation factor", "L/kg-lipid"),
               "bmf": ("Biomagnification factor", "-"),
               "cbsafl": ("Biota-sediment accumulation factor", "kg-OC/kg-lipid")}
    for key, (desc, units) in per_org.items():
        for org in (ANIMALS if key in ("cbd", "bmf") else ORGANISMS):
            out[f"out_{key}_{org}"] = {"description": f"{desc}: {org}", "units": units}
    per_animal = {"mweight": ("Mammal body weight", "kg"), "aweight": ("Bird body weight", "kg"),
                  "dfir": ("Mammal dry food ingestion rate", "kg-dw/kg-bw/d"),
                  "dfira": ("Bird dry food ingestion rate", "kg-dw/kg-bw/d"),
                  "wet_food_ingestion_m": ("Mammal wet food ingestion rate", "kg-ww/kg-bw/d"),
                  "wet_food_ingestion_a": ("Bird wet food ingestion rate", "kg-ww/kg-bw/d"),
                  "drinking_water_intake_m": ("Mammal drinking water intake", "L/d"),
                  "drinking_water_intake_a": ("Bird drinking water intake", "L/d"),
                  "db4": ("Mammal dose-based EEC", "mg/kg-bw/d"), "db4a": ("Bird dose-based EEC", "mg/kg-bw/d"),
                  "db5": ("Mammal dietary EEC", "mg/kg-diet"), "db5a": ("Bird dietary EEC", "mg/kg-diet")}
    for kind in ("acute_dose_based", "acute_diet_based", "chronic_dose_based", "chronic_diet_based",
                 "acute_rq_dose", "acute_rq_diet", "chronic_rq_dose", "chronic_rq_diet"):
        for cls in ("m", "a"):
            if kind.startswith("chronic") and "dose" in kind and cls == "a":
                continue  # no chronic dose-based values for birds
            rq = "_rq_" in kind
            per_animal[f"{kind}_{cls}"] = (("Risk quotient " if rq else "Toxicity value ")
                                           + kind.replace("_", " ") + (" (mammal)" if cls == "m" else " (bird)"),
                                           "-" if rq else ("mg/kg-bw" if "dose" in kind else "mg/kg-diet"))
    for stem, (desc, units) in per_animal.items():
        for i in range(6):
            out[f"out_{stem}{i}"] = {"description": f"{desc}, animal {i}", "units": units}
    return out


OUTPUTS = _outputs()

# Risk at a glance (flask_qed.risk): EPA's LOCs for animals, acute 0.5/0.2/0.1, chronic 1.0.
RISK = {name: ["chronic"] if name.startswith("out_chronic") else ["acute", "acute_restricted", "acute_endangered"]
        for name in OUTPUTS if "_rq_" in name}
GLOSSARY = {"m0": "mammal 0 (of six: m0 … m5)", "a0": "bird 0 (of six: a0 … a5)",
            "diet": "dietary (concentration in the diet)", "dose": "dose-based (per kg body weight)"}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "log_kow": 5.0, "k_oc": 25000.0, "pore_water_eec": 5.0, "water_column_eec": 6.0,
    "mineau_scaling_factor": 1.15, "conc_poc": 0.0, "conc_doc": 0.0, "conc_do": 5.0,
    "water_temp": 15.0, "conc_ss": 3e-05, "sediment_oc": 4.0, "species_of_the_tested_bird": "quail",
    "bw_quail": 178.0, "bw_duck": 1580.0, "bw_other_bird": 200.0, "avian_ld50": 50.0,
    "avian_lc50": 500.0, "avian_noaec": 10.0, "species_of_the_tested_mammal": "rat",
    "bw_rat": 350.0, "bw_other_mammal": 500.0, "mammalian_ld50": 50.0, "mammalian_lc50": 45.0,
    "mammalian_chronic_endpoint": 10.0, "mammalian_chronic_endpoint_unit": "ppm",
    "lfish_diet_sediment": 0.0, "lfish_diet_phytoplankton": 0.0, "lfish_diet_zooplankton": 0.0,
    "lfish_diet_beninv": 0.0, "lfish_diet_filterfeeders": 0.0, "lfish_diet_sfish": 0.0,
    "lfish_diet_mfish": 100.0, "mfish_diet_sediment": 0.0, "mfish_diet_phytoplankton": 0.0,
    "mfish_diet_zooplankton": 0.0, "mfish_diet_beninv": 50.0, "mfish_diet_filterfeeders": 0.0,
    "mfish_diet_sfish": 50.0, "sfish_diet_sediment": 0.0, "sfish_diet_phytoplankton": 0.0,
    "sfish_diet_zooplankton": 50.0, "sfish_diet_beninv": 50.0, "sfish_diet_filterfeeders": 0.0,
    "filterfeeders_diet_sediment": 34.0, "filterfeeders_diet_phytoplankton": 33.0,
    "filterfeeders_diet_zooplankton": 33.0, "filterfeeders_diet_beninv": 0.0,
    "beninv_diet_sediment": 34.0, "beninv_diet_phytoplankton": 33.0,
    "beninv_diet_zooplankton": 33.0, "zoo_diet_sediment": 0.0, "zoo_diet_phytoplankton": 100.0,
    "sediment_lipid": 0.0, "sediment_nlom": 4.0, "sediment_water": 96.0, "phytoplankton_lipid": 2.0,
    "phytoplankton_nlom": 8.0, "phytoplankton_water": 90.0, "zoo_wb": 1e-07, "zoo_lipid": 3.0,
    "zoo_nlom": 12.0, "zoo_water": 85.0, "beninv_wb": 0.0001, "beninv_lipid": 3.0,
    "beninv_nlom": 21.0, "beninv_water": 76.0, "filterfeeders_wb": 0.001,
    "filterfeeders_lipid": 2.0, "filterfeeders_nlom": 13.0, "filterfeeders_water": 85.0,
    "sfish_wb": 0.01, "sfish_lipid": 4.0, "sfish_nlom": 23.0, "sfish_water": 73.0, "mfish_wb": 0.1,
    "mfish_lipid": 4.0, "mfish_nlom": 23.0, "mfish_water": 73.0, "lfish_wb": 1.0,
    "lfish_lipid": 4.0, "lfish_nlom": 23.0, "lfish_water": 73.0,
    "phytoplankton_k1_temp": "calculated", "phytoplankton_k2_temp": "calculated",
    "phytoplankton_kd_temp": 0.0, "phytoplankton_ke_temp": 0.0, "phytoplankton_km": 0.0,
    "phytoplankton_kg": 0.1, "zoo_k1_temp": "calculated", "zoo_k2_temp": "calculated",
    "zoo_kd_temp": "calculated", "zoo_ke_temp": "calculated", "zoo_km": 0.0,
    "beninv_k1_temp": "calculated", "beninv_k2_temp": "calculated", "beninv_kd_temp": "calculated",
    "beninv_ke_temp": "calculated", "beninv_km": 0.0, "filterfeeders_k1_temp": "calculated",
    "filterfeeders_k2_temp": "calculated", "filterfeeders_kd_temp": "calculated",
    "filterfeeders_ke_temp": "calculated", "filterfeeders_km": 0.0, "sfish_k1_temp": "calculated",
    "sfish_k2_temp": "calculated", "sfish_kd_temp": "calculated", "sfish_ke_temp": "calculated",
    "sfish_km": 0.0, "mfish_k1_temp": "calculated", "mfish_k2_temp": "calculated",
    "mfish_kd_temp": "calculated", "mfish_ke_temp": "calculated", "mfish_km": 0.0,
    "lfish_k1_temp": "calculated", "lfish_k2_temp": "calculated", "lfish_kd_temp": "calculated",
    "lfish_ke_temp": "calculated", "lfish_km": 0.0, "rate_constants": "a", "sediment_respire": "no",
    "phyto_respire": "no", "zoo_respire": "no", "beninv_respire": "yes",
    "filterfeeders_respire": "yes", "sfish_respire": "yes", "mfish_respire": "yes",
    "lfish_respire": "no",
}


def _rate(columns: dict[str, np.ndarray], name: str, calculated: np.ndarray) -> np.ndarray:
    """A rate-constant input: the user's number, or the calculated value where 'calculated'."""
    raw = columns[name]
    if raw.dtype != object:
        return raw.astype(float)
    is_calc = (raw == "calculated").astype(bool)
    given = np.where(is_calc, np.nan, raw).astype(float)
    return np.where(is_calc, calculated, given)


def _composition(columns: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    return {org: {part: col(columns, f"{org}_{part}") / 100.0 for part in ("lipid", "nlom", "water")}
            for org in ("sediment",) + ORGANISMS}


def _diet(columns: dict[str, np.ndarray], pred: str) -> dict[str, np.ndarray]:
    return {item: col(columns, f"{pred}_diet_{DIET_ITEM[item]}") / 100.0 for item in _prey(pred)}


def rate_constants(columns: dict[str, np.ndarray], kow: np.ndarray,
                   comp: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
    """k1, k2, kd, ke, kg, km per organism (Kabam Eqs. A5-A9); user values override."""
    temp, do = col(columns, "water_temp"), col(columns, "conc_do")
    ew = 1.0 / (1.85 + 155.0 / kow)
    ed = 1.0 / (3e-7 * kow + 2.0)
    k: dict[str, dict[str, np.ndarray]] = {}
    c = comp["phytoplankton"]
    k1 = _rate(columns, "phytoplankton_k1_temp", 1.0 / (6.0e-5 + 5.5 / kow))
    kbw = c["lipid"] * kow + c["nlom"] * BETA_PHYTO * kow + c["water"]
    k["phytoplankton"] = {"k1": k1, "k2": _rate(columns, "phytoplankton_k2_temp", k1 / kbw),
                          "kd": col(columns, "phytoplankton_kd_temp"),
                          "ke": col(columns, "phytoplankton_ke_temp"),
                          "kg": col(columns, "phytoplankton_kg"), "km": col(columns, "phytoplankton_km")}
    for org in ANIMALS:
        wb, c = col(columns, f"{org}_wb"), comp[org]
        gv = 1400.0 * wb ** 0.65 / do
        k1 = _rate(columns, f"{org}_k1_temp", ew * gv / wb)
        kbw = c["lipid"] * kow + c["nlom"] * BETA_ANIMAL * kow + c["water"]
        kg = np.where(temp < 17.5, 0.0005, 0.00251) * wb ** -0.2
        if org == "filterfeeders":
            gd = gv * col(columns, "conc_ss") * 1.0  # particle scavenging efficiency 1
        else:
            gd = 0.022 * wb ** 0.85 * np.exp(0.06 * temp)
        diet = _diet(columns, org)
        v = {part: sum(frac * comp[item][part] for item, frac in diet.items())
             for part in ("lipid", "nlom", "water")}
        eps_l, eps_n = EPSILON[org]
        egest = (1 - eps_l) * v["lipid"] + (1 - eps_n) * v["nlom"] + (1 - EPSILON_WATER) * v["water"]
        gut = {"lipid": (1 - eps_l) * v["lipid"] / egest, "nlom": (1 - eps_n) * v["nlom"] / egest,
               "water": (1 - EPSILON_WATER) * v["water"] / egest}
        kgb = (kow * (gut["lipid"] + BETA_ANIMAL * gut["nlom"]) + gut["water"]) / \
              (kow * (c["lipid"] + BETA_ANIMAL * c["nlom"]) + c["water"])
        k[org] = {"k1": k1, "k2": _rate(columns, f"{org}_k2_temp", k1 / kbw),
                  "kd": _rate(columns, f"{org}_kd_temp", ed * gd / wb),
                  "ke": _rate(columns, f"{org}_ke_temp", egest * gd * ed * kgb / wb),
                  "kg": kg, "km": col(columns, f"{org}_km")}
    return k


def food_web(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Residues and bioaccumulation factors for every organism (Eqs. A1, F1-F6)."""
    kow = 10.0 ** col(columns, "log_kow")
    wc, pw = col(columns, "water_column_eec"), col(columns, "pore_water_eec")
    phi = 1.0 / (1.0 + col(columns, "conc_poc") * ALPHA_POC * kow + col(columns, "conc_doc") * ALPHA_DOC * kow)
    c_soc = col(columns, "k_oc") * pw
    comp = _composition(columns)
    k = rate_constants(columns, kow, comp)
    conc = {"sediment": c_soc * col(columns, "sediment_oc") / 100.0}
    out = {"out_free_pest_conc_watercol": phi * wc}
    for org in ORGANISMS:
        r, lipid = k[org], comp[org]["lipid"]
        mp = np.where(columns[RESPIRE_FIELD[org]] == "yes", PORE_WATER_SHARE, 0.0)
        water_uptake = r["k1"] * ((1.0 - mp) * phi * wc + mp * pw)
        loss = r["k2"] + r["ke"] + r["kg"] + r["km"]
        diet_conc = np.zeros_like(wc)
        diet_lipid_norm = np.zeros_like(wc)
        if org != "phytoplankton":
            for item, frac in _diet(columns, org).items():
                part = frac * conc[item]
                diet_conc = diet_conc + part
                item_lipid = comp[item]["lipid"]
                diet_lipid_norm = diet_lipid_norm + np.where(item_lipid > 0, part / np.where(
                    item_lipid > 0, item_lipid, 1.0), 0.0)
            out[f"out_cbd_{org}"] = r["kd"] * diet_conc / loss
        cb = (water_uptake + r["kd"] * diet_conc) / loss
        conc[org] = cb
        out[f"out_cb_{org}"] = cb
        out[f"out_cbl_{org}"] = cb / lipid
        out[f"out_cbr_{org}"] = water_uptake / loss
        out[f"out_cbf_{org}"] = water_uptake / r["k2"] / wc
        out[f"out_cbfl_{org}"] = water_uptake / r["k2"] / lipid / (wc * phi)
        out[f"out_cbaf_{org}"] = cb / wc
        out[f"out_cbafl_{org}"] = cb / lipid / (wc * phi)
        out[f"out_cbsafl_{org}"] = cb / lipid / c_soc
        if org != "phytoplankton":
            out[f"out_bmf_{org}"] = cb / lipid / diet_lipid_norm
    return out


def _per_animal(out: dict[str, np.ndarray], stem: str, values: np.ndarray) -> None:
    for i in range(6):
        out[f"out_{stem}{i}"] = values[:, i]


def wildlife(columns: dict[str, np.ndarray], web: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """EECs, toxicity values and risk quotients for mammals and birds (Eqs. G1-G9)."""
    n = len(columns["log_kow"])
    wc = col(columns, "water_column_eec")[:, None]
    cb = np.column_stack([web[f"out_cb_{org}"] for org in ORGANISMS])  # ug/kg-ww, (n, 7)
    water = np.column_stack([col(columns, f"{org}_water") / 100.0 for org in ORGANISMS])
    out: dict[str, np.ndarray] = {}
    tox: dict[str, np.ndarray] = {}
    for cls, weights, diets, dry_coef, water_coef in (
            ("m", MAMMAL_WEIGHTS, MAMMAL_DIETS, (0.0687, 0.822), (0.099, 0.90)),
            ("a", BIRD_WEIGHTS, BIRD_DIETS, (0.0582, 0.651), (0.059, 0.67))):
        dry = dry_coef[0] * weights ** dry_coef[1] / weights
        wet = dry / (1.0 - water @ diets.T)
        drink = water_coef[0] * weights ** water_coef[1]
        diet_eec = cb @ diets.T / 1000.0  # mg/kg-diet
        dose_eec = diet_eec * wet + wc / 1000.0 * drink / weights
        suffix = "" if cls == "m" else "a"
        _per_animal(out, "mweight" if cls == "m" else "aweight", np.tile(weights, (n, 1)))
        _per_animal(out, f"dfir{suffix}", np.tile(dry, (n, 1)))
        _per_animal(out, f"wet_food_ingestion_{cls}", wet)
        _per_animal(out, f"drinking_water_intake_{cls}", np.tile(drink, (n, 1)))
        _per_animal(out, f"db4{suffix}", dose_eec)
        _per_animal(out, f"db5{suffix}", diet_eec)
        tox[f"dose_eec_{cls}"], tox[f"diet_eec_{cls}"] = dose_eec, diet_eec
    rat = columns["species_of_the_tested_mammal"] == "rat"
    mammal_bw = np.where(rat, col(columns, "bw_rat"), col(columns, "bw_other_mammal"))[:, None] / 1000.0
    size = (mammal_bw / MAMMAL_WEIGHTS) ** 0.25
    ppm = (columns["mammalian_chronic_endpoint_unit"] == "ppm")[:, None]
    chronic = col(columns, "mammalian_chronic_endpoint")[:, None]
    bird = columns["species_of_the_tested_bird"]
    bird_bw = np.select([bird == "quail", bird == "duck"], [col(columns, "bw_quail"), col(columns, "bw_duck")],
                        col(columns, "bw_other_bird"))[:, None] / 1000.0
    ones = np.ones((n, 6))
    values = {
        "acute_dose_based_m": col(columns, "mammalian_ld50")[:, None] * size,
        "acute_diet_based_m": col(columns, "mammalian_lc50")[:, None] * ones,
        "chronic_dose_based_m": np.where(ppm, chronic / 20.0, chronic) * size,
        "chronic_diet_based_m": np.where(ppm, chronic, chronic * 20.0) * ones,
        "acute_dose_based_a": col(columns, "avian_ld50")[:, None]
        * (BIRD_WEIGHTS / bird_bw) ** (col(columns, "mineau_scaling_factor")[:, None] - 1.0),
        "acute_diet_based_a": col(columns, "avian_lc50")[:, None] * ones,
        "chronic_diet_based_a": col(columns, "avian_noaec")[:, None] * ones,
    }
    for stem, val in values.items():
        _per_animal(out, stem, val)
    for kind in ("acute", "chronic"):
        for basis in ("dose", "diet"):
            for cls in ("m", "a"):
                key = f"{kind}_{basis}_based_{cls}"
                if key in values:
                    _per_animal(out, f"{kind}_rq_{basis}_{cls}", tox[f"{basis}_eec_{cls}"] / values[key])
    return out


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        web = food_web(columns)
        return {**web, **wildlife(columns, web)}
