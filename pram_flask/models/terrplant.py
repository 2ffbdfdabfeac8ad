"""TerrPlant: exposure of terrestrial plants to a single pesticide application.

Science from EPA's ubertool ``terrplant`` model (TerrPlant v1.2.2, the version
of its QA/QC cases). Estimated environmental concentrations (EECs, lbs
a.i./acre) are derived for runoff to dry and to semi-aquatic areas and for
spray drift. Each EEC is divided by a plant toxicity endpoint to give risk
quotients (RQs) for four plant groups: non-listed / listed monocots and
dicots. Runoff RQs use the seedling emergence endpoint; spray drift RQs use
the lower of the seedling emergence and vegetative vigor endpoints. An RQ of
1 or more indicates potential risk.
"""
from __future__ import annotations

import numpy as np

from ._common import RunInputs, col, number, text

NAME = "terrplant"
TITLE = "TerrPlant"
DESCRIPTION = ("Screening-level exposure and risk quotients for terrestrial and semi-aquatic "
               "plants from a single pesticide application via runoff and spray drift.")
VERSION = "1.2.2"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Application": ["use", "application_method", "application_form", "solubility", "incorporation_depth",
        "application_rate", "drift_fraction", "runoff_fraction"],
    "Plant toxicity": ["ec25_nonlisted_seedling_emergence_monocot", "noaec_listed_seedling_emergence_monocot",
        "ec25_nonlisted_seedling_emergence_dicot", "noaec_listed_seedling_emergence_dicot",
        "ec25_nonlisted_vegetative_vigor_monocot", "noaec_listed_vegetative_vigor_monocot",
        "ec25_nonlisted_vegetative_vigor_dicot", "noaec_listed_vegetative_vigor_dicot"],
}

_RATE = "lbs a.i./acre"


class Inputs(RunInputs):
    use: str | None = text("Crop or use site (descriptive only)", None)
    application_method: str | None = text("Application method, e.g. Ground (descriptive only)", None)
    application_form: str | None = text("Application form, e.g. Spray (descriptive only)", None)
    solubility: float | None = number("ppm", "Water solubility (descriptive only)", None, ge=0)
    incorporation_depth: float = number("in", "Incorporation depth", gt=0)
    application_rate: float = number(_RATE, "Application rate", ge=0)
    drift_fraction: float = number("-", "Spray drift fraction", ge=0, le=1)
    runoff_fraction: float = number("-", "Runoff fraction", ge=0, le=1)
    ec25_nonlisted_seedling_emergence_monocot: float = number(
        _RATE, "EC25 for non-listed monocots, seedling emergence", gt=0)
    noaec_listed_seedling_emergence_monocot: float = number(
        _RATE, "NOAEC for listed monocots, seedling emergence", gt=0)
    ec25_nonlisted_seedling_emergence_dicot: float = number(
        _RATE, "EC25 for non-listed dicots, seedling emergence", gt=0)
    noaec_listed_seedling_emergence_dicot: float = number(
        _RATE, "NOAEC for listed dicots, seedling emergence", gt=0)
    ec25_nonlisted_vegetative_vigor_monocot: float = number(
        _RATE, "EC25 for non-listed monocots, vegetative vigor", gt=0)
    noaec_listed_vegetative_vigor_monocot: float = number(
        _RATE, "NOAEC for listed monocots, vegetative vigor", gt=0)
    ec25_nonlisted_vegetative_vigor_dicot: float = number(
        _RATE, "EC25 for non-listed dicots, vegetative vigor", gt=0)
    noaec_listed_vegetative_vigor_dicot: float = number(
        _RATE, "NOAEC for listed dicots, vegetative vigor", gt=0)


# (output prefix, plant group text, seedling emergence input, vegetative vigor input)
GROUPS = (
    ("nms", "non-listed monocot", "ec25_nonlisted_seedling_emergence_monocot",
     "ec25_nonlisted_vegetative_vigor_monocot"),
    ("lms", "listed monocot", "noaec_listed_seedling_emergence_monocot",
     "noaec_listed_vegetative_vigor_monocot"),
    ("nds", "non-listed dicot", "ec25_nonlisted_seedling_emergence_dicot",
     "ec25_nonlisted_vegetative_vigor_dicot"),
    ("lds", "listed dicot", "noaec_listed_seedling_emergence_dicot",
     "noaec_listed_vegetative_vigor_dicot"),
)
# (output suffix, exposure route text used in the level-of-concern message)
ROUTES = (("dry", "runoff to dry areas"), ("semi", "runoff to semi-aquatic areas"),
          ("spray", "spray drift"))


def _outputs() -> dict[str, dict[str, str]]:
    out = {
        "out_run_dry": {"description": "EEC from runoff to dry areas", "units": _RATE},
        "out_run_semi": {"description": "EEC from runoff to semi-aquatic areas", "units": _RATE},
        "out_spray": {"description": "EEC from spray drift", "units": _RATE},
        "out_total_dry": {"description": "Total EEC in dry areas (runoff + drift)", "units": _RATE},
        "out_total_semi": {"description": "Total EEC in semi-aquatic areas (runoff + drift)",
                           "units": _RATE},
    }
    for key, group, _, _ in GROUPS:
        out[f"out_min_{key}_spray"] = {
            "description": f"Lowest {group} endpoint (seedling emergence or vegetative vigor) "
                           "used for the spray drift RQ", "units": _RATE}
    for key, group, _, _ in GROUPS:
        for route, route_text in ROUTES:
            out[f"out_{key}_rq_{route}"] = {
                "description": f"Risk quotient for {group}s via {route_text}", "units": "-"}
            out[f"out_{key}_loc_{route}"] = {
                "description": f"Level of concern for {group}s via {route_text}", "units": "text"}
    return out


OUTPUTS = _outputs()

# Risk at a glance (flask_qed.risk): ubertool's TerrPlant calls a plant RQ at or above
# 1.0 a potential risk (its out_*_loc_* messages).
LOCS = {"plant": {"level": 1.0, "label": "plant", "source": "EPA's TerrPlant (ubertool: an RQ >= 1.0 "
                                                           "indicates a potential risk)"}}
RISK = {name: ["plant"] for name in OUTPUTS if "_rq_" in name}
GLOSSARY = {"nms": "non-listed monocot seedlings", "lms": "listed monocot seedlings",
            "nds": "non-listed dicot seedlings", "lds": "listed dicot seedlings", "dry": "runoff to dry areas",
            "semi": "runoff to semi-aquatic areas", "spray": "spray drift", "ec25": "25 % effect concentration"}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "version": "1.2.2", "chemical_name": "Alachlor", "pc_code": "90501", "use": "Corn",
    "application_method": "Ground", "application_form": "Spray", "solubility": 240.0,
    "incorporation_depth": 1.0, "application_rate": 4.0, "drift_fraction": 0.01,
    "runoff_fraction": 0.05, "ec25_nonlisted_seedling_emergence_monocot": 0.0067,
    "noaec_listed_seedling_emergence_monocot": 0.034,
    "ec25_nonlisted_seedling_emergence_dicot": 0.0023,
    "noaec_listed_seedling_emergence_dicot": 0.019,
    "ec25_nonlisted_vegetative_vigor_monocot": 0.068, "noaec_listed_vegetative_vigor_monocot": 1.4,
    "ec25_nonlisted_vegetative_vigor_dicot": 0.037, "noaec_listed_vegetative_vigor_dicot": 0.67,
}


def level_of_concern(rq: np.ndarray, group: str, route_text: str) -> np.ndarray:
    """ubertool's message per run: potential risk when RQ >= 1, minimal otherwise."""
    head = f"The risk quotient for {group} seedlings exposed to the pesticide via {route_text} indicates"
    return np.where(rq >= 1.0, f"{head} a potential risk.", f"{head} that potential risk is minimal.")


def exposure(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """EECs for runoff (dry, semi-aquatic), spray drift and their totals."""
    rate = col(columns, "application_rate")
    runoff = rate / col(columns, "incorporation_depth") * col(columns, "runoff_fraction")
    spray = rate * col(columns, "drift_fraction")
    run_semi = runoff * 10.0  # semi-aquatic areas receive ten times the dry-area runoff
    return {"out_run_dry": runoff, "out_run_semi": run_semi, "out_spray": spray,
            "out_total_dry": runoff + spray, "out_total_semi": run_semi + spray}


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = exposure(columns)
    eec = {"dry": out["out_total_dry"], "semi": out["out_total_semi"], "spray": out["out_spray"]}
    for key, _, seedling, vigor in GROUPS:
        out[f"out_min_{key}_spray"] = np.minimum(col(columns, seedling), col(columns, vigor))
    with np.errstate(divide="ignore", invalid="ignore"):
        for key, group, seedling, _ in GROUPS:
            endpoint = {"dry": col(columns, seedling), "semi": col(columns, seedling),
                        "spray": out[f"out_min_{key}_spray"]}
            for route, route_text in ROUTES:
                rq = eec[route] / endpoint[route]
                out[f"out_{key}_rq_{route}"] = rq
                out[f"out_{key}_loc_{route}"] = level_of_concern(rq, group, route_text)
    return out
