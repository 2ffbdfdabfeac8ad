"""IEC (Individual Effect Chance): chance of an individual effect at a given exposure.

Science from EPA's ubertool ``iec`` model. Assuming a probit
(log-normal) dose-response curve with the given slope, an exposure equal to
``threshold`` times the LC50 (or LD50) lies ``z = slope * log10(threshold)``
standard deviations from the median; the chance of an individual effect is the
normal probability ``P = 0.5 * erfc(-z / sqrt(2))``, reported as "1 in 1/P".
"""
from __future__ import annotations

import math

import numpy as np

from ._common import RunInputs, col, number

NAME = "iec"
TITLE = "IEC"
DESCRIPTION = ("Individual Effect Chance: probability of an effect on an individual at an "
               "exposure expressed as a fraction of the LC50/LD50, from the dose-response slope.")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Dose-response": ["lc50", "threshold", "dose_response"],
}


class Inputs(RunInputs):
    lc50: float = number("mg/L or mg/kg-bw", "LC50 or LD50 of the toxicity study", gt=0)
    threshold: float = number("-", "Exposure as a fraction of the LC50/LD50 (e.g. the level of "
                                   "concern or risk quotient)", gt=0)
    dose_response: float = number("-", "Slope of the probit dose-response curve", gt=0)


OUTPUTS = {
    "out_z_score_f": {"description": "z-score of the exposure on the dose-response curve", "units": "-"},
    "out_f8_f": {"description": "Probability of an individual effect", "units": "-"},
    "out_chance_f": {"description": "Chance of an individual effect, 1 in this many (null when the "
                                     "probability is below the smallest double, ~1e-308)", "units": "-"},
}

# The form's prefill: EPA's first QA/QC case (tests/pram/data), as the JSON API takes it.
EXAMPLE_SOURCE = "EPA's QA/QC case"
EXAMPLE = {"lc50": 1.0, "threshold": 0.25, "dose_response": 4.5}

# numpy has no erfc (and scipy is not a dependency): apply the C library's
# erfc elementwise as a ufunc; it stays accurate far into the tails.
_erfc = np.frompyfunc(math.erfc, 1, 1)


def compute(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    lc50 = col(columns, "lc50")
    z = col(columns, "dose_response") * (np.log10(lc50 * col(columns, "threshold")) - np.log10(lc50))
    probability = 0.5 * _erfc(-z / math.sqrt(2.0)).astype(np.float64)
    with np.errstate(divide="ignore"):
        chance = 1.0 / probability
    return {"out_z_score_f": z, "out_f8_f": probability, "out_chance_f": chance}
