"""Rice model: pesticide concentration in the water of a flooded rice paddy.

Equations from EPA's ubertool ``rice`` model (Rice Model v1.0): the mass of
sediment in equilibrium with the water column, the volume of water plus pore
water, the mass of pesticide per unit area and the resulting concentration.
"""
from __future__ import annotations

import numpy as np

from pydantic import model_validator

from ._common import RunInputs, col, number

NAME = "rice"
TITLE = "Rice model"
DESCRIPTION = "Estimated environmental concentration of a pesticide in rice paddy water."
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Chemical": ["mai", "kd"],
    "Paddy": ["area", "dsed", "pb", "dw", "osed"],
}


class Inputs(RunInputs):
    mai: float = number("kg", "Mass of active ingredient applied", ge=0)
    area: float = number("m2", "Area of the rice paddy", gt=0)
    dsed: float = number("m", "Sediment depth", ge=0)
    pb: float = number("kg/m3", "Bulk density of the sediment", gt=0)
    dw: float = number("m", "Water column depth", ge=0)
    osed: float = number("-", "Porosity of the sediment", ge=0, le=1)
    kd: float = number("L/kg-OC", "Sediment partitioning as an organic-carbon coefficient (Koc); "
                       "the model takes Kd = 0.01 x Koc (1 % organic carbon), as EPA's Rice Model does",
                       ge=0)

    @model_validator(mode="after")
    def _has_water(self) -> "Inputs":
        if self.dw + self.dsed <= 0:
            raise ValueError("dw + dsed must be positive: no water, no concentration")
        return self


OUTPUTS = {
    "out_msed": {"description": "Mass of sediment at equilibrium with the water column", "units": "kg"},
    "out_vw": {"description": "Volume of the water column plus pore water", "units": "m3"},
    "out_mass_area": {"description": "Pesticide mass per unit area", "units": "kg/ha"},
    "out_cw": {"description": "Water concentration", "units": "ug/L"},
}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "chemical_name": "Fipronil", "mai": 0.056, "area": 10000.0, "dsed": 0.01, "pb": 1300.0,
    "dw": 0.1, "osed": 0.509, "kd": 757.0,
}


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mai, area, dsed = col(columns, "mai"), col(columns, "area"), col(columns, "dsed")
    pb, dw, osed, kd = col(columns, "pb"), col(columns, "dw"), col(columns, "osed"), col(columns, "kd")
    msed = dsed * area * pb
    vw = dw * area + dsed * osed * area
    mass_area = mai / area * 10_000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cw = mass_area / (dw + dsed * (osed + pb * kd * 1e-5)) * 100.0
    return {"out_msed": msed, "out_vw": vw, "out_mass_area": mass_area, "out_cw": cw}
