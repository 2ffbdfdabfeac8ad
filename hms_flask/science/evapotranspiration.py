"""Daily potential evapotranspiration: Hamon, Hargreaves, Priestley-Taylor (numpy, vectorised over days).

Radiation and the atmosphere follow FAO Irrigation and Drainage Paper 56
(Allen, Pereira, Raes & Smith 1998), cited below as FAO-56 with its equation
numbers. Evapotranspiration below zero (a net radiation loss, or a Hargreaves
mean temperature under -17.8 °C) is reported as 0.
"""
from __future__ import annotations

import numpy as np

GSC = 0.0820           # solar constant, MJ m-2 min-1 (FAO-56 eq. 21)
SIGMA = 4.903e-9       # Stefan-Boltzmann, MJ K-4 m-2 day-1 (FAO-56 eq. 39)
INV_LAMBDA = 0.408     # 1 / latent heat (2.45 MJ/kg): MJ m-2 day-1 -> mm/day (FAO-56 eq. 20)


def solar_geometry(latitude_deg: float, day_of_year: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse relative distance dr, declination δ (rad), sunset hour angle ωs (rad)."""
    j = np.asarray(day_of_year, dtype=float)
    phi = np.radians(latitude_deg)
    dr = 1 + 0.033 * np.cos(2 * np.pi * j / 365)                  # FAO-56 eq. 23
    delta = 0.409 * np.sin(2 * np.pi * j / 365 - 1.39)             # FAO-56 eq. 24
    # FAO-56 eq. 25; clipped so that polar day (ωs = π) and night (0) have their limits.
    omega = np.arccos(np.clip(-np.tan(phi) * np.tan(delta), -1.0, 1.0))
    return dr, delta, omega


def extraterrestrial_radiation(latitude_deg: float, day_of_year: np.ndarray) -> np.ndarray:
    """Ra (MJ m-2 day-1), FAO-56 eq. 21."""
    dr, delta, omega = solar_geometry(latitude_deg, day_of_year)
    phi = np.radians(latitude_deg)
    ra = 24 * 60 / np.pi * GSC * dr * (omega * np.sin(phi) * np.sin(delta)
                                       + np.cos(phi) * np.cos(delta) * np.sin(omega))
    return np.maximum(ra, 0.0)


def daylight_hours(latitude_deg: float, day_of_year: np.ndarray) -> np.ndarray:
    """N (hours), FAO-56 eq. 34."""
    return 24 / np.pi * solar_geometry(latitude_deg, day_of_year)[2]


def saturation_vapour_pressure(t: np.ndarray) -> np.ndarray:
    """e°(T) (kPa), FAO-56 eq. 11."""
    return 0.6108 * np.exp(17.27 * t / (t + 237.3))


def hargreaves(tmin: np.ndarray, tmax: np.ndarray, ra: np.ndarray) -> np.ndarray:
    """ET0 (mm/day), FAO-56 eq. 52 (Hargreaves & Samani 1985), Ra as evaporation equivalent."""
    tmean = (tmin + tmax) / 2
    et = 0.0023 * (tmean + 17.8) * np.sqrt(tmax - tmin) * INV_LAMBDA * ra
    return np.maximum(et, 0.0)


def hamon(tmin: np.ndarray, tmax: np.ndarray, daylight: np.ndarray, coefficient: float = 1.2) -> np.ndarray:
    """PET (mm/day), Hamon (1961) in the form of Haith & Shoemaker (1987):
    0.1651 (N / 12) ρsat k, ρsat = 216.7 es / (T + 273.3) g m-3, es in hPa
    (6.108 exp(17.26939 T / (T + 237.3))), T the mean of tmin and tmax, k = 1.2 by default."""
    t = (tmin + tmax) / 2
    es = 6.108 * np.exp(17.26939 * t / (t + 237.3))
    rho_sat = 216.7 * es / (t + 273.3)
    return 0.1651 * (daylight / 12) * rho_sat * coefficient


def net_radiation(rs: np.ndarray, ra: np.ndarray, tmin: np.ndarray, tmax: np.ndarray, ea: np.ndarray,
                  elevation: float = 0.0, albedo: float = 0.23) -> np.ndarray:
    """Rn (MJ m-2 day-1): FAO-56 eqs. 37 (Rso), 38 (Rns) and 39 (Rnl)."""
    rso = (0.75 + 2e-5 * elevation) * ra
    ratio = np.clip(np.divide(rs, rso, out=np.ones_like(rs, dtype=float), where=rso > 0), 0.0, 1.0)  # Rs/Rso <= 1
    rnl = (SIGMA * ((tmax + 273.16) ** 4 + (tmin + 273.16) ** 4) / 2
           * (0.34 - 0.14 * np.sqrt(ea)) * (1.35 * ratio - 0.35))
    return (1 - albedo) * rs - rnl


def priestley_taylor(tmin: np.ndarray, tmax: np.ndarray, rs: np.ndarray, ra: np.ndarray,
                     elevation: float = 0.0, albedo: float = 0.23, alpha: float = 1.26) -> np.ndarray:
    """PET (mm/day), Priestley & Taylor (1972): α Δ/(Δ+γ) Rn / λ, soil heat flux 0 for a day
    (FAO-56 eq. 42); Δ at the mean temperature (FAO-56 eq. 13), γ from the elevation's pressure
    (FAO-56 eqs. 7, 8), ea = e°(Tmin) (FAO-56 eq. 48)."""
    t = (tmin + tmax) / 2
    slope = 4098 * saturation_vapour_pressure(t) / (t + 237.3) ** 2
    pressure = 101.3 * ((293 - 0.0065 * elevation) / 293) ** 5.26
    gamma = 0.665e-3 * pressure
    rn = net_radiation(rs, ra, tmin, tmax, saturation_vapour_pressure(tmin), elevation, albedo)
    return np.maximum(alpha * slope / (slope + gamma) * rn * INV_LAMBDA, 0.0)
