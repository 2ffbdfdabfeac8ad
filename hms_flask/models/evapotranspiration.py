"""Daily potential evapotranspiration by the Hamon, Hargreaves or Priestley-Taylor method.

Extraterrestrial radiation Ra from the latitude and day of year (FAO-56 eqs.
21-25), daylight hours N (FAO-56 eq. 34); Hargreaves per FAO-56 eq. 52; Hamon
(1961) in the Haith & Shoemaker (1987) form, k = 1.2, as EPA HMS applies it;
Priestley & Taylor (1972) with FAO-56's net radiation (eqs. 37-39) and
ea = e°(Tmin) (eq. 48). See hms_flask.science.evapotranspiration.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from flask_qed import FieldError

from ..science import evapotranspiration as et

NAME = "evapotranspiration"
TITLE = "Potential evapotranspiration"
DESCRIPTION = ("Daily potential evapotranspiration from air temperature (Hamon, Hargreaves) or "
               "solar radiation (Priestley-Taylor), with extraterrestrial radiation per FAO-56.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Method": ["algorithm"],
    "Site and period": ["latitude", "start_date", "elevation"],
    "Daily series": ["tmin", "tmax", "rs"],
    "Coefficients": ["albedo", "alpha", "hamon_coefficient"],
}
BATCH = False
ALIASES = ()
MAX_DAYS = 200_000
MAX_COST = MAX_DAYS
COST_UNITS = "days"
TIME_LIMIT = 60

Temperature = Annotated[float, Field(ge=-90, le=70)]       # °C: beyond the records on Earth
Radiation = Annotated[float, Field(ge=0, le=50)]           # MJ m-2 day-1: above Ra's maximum (~45)
NEEDS = {"hamon": (), "hargreaves": (), "priestley_taylor": ("rs",)}


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    algorithm: Literal["hamon", "hargreaves", "priestley_taylor"] = Field(
        ..., description="hamon, hargreaves or priestley_taylor", json_schema_extra={"units": "-"})
    latitude: float = Field(..., ge=-90, le=90, description="Latitude (south negative)",
                            json_schema_extra={"units": "degrees"})
    start_date: date = Field(..., description="Date of the first day", json_schema_extra={"units": "ISO 8601"})
    tmin: list[Temperature] = Field(..., min_length=1, max_length=MAX_DAYS,
                                    description="Daily minimum air temperature; -90 .. 70",
                                    json_schema_extra={"units": "degC", "series": "time"})
    tmax: list[Temperature] = Field(..., min_length=1, max_length=MAX_DAYS,
                                    description="Daily maximum air temperature; -90 .. 70",
                                    json_schema_extra={"units": "degC", "series": "time"})
    rs: list[Radiation] | None = Field(None, description="Daily solar (shortwave) radiation, for "
                                       "priestley_taylor; 0 .. 50", json_schema_extra={"units": "MJ/m2/day",
                                                                           "series": "time"})
    elevation: float = Field(0.0, ge=-500, le=9000, description="Elevation above sea level "
                             "(priestley_taylor)", json_schema_extra={"units": "m"})
    albedo: float = Field(0.23, ge=0, le=1, description="Surface albedo (priestley_taylor; FAO-56 "
                          "grass reference 0.23)", json_schema_extra={"units": "-"})
    alpha: float = Field(1.26, gt=0, le=3, description="Priestley-Taylor coefficient",
                         json_schema_extra={"units": "-"})
    hamon_coefficient: float = Field(1.2, gt=0, le=3, description="Hamon calibration coefficient k",
                                     json_schema_extra={"units": "-"})

    @model_validator(mode="after")
    def _check(self) -> "Inputs":
        days = len(self.tmin)
        if len(self.tmax) != days:
            raise FieldError("tmax", f"has {len(self.tmax)} days and tmin {days}; they must match")
        for name in NEEDS[self.algorithm]:
            if getattr(self, name) is None:
                raise FieldError(name, f"the {self.algorithm} algorithm needs {name}")
        if self.rs is not None and len(self.rs) != days:
            raise FieldError("rs", f"has {len(self.rs)} days and tmin {days}; they must match")
        bad = [i for i, (lo, hi) in enumerate(zip(self.tmin, self.tmax)) if lo > hi]
        if bad:
            raise FieldError("tmin", f"above tmax on day {bad[0]} (0-based)")
        if date.max - self.start_date < timedelta(days=days - 1):
            raise ValueError("the series runs past the year 9999")
        return self

    def days_of_year(self) -> np.ndarray:
        dates = [self.start_date + timedelta(days=k) for k in range(len(self.tmin))]
        return np.array([d.timetuple().tm_yday for d in dates])


def estimate_cost(inputs: Inputs) -> int:
    return len(inputs.tmin)


OUTPUTS = {
    "dates": {"description": "Date of each day", "units": "ISO 8601"},
    "out_pet": {"description": "Potential evapotranspiration", "units": "mm/day"},
    "out_ra": {"description": "Extraterrestrial radiation Ra (FAO-56 eq. 21)", "units": "MJ/m2/day"},
    "out_daylight": {"description": "Daylight hours N (FAO-56 eq. 34)", "units": "h"},
}
# The form's prefill: a week of early September at 20°S (FAO-56 examples 8 and 9's place and date).
EXAMPLE = {"algorithm": "hargreaves", "latitude": -20.0, "start_date": "2025-09-01",
           "tmin": [14.8, 15.2, 16.0, 15.5, 14.9, 16.3, 17.0], "tmax": [26.6, 27.4, 28.1, 27.0, 26.2, 29.0, 29.5]}


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    params = Inputs.model_validate(inputs)
    doy = params.days_of_year()
    tmin, tmax = np.array(params.tmin), np.array(params.tmax)
    ra = et.extraterrestrial_radiation(params.latitude, doy)
    daylight = et.daylight_hours(params.latitude, doy)
    if params.algorithm == "hargreaves":
        pet = et.hargreaves(tmin, tmax, ra)
    elif params.algorithm == "hamon":
        pet = et.hamon(tmin, tmax, daylight, params.hamon_coefficient)
    else:
        pet = et.priestley_taylor(tmin, tmax, np.array(params.rs), ra, params.elevation, params.albedo,
                                  params.alpha)
    dates = [(params.start_date + timedelta(days=k)).isoformat() for k in range(len(doy))]
    return {"dates": dates, "out_pet": pet.tolist(), "out_ra": ra.tolist(), "out_daylight": daylight.tolist(),
            "metadata": {"algorithm": params.algorithm, "days": len(doy),
                         "units": {"out_pet": "mm/day", "out_ra": "MJ/m2/day", "out_daylight": "h"}}}
