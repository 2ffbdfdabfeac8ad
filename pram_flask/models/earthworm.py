"""Earthworm: pesticide concentration in earthworms from soil (fugacity approach).

Science from EPA's ubertool ``earthworm`` model (EFED equation of 26 March
2013). The earthworm is assumed in equilibrium with the soil pore water, whose
concentration is the soil concentration over ``Kd * bulk density``; the worm's
lipid partitions like octanol: ``C_E = Kow * L * C_s / (Kd * rho_s)``. The
concentration in the pore water itself is taken as zero (no additional term).
"""
from __future__ import annotations

import numpy as np

from ._common import RunInputs, col, number

NAME = "earthworm"
TITLE = "Earthworm"
DESCRIPTION = "Concentration of a pesticide in earthworms living in treated soil."
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Chemical": ["k_ow"],
    "Earthworm": ["l_f_e"],
    "Soil": ["c_s", "k_d", "p_s"],
}


class Inputs(RunInputs):
    k_ow: float = number("-", "Octanol to water partition coefficient Kow", gt=0)
    l_f_e: float = number("-", "Lipid fraction of earthworm", ge=0, le=1)
    c_s: float = number("mol/m3", "Chemical concentration in soil", ge=0)
    k_d: float = number("cm3/g", "Soil partitioning coefficient Kd", gt=0)
    p_s: float = number("g/cm3", "Bulk density of soil", gt=0)


OUTPUTS = {
    "out_earthworm_fugacity": {"description": "Chemical concentration in the earthworm",
                               "units": "mol/m3"},
}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {
    "version": "x", "k_ow": 1.0, "l_f_e": 0.01, "p_s": 1.5, "c_s": 0.038692165, "k_d": 0.0035,
}


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    pore_water = col(columns, "c_s") / (col(columns, "k_d") * col(columns, "p_s"))
    return {"out_earthworm_fugacity": col(columns, "k_ow") * col(columns, "l_f_e") * pore_water}
