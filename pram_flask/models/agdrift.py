"""AgDRIFT Tier I: spray-drift deposition downwind of a treated field.

Follows EPA's ubertool ``agdrift`` model (AgDRIFT v2.1.1 Tier I curves).
Each scenario (aerial drop size, ground boom height + drop size, airblast
orchard type) has a deposition curve, fraction of applied vs. distance (ft),
tabulated to 997 ft in ``data/agdrift_distance.csv`` and extended to twice
that with a power law fitted to its last 16 points (OPP's AGEXTD relative
ln-ln method). Given a distance, the curve is averaged over the width of a
pond, wetland or field (or read at a point for the EPA terrestrial point);
given a deposition (fraction applied, lb/ac, g/ha, mg/cm2 or ng/L) the model
finds the nearest distance at which it occurs, rounded as OPP's model does.
Outputs are rounded like OPP's AgDRIFT interface, as ubertool does.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import field_validator, model_validator

from ._common import RunInputs, col, number, text

NAME = "agdrift"
TITLE = "AgDRIFT (Tier I)"
DESCRIPTION = "Tier I spray-drift deposition and water/field concentrations downwind of an application."
VERSION = "2.1.1"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Application": ["application_rate", "application_method", "drop_size_aerial", "drop_size_ground",
        "boom_height", "airblast_type"],
    "Receiving area": ["ecosystem_type", "aquatic_body_type", "terrestrial_field_type", "user_pond_width",
        "user_pond_depth", "user_wetland_width", "user_wetland_depth", "user_terrestrial_width",
        "epa_pond_width", "epa_pond_depth", "epa_wetland_width", "epa_wetland_depth"],
    "Calculation": ["calculation_input", "downwind_distance", "user_frac_applied", "user_avg_dep_gha",
        "user_avg_dep_lbac", "user_avg_conc_ngl", "user_avg_dep_mgcm2"],
}

DATA_FILE = Path(__file__).parent / "data" / "agdrift_distance.csv"
MAX_DISTANCE = 997.0           # ft: furthest tabulated distance; area runs beyond it are invalid
MIN_AREA_WIDTH = 6.56          # ft: narrowest area a distance (forward) run integrates over
MAX_INPUT = 1e6                # ft: largest distance or width taken (ubertool takes any; the answer
                               # past the curves is the same: an invalid scenario or "out of range")
EXTENSION_STEP = 6.56          # ft between points of the extended curve tail
FIT_POINTS = 16                # points at the end of a curve used to extend it
DEFAULT_WIDTH, DEFAULT_LENGTH = 208.7, 515.8   # ft, EPA pond / wetland
DEFAULT_DEPTH = {"pond": 6.56, "wetland": 0.4921}  # ft
SQFT_PER_HECTARE, SQFT_PER_ACRE = 107636.0, 43560.0
ACRES_PER_HECTARE, GRAMS_PER_LB = 2.471, 453.592
CM2_PER_FT2, MG_PER_G, NG_PER_G, LITERS_PER_FT3 = 929.03, 1e3, 1e9, 28.3168
CHUNK = 2000                   # runs per (runs x curve points) matrix
SMALL_DISTANCES = (3.2808, 6.5616, 9.8424, 13.1232)  # ft: OPP rounds found distances up to these

AERIAL_IDS = {"very_fine_to_fine": "aerial_vf2f", "fine_to_medium": "aerial_f2m",
              "medium_to_coarse": "aerial_m2c", "coarse_to_very_coarse": "aerial_c2vc"}
GROUND_DROPS = {"very_fine": "vf", "fine_to_medium-coarse": "fmc"}
CALC_INPUTS = {"distance_to_point_or_area_ft": "downwind_distance", "fraction_of_applied": "user_frac_applied",
               "initial_deposition_gha": "user_avg_dep_gha", "initial_deposition_lbac": "user_avg_dep_lbac",
               "initial_deposition_mgcm2": "user_avg_dep_mgcm2", "initial_concentration_ngL": "user_avg_conc_ngl"}
_OPTIONAL_TEXT = ("drop_size_aerial", "drop_size_ground", "boom_height", "airblast_type",
                  "aquatic_body_type", "terrestrial_field_type")
_OPTIONAL_NUMBERS = ("user_pond_width", "user_pond_depth", "user_wetland_width", "user_wetland_depth",
                     "user_terrestrial_width", "downwind_distance", "user_frac_applied", "user_avg_dep_gha",
                     "user_avg_dep_lbac", "user_avg_conc_ngl", "user_avg_dep_mgcm2")


class Inputs(RunInputs):
    """One AgDRIFT Tier I run."""

    application_rate: float = number("lb a.i./A", "Application rate", gt=0)
    application_method: Literal["tier_1_aerial", "tier_1_ground", "tier_1_airblast"] = \
        text("Tier I application method")
    drop_size_aerial: Literal["very_fine_to_fine", "fine_to_medium", "medium_to_coarse",
                              "coarse_to_very_coarse"] | None = text("Droplet size (aerial)", None)
    drop_size_ground: Literal["very_fine", "fine_to_medium-coarse"] | None = text("Droplet size (ground)", None)
    boom_height: Literal["high", "low"] | None = text("Boom height (ground)", None)
    airblast_type: Literal["orchard", "vineyard", "normal", "dense", "sparse"] | None = \
        text("Orchard type (airblast)", None)
    ecosystem_type: Literal["aquatic_assessment", "terrestrial_assessment"] = text("Assessment type")
    aquatic_body_type: Literal["epa_defined_pond", "user_defined_pond", "epa_defined_wetland",
                               "user_defined_wetland"] | None = text("Water body (aquatic assessment)", None)
    terrestrial_field_type: Literal["epa_defined_terrestrial", "user_defined_terrestrial"] | None = \
        text("EPA point or user-defined field (terrestrial assessment)", None)
    user_pond_width: float | None = number("ft", "Width of user pond", None, gt=0, le=MAX_INPUT)
    user_pond_depth: float | None = number("ft", "Depth of user pond", None, gt=0)
    user_wetland_width: float | None = number("ft", "Width of user wetland", None, gt=0,
                                              le=MAX_INPUT)
    user_wetland_depth: float | None = number("ft", "Depth of user wetland", None, gt=0)
    user_terrestrial_width: float | None = number("ft", "Width of user field", None, gt=0,
                                                  le=MAX_INPUT)
    calculation_input: Literal["distance_to_point_or_area_ft", "fraction_of_applied", "initial_deposition_gha",
                               "initial_deposition_lbac", "initial_deposition_mgcm2",
                               "initial_concentration_ngL"] = text("Which quantity the user supplies")
    downwind_distance: float | None = number("ft", "Distance from field edge to point/area", None,
                                             ge=0, le=MAX_INPUT)
    user_frac_applied: float | None = number("-", "Average deposition, fraction of applied", None, gt=0)
    user_avg_dep_gha: float | None = number("g/ha", "Average deposition", None, gt=0)
    user_avg_dep_lbac: float | None = number("lb/ac", "Average deposition", None, gt=0)
    user_avg_conc_ngl: float | None = number("ng/L", "Average water concentration", None, gt=0)
    user_avg_dep_mgcm2: float | None = number("mg/cm2", "Average field deposition", None, gt=0)
    # EPA's web form shows the EPA pond's and wetland's size and sends it back; the
    # model uses its own fixed values (out_area_*), so these are descriptive only.
    epa_pond_width: str | None = text("EPA pond width shown by EPA's web form (descriptive only)", None)
    epa_pond_depth: str | None = text("EPA pond depth shown by EPA's web form (descriptive only)", None)
    epa_wetland_width: str | None = text("EPA wetland width shown by EPA's web form (descriptive only)", None)
    epa_wetland_depth: str | None = text("EPA wetland depth shown by EPA's web form (descriptive only)", None)

    @field_validator(*_OPTIONAL_TEXT, *_OPTIONAL_NUMBERS, mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _scenario_complete(self) -> "Inputs":
        method = self.application_method
        needs = {"tier_1_aerial": ("drop_size_aerial",), "tier_1_ground": ("drop_size_ground", "boom_height"),
                 "tier_1_airblast": ("airblast_type",)}[method]
        aquatic = self.ecosystem_type == "aquatic_assessment"
        needs += ("aquatic_body_type",) if aquatic else ("terrestrial_field_type",)
        _require(self, needs, f"{method} {self.ecosystem_type}")
        area = self.aquatic_body_type if aquatic else self.terrestrial_field_type
        if area in ("user_defined_pond", "user_defined_wetland"):
            kind = area.split("_")[-1]
            _require(self, (f"user_{kind}_width", f"user_{kind}_depth"), area)
        elif area == "user_defined_terrestrial":
            _require(self, ("user_terrestrial_width",), area)
        _require(self, (CALC_INPUTS[self.calculation_input],), f"calculation_input {self.calculation_input}")
        if self.calculation_input == "initial_concentration_ngL" and not aquatic:
            raise ValueError("initial_concentration_ngL applies only to an aquatic_assessment")
        if self.calculation_input == "initial_deposition_mgcm2" and aquatic:
            raise ValueError("initial_deposition_mgcm2 applies only to a terrestrial_assessment")
        return self


def _require(model: Inputs, fields: tuple[str, ...], why: str) -> None:
    missing = [f for f in fields if getattr(model, f) is None]
    if missing:
        raise ValueError(f"{why} needs {', '.join(missing)}")


OUTPUTS = {
    "out_sim_scenario_chk": {"description": "Scenario check message: 'Valid ...', or 'Invalid ... Due to "
                                            "Distance Violation' for a distance run past the curves", "units": "text"},
    "out_sim_scenario_id": {"description": "Deposition curve used", "units": "text"},
    "out_distance_downwind": {"description": "Distance from field edge to the point/area", "units": "ft"},
    "out_avg_dep_foa": {"description": "Average deposition, fraction of applied", "units": "-"},
    "out_avg_dep_lbac": {"description": "Average deposition", "units": "lb/ac"},
    "out_avg_dep_gha": {"description": "Average deposition", "units": "g/ha"},
    "out_avg_waterconc_ngl": {"description": "Average water concentration (aquatic)", "units": "ng/L"},
    "out_avg_field_dep_mgcm2": {"description": "Average field deposition (terrestrial)", "units": "mg/cm2"},
    "out_range_chk": {"description": "Whether the deposition was found (or the distance lies) within the "
                                     "curve: 'in range' or 'out of range'", "units": "text"},
    "out_area_width": {"description": "Width of the pond/wetland/field along the wind "
                                      "(0 for the EPA terrestrial point)", "units": "ft"},
    "out_area_length": {"description": "Length of the pond/wetland/field across the wind (1 ha in all)",
                        "units": "ft"},
    "out_area_depth": {"description": "Depth of the pond/wetland (0 for terrestrial areas)", "units": "ft"},
}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "chemical_name": "i", "application_rate": 0.5, "application_method": "tier_1_aerial",
    "drop_size_aerial": "medium_to_coarse", "ecosystem_type": "aquatic_assessment",
    "aquatic_body_type": "epa_defined_pond", "calculation_input": "distance_to_point_or_area_ft",
    "downwind_distance": 712.0,
}


# -- deposition curves ---------------------------------------------------------
@lru_cache(maxsize=1)
def curves() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every scenario's (distance ft, fraction applied) curve, blanks dropped, tail extended."""
    table = np.genfromtxt(DATA_FILE, delimiter=",", names=True)
    names = table.dtype.names or ()
    x_all = table[names[0]]
    out = {}
    for name in names[1:]:
        keep = ~np.isnan(table[name])
        out[name] = extend_curve(x_all[keep], table[name][keep])
    return out


def extend_curve(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extend to ~2 x 997 ft with y = y0 * a * (x - x0)**b fitted on the last FIT_POINTS points.

    (x0, y0) is the point just before those (the relative ln-ln fit of OPP's AGEXTD).
    """
    x0, y0 = x[-FIT_POINTS - 1], y[-FIT_POINTS - 1]
    slope, intercept = np.polyfit(np.log(x[-FIT_POINTS:] - x0), np.log(y[-FIT_POINTS:] / y0), 1)
    n_new = int(x[-1] / EXTENSION_STEP)  # out to about twice the last tabulated distance
    x_new = x[-1] + EXTENSION_STEP * np.arange(1, n_new + 1)
    y_new = y0 * np.exp(intercept) * (x_new - x0) ** slope
    return np.concatenate([x, x_new]), np.concatenate([y, y_new])


def _integral(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Integral of the piecewise-linear curve from x[0] to ``at`` (clipped to the curve)."""
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x))])
    at = np.clip(at, x[0], x[-1])
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2)
    dx = at - x[k]
    slope = (y[k + 1] - y[k]) / (x[k + 1] - x[k])
    return cum[k] + y[k] * dx + 0.5 * slope * dx ** 2


def area_average(x: np.ndarray, y: np.ndarray, start: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Average deposition over [start, start + width]."""
    return (_integral(x, y, start + width) - _integral(x, y, start)) / width


def distance_for_area_average(x: np.ndarray, y: np.ndarray, width: np.ndarray,
                              target: np.ndarray) -> np.ndarray:
    """Nearest curve distance whose running average over ``width`` reaches ``target`` (NaN: none)."""
    return np.concatenate([np.empty(0)] + [
        _distance_for_area_average(x, y, width[i:i + CHUNK], target[i:i + CHUNK])
        for i in range(0, len(target), CHUNK)])


def _distance_for_area_average(x: np.ndarray, y: np.ndarray, width: np.ndarray,
                               target: np.ndarray) -> np.ndarray:
    """One chunk of :func:`distance_for_area_average`.

    The running average is taken at each curve point that leaves room for the width; the
    crossing is rounded up to the segment midpoint or end, as OPP's AgDRIFT does.
    """
    avg = area_average(x, y, x[None, :], width[:, None])       # (runs, points)
    usable = x[None, :] < (x[-1] - width)[:, None]
    usable[:, -1] = False
    decreasing = y[1] < y[0]
    hit = (avg <= target[:, None]) if decreasing else (avg > target[:, None])
    first_hit = (avg[:, 0] < target) if decreasing else (avg[:, 0] > target)
    hit[:, 0] = first_hit
    hit &= usable
    found = hit.any(axis=1)
    i = np.argmax(hit, axis=1)
    prev = np.maximum(i - 1, 0)
    rows = np.arange(len(target))
    a_prev, a_here = avg[rows, prev], avg[rows, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (a_prev - target) / (a_prev - a_here)
    if decreasing:
        dist = np.where(fraction >= 0.5, x[i], x[prev] + 0.5 * (x[i] - x[prev]))
        dist = _round_small(dist)
    else:
        dist = x[prev] + fraction * (x[i] - x[prev])
    dist = np.where(i == 0, x[0], dist)
    return np.where(found, dist, np.nan)


def _round_small(dist: np.ndarray) -> np.ndarray:
    out = dist.copy()
    lower = -np.inf
    for step in SMALL_DISTANCES:
        out = np.where((dist > lower) & (dist <= step), step, out)
        lower = step
    return out


def distance_for_point(x: np.ndarray, y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """First downwind distance where the point deposition falls below ``target`` (NaN: none)."""
    below = y[None, :] < target[:, None]
    found = below.any(axis=1)
    j = np.argmax(below, axis=1)
    prev = np.maximum(j - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (y[prev] - target) / (y[prev] - y[j])
        exact = x[prev] + fraction * (x[j] - x[prev])
    dist = np.where(fraction <= 0.5, 0.5 * (x[j] + x[prev]), x[j])
    dist = np.where(exact > SMALL_DISTANCES[0], dist, SMALL_DISTANCES[0])
    dist = np.where((exact > SMALL_DISTANCES[0]) & (exact < SMALL_DISTANCES[1]), SMALL_DISTANCES[1], dist)
    dist = np.where(j == 0, 0.0, dist)
    return np.where(found, dist, np.nan)


# -- the run -------------------------------------------------------------------
def scenario(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(scenario check text, curve id) per run."""
    method = columns["application_method"].astype(str)
    aquatic = columns["ecosystem_type"] == "aquatic_assessment"
    label = np.char.add(np.where(aquatic, "Valid Tier I Aquatic ", "Valid Tier I Terrestrial "),
                        np.char.add(np.char.capitalize(np.char.replace(method, "tier_1_", "")), " Scenario"))
    ids = np.full(len(method), "", dtype=object)
    for drop, curve_id in AERIAL_IDS.items():
        ids[(method == "tier_1_aerial") & (columns["drop_size_aerial"] == drop)] = curve_id
    ground = method == "tier_1_ground"
    for boom in ("high", "low"):
        for drop, short in GROUND_DROPS.items():
            ids[ground & (columns["boom_height"] == boom) & (columns["drop_size_ground"] == drop)] = \
                f"ground_{boom}_{short}"
    for kind in ("orchard", "vineyard", "normal", "dense", "sparse"):
        ids[(method == "tier_1_airblast") & (columns["airblast_type"] == kind)] = f"airblast_{kind}"
    return label.astype(object), ids


def area_dimensions(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(width ft, depth ft) of the pond/wetland/field; width 0 for the EPA terrestrial point."""
    body = columns["aquatic_body_type"]
    field = columns["terrestrial_field_type"]
    aquatic = columns["ecosystem_type"] == "aquatic_assessment"
    width = np.select(
        [aquatic & (body == "user_defined_pond"), aquatic & (body == "user_defined_wetland"),
         aquatic, field == "user_defined_terrestrial"],
        [col(columns, "user_pond_width"), col(columns, "user_wetland_width"), DEFAULT_WIDTH,
         col(columns, "user_terrestrial_width")], 0.0)
    depth = np.select(
        [body == "user_defined_pond", body == "user_defined_wetland", body == "epa_defined_pond",
         body == "epa_defined_wetland"],
        [col(columns, "user_pond_depth"), col(columns, "user_wetland_depth"), DEFAULT_DEPTH["pond"],
         DEFAULT_DEPTH["wetland"]], np.nan)
    return width, np.where(aquatic, depth, np.nan)


def area_outputs(columns: dict[str, np.ndarray], width: np.ndarray,
                 depth: np.ndarray) -> dict[str, np.ndarray]:
    """The area's width, length and depth as reported: every area is one hectare, so a user's
    width sets the length; terrestrial areas have no depth (NaN: an aquatic run without a body type)."""
    body = columns["aquatic_body_type"]
    aquatic = columns["ecosystem_type"] == "aquatic_assessment"
    epa_body = aquatic & ((body == "epa_defined_pond") | (body == "epa_defined_wetland"))
    user_body = aquatic & ((body == "user_defined_pond") | (body == "user_defined_wetland"))
    user_field = ~aquatic & (columns["terrestrial_field_type"] == "user_defined_terrestrial")
    with np.errstate(divide="ignore", invalid="ignore"):
        user_length = SQFT_PER_HECTARE / width
    known = epa_body | user_body | ~aquatic
    return {
        "out_area_width": np.where(known, width, np.nan),
        "out_area_length": np.select([epa_body, user_body | user_field, ~aquatic],
                                     [DEFAULT_LENGTH, user_length, 0.0], np.nan),
        "out_area_depth": np.where(aquatic, depth, np.where(known, 0.0, np.nan)),
    }


def _lbac_to_ngl(lbac: np.ndarray, depth: np.ndarray) -> np.ndarray:
    return lbac * GRAMS_PER_LB * NG_PER_G / SQFT_PER_ACRE / (depth * LITERS_PER_FT3)


def _lbac_to_mgcm2(lbac: np.ndarray) -> np.ndarray:
    return lbac * GRAMS_PER_LB * MG_PER_G / (SQFT_PER_ACRE * CM2_PER_FT2)


def user_lbac(columns: dict[str, np.ndarray], depth: np.ndarray) -> np.ndarray:
    """The user's deposition (any calculation input but distance) in lb/ac."""
    calc = columns["calculation_input"]
    rate = col(columns, "application_rate")
    return np.select(
        [calc == "fraction_of_applied", calc == "initial_deposition_lbac", calc == "initial_deposition_gha",
         calc == "initial_deposition_mgcm2", calc == "initial_concentration_ngL"],
        [col(columns, "user_frac_applied") * rate, col(columns, "user_avg_dep_lbac"),
         col(columns, "user_avg_dep_gha") / (GRAMS_PER_LB * ACRES_PER_HECTARE),
         col(columns, "user_avg_dep_mgcm2") / _lbac_to_mgcm2(np.ones_like(rate)),
         col(columns, "user_avg_conc_ngl") / _lbac_to_ngl(np.ones_like(rate), depth)], np.nan)


def opp_round(values: np.ndarray) -> np.ndarray:
    """OPP AgDRIFT display rounding: 4 decimals in (1e-4, 1), 2 above 1, else 3 significant digits."""
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(np.where(v == 0, 1.0, v))))
        scale = 10.0 ** (exponent - 2)
        sig = np.round(v / scale) * scale
    return np.select([(v > 1e-4) & (v < 1.0), v > 1.0], [np.round(v, 4), np.round(v, 2)],
                     np.where(np.isfinite(v), sig, v))


def _solve_curve(curve_id: str, rows: np.ndarray, by_distance: np.ndarray, point: np.ndarray,
                 distance: np.ndarray, width: np.ndarray, foa: np.ndarray) -> None:
    """Fill ``foa`` (from distances) or ``distance`` (from depositions) in place for one curve's runs."""
    x, y = curves()[curve_id]
    sel = rows & by_distance & point
    foa[sel] = np.interp(distance[sel], x, y)
    sel = rows & by_distance & ~point
    foa[sel] = area_average(x, y, distance[sel], width[sel])
    sel = rows & ~by_distance & point
    distance[sel] = distance_for_point(x, y, foa[sel])
    sel = rows & ~by_distance & ~point
    if sel.any():
        distance[sel] = distance_for_area_average(x, y, width[sel], foa[sel])


def distance_violation(ids: np.ndarray, by_distance: np.ndarray, point: np.ndarray, distance: np.ndarray,
                       width: np.ndarray) -> np.ndarray:
    """Distance runs that ubertool names invalid: an area starting past 997 ft, or narrower than
    6.56 ft or wider than 997 ft; a point past its (extended) curve, where ubertool fails."""
    end = np.zeros(len(ids))
    for curve_id in set(ids):
        end[ids == curve_id] = curves()[curve_id][0][-1]
    with np.errstate(invalid="ignore"):
        area = (distance > MAX_DISTANCE) | (width > MAX_DISTANCE) | (width < MIN_AREA_WIDTH)
        return by_distance & np.where(point, distance > end, area)


def compute(columns: dict[str, np.ndarray]) -> dict[str, Any]:
    check, ids = scenario(columns)
    width, depth = area_dimensions(columns)
    rate = col(columns, "application_rate")
    by_distance = columns["calculation_input"] == "distance_to_point_or_area_ft"
    point = width == 0.0
    distance = np.where(by_distance, col(columns, "downwind_distance"), np.nan)
    invalid = distance_violation(ids, by_distance, point, distance, width)
    foa = np.where(by_distance, np.nan, user_lbac(columns, depth) / rate)
    for curve_id in sorted(set(ids)):
        _solve_curve(curve_id, (ids == curve_id) & ~invalid, by_distance, point, distance, width, foa)
    check = np.where(invalid, np.char.add(np.char.replace(check.astype(str), "Valid", "Invalid"),
                                          " Due to Distance Violation"), check).astype(object)
    lbac = foa * rate
    aquatic = columns["ecosystem_type"] == "aquatic_assessment"
    return {
        "out_sim_scenario_chk": check, "out_sim_scenario_id": ids,
        "out_distance_downwind": distance,
        "out_avg_dep_foa": opp_round(foa), "out_avg_dep_lbac": opp_round(lbac),
        "out_avg_dep_gha": opp_round(lbac * GRAMS_PER_LB * ACRES_PER_HECTARE),
        "out_avg_waterconc_ngl": opp_round(np.where(aquatic, _lbac_to_ngl(lbac, depth), np.nan)),
        "out_avg_field_dep_mgcm2": opp_round(np.where(aquatic, np.nan, _lbac_to_mgcm2(lbac))),
        "out_range_chk": np.where(np.isnan(distance) | invalid, "out of range", "in range").astype(object),
        **area_outputs(columns, width, depth),
    }
