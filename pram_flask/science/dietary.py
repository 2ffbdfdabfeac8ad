"""Shared dietary-exposure pieces of T-REX and T-HERPS (EPA's Kenaga nomogram).

Residues on food items follow first-order foliar dissipation: each application
adds ``rate * fraction a.i. * food multiplier`` (mg/kg-diet per lb a.i./acre)
and the whole residue decays by ``exp(-ln 2 / half-life)`` every day.  Both
ubertool models take the highest daily residue of the year as the dietary EEC.
The residue is linear in the food multiplier, so the peak of the residue per
unit multiplier is computed once and scaled per food item.
"""
from __future__ import annotations

import json
import math
from itertools import chain
from typing import Any

import numpy as np

DAYS_IN_YEAR = 365

# Kenaga upper-bound (initial) and mean residue multipliers, mg/kg per lb a.i./acre.
FOOD_INIT = {"sg": 240.0, "tg": 110.0, "bp": 135.0, "fp": 15.0, "ar": 94.0}
FOOD_MEAN = {"sg": 85.0, "tg": 36.0, "bp": 45.0, "fp": 7.0, "ar": 65.0}

# Mass fraction of water in the food: granivores (seeds) and herbivores/insectivores.
WATER_SEEDS = 0.1
WATER_FOLIAGE = 0.8


# -- list inputs -------------------------------------------------------------
def parse_number_list(value: Any) -> Any:
    """ubertool list strings such as "[1.15,1.15]" -> [1.15, 1.15]; lists pass through."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"not a list of numbers: {value!r}") from None
        if not isinstance(value, list):
            raise ValueError("must be a list such as [1.0, 2.0]")
    return value


def number_list(value: Any, name: str, integer: bool = False) -> list[float] | list[int]:
    """Parse an ubertool list string ("[1,2]") or a list into checked numbers.

    Raises ValueError (a 422 for the framework) for anything that is not a
    non-empty list of finite, non-negative numbers (whole numbers if ``integer``).
    """
    try:
        items = parse_number_list(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"{name} must be a list of numbers such as [1, 2], not {value!r}")
    if not items:
        raise ValueError(f"{name} must hold at least one value")
    out: list[Any] = []
    for pos, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ValueError(f"{name}[{pos}] is not a number: {item!r}")
        if not math.isfinite(item):
            raise ValueError(f"{name}[{pos}] must be a finite number, not {item!r}")
        if item < 0:
            raise ValueError(f"{name}[{pos}] must not be negative ({item!r})")
        if integer:
            if item != int(item):
                raise ValueError(f"{name}[{pos}] must be a whole day number, not {item!r}")
            item = int(item)
        out.append(float(item) if not integer else item)
    return out


def check_schedule(rates: list[float], days: list[int], num_apps: int) -> None:
    """Cross-check an application schedule; ValueError naming the fields."""
    if len(rates) != num_apps:
        raise ValueError(f"app_rates has {len(rates)} value(s) but num_apps is {num_apps}")
    if len(days) != len(rates):
        raise ValueError(f"day_out has {len(days)} value(s) but app_rates has {len(rates)}")
    if days[0] < 1 or days[-1] > DAYS_IN_YEAR:
        raise ValueError(f"day_out days must lie between 1 and {DAYS_IN_YEAR}")
    if any(b <= a for a, b in zip(days, days[1:])):
        raise ValueError("day_out must be strictly ascending (one application per day)")


# -- ragged application lists -> padded arrays -------------------------------
def pad_schedule(rates: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Object arrays of per-run lists -> (rates, days) float arrays of shape runs x max apps.

    Padding rates are 0 and padding days repeat the run's last day, so padded
    applications add nothing and take no time.
    """
    counts = np.fromiter((len(r) for r in rates), dtype=np.int64, count=len(rates))
    width = int(counts.max()) if len(counts) else 0
    mask = np.arange(width)[None, :] < counts[:, None]
    rate_arr = np.zeros((len(rates), width))
    day_arr = np.zeros((len(rates), width))
    rate_arr[mask] = np.fromiter(chain.from_iterable(rates), dtype=np.float64)
    day_arr[mask] = np.fromiter(chain.from_iterable(days), dtype=np.float64)
    return rate_arr, np.maximum.accumulate(day_arr, axis=1)


def even_schedule(rate: np.ndarray, num_apps: np.ndarray, interval: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Equal applications every ``interval`` days from day 1, padded like :func:`pad_schedule`."""
    apps = num_apps.astype(np.int64)
    width = int(apps.max()) if len(apps) else 0
    k = np.arange(width)[None, :]
    live = k < apps[:, None]
    rates = np.where(live, rate[:, None], 0.0)
    days = 1.0 + np.minimum(k, apps[:, None] - 1) * interval[:, None]
    return rates, days


def peak_residue(rates: np.ndarray, days: np.ndarray, halflife: np.ndarray) -> np.ndarray:
    """Highest daily residue per unit food multiplier (lb a.i./acre units), per run.

    Between applications the residue only decays, so the yearly maximum is
    reached on an application day; loop over applications, vectorised over runs.
    """
    daily = np.exp(-np.log(2.0) / halflife)
    level = np.zeros(rates.shape[0])
    peak = np.zeros(rates.shape[0])
    for k in range(rates.shape[1]):
        gap = days[:, k] - days[:, k - 1] if k else np.zeros(rates.shape[0])
        level = level * daily ** gap + rates[:, k]
        peak = np.maximum(peak, level)
    return peak


def daily_residues(rates: np.ndarray, days: np.ndarray, halflife: np.ndarray,
                   n_days: int = DAYS_IN_YEAR + 6) -> np.ndarray:
    """Runs x days residue series (per unit multiplier), day 1 in column 0.

    ubertool's day-by-day scheme (a year plus a week); used to check
    :func:`peak_residue` and for plotting clients.
    """
    n = rates.shape[0]
    added = np.zeros((n, n_days + 1))
    cols = np.clip(days.astype(np.int64) - 1, 0, n_days)
    np.add.at(added, (np.repeat(np.arange(n), rates.shape[1]), cols.ravel()), rates.ravel())
    daily = np.exp(-np.log(2.0) / halflife)
    series = np.zeros((n, n_days))
    level = np.zeros(n)
    for t in range(n_days):
        level = level * daily + added[:, t]
        series[:, t] = level
    return series


# -- allometry (shared by both models) ---------------------------------------
def food_intake_bird(weight_g: np.ndarray, water: float) -> np.ndarray:
    """Wet food intake of a bird, g/day (Nagy 1987)."""
    return 0.648 * weight_g ** 0.651 / (1.0 - water)


def food_intake_mamm(weight_g: np.ndarray, water: float) -> np.ndarray:
    """Wet food intake of a mammal, g/day (Nagy 1987)."""
    return 0.621 * weight_g ** 0.564 / (1.0 - water)


def adjusted_ld50_bird(ld50: np.ndarray, weight: np.ndarray, tested: np.ndarray,
                       mineau: np.ndarray) -> np.ndarray:
    """Bird LD50 scaled to the assessed body weight with Mineau's factor, mg/kg-bw."""
    return ld50 * (weight / tested) ** (mineau - 1.0)


def adjusted_mamm(tox: np.ndarray, weight: np.ndarray, tested: np.ndarray) -> np.ndarray:
    """Mammal LD50/NOAEL scaled to the assessed body weight (power 1/4), mg/kg-bw."""
    return tox * (tested / weight) ** 0.25
