"""Shared pieces of the PRAM input schemas (pydantic only, no framework)."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class RunInputs(BaseModel):
    """Base of every model's one-run inputs: ubertool's descriptive fields."""

    # An input a model does not declare is an error (a misspelt name would otherwise
    # be silently dropped); fields that EPA's clients send but a model does not use
    # are declared as descriptive. Numbers are never NaN or Infinity; a descriptive
    # text field takes a number as its text (pc_code 128976 -> "128976").
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True,
                              coerce_numbers_to_str=True)

    chemical_name: str | None = Field(None, description="Chemical name (descriptive only)",
                                      json_schema_extra={"section": "Chemical"})
    pc_code: str | None = Field(None, description="EPA pesticide chemical code (descriptive only)",
                                 json_schema_extra={"section": "Chemical", "label": "PC code"})
    version: str | None = Field(None, description="Client's model version label (descriptive only)",
                                  json_schema_extra={"section": "About the run"})
    # EPA's web client sends its form token; accepted, not used, left out of the
    # JSON Schema (no form, template or API description shows it) and of the results.
    csrfmiddlewaretoken: SkipJsonSchema[str | None] = Field(
        None, description="Form token EPA's web client sends (not used)", exclude=True)


def _extra(section: str | None, label: str | None, **more: Any) -> dict[str, Any]:
    """The form hints of an input: the form's section and its readable label."""
    return {**more, **({"section": section} if section else {}), **({"label": label} if label else {})}


def number(units: str, description: str, default: Any = ..., *, section: str | None = None,
           label: str | None = None, units_by: tuple[str, dict[str, str]] | None = None,
           **rules: Any) -> Any:
    """A numeric input with units and valid range (gt/ge/lt/le) in its JSON Schema;
    ``section`` groups it on the form, ``label`` is its readable name there, and
    ``units_by`` = (input, {its value: units}) when the units follow another input."""
    more: dict[str, Any] = {"units": units}
    if units_by:
        more["units_by"] = {"field": units_by[0], "units": units_by[1]}
    return Field(default, description=description, json_schema_extra=_extra(section, label, **more), **rules)


def text(description: str, default: Any = ..., *, section: str | None = None,
         label: str | None = None, **rules: Any) -> Any:
    return Field(default, description=description, json_schema_extra=_extra(section, label) or None,
                 **rules)


def col(columns: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A numeric column as float64 (None -> NaN)."""
    return np.asarray([np.nan if v is None else v for v in columns[name]], dtype=np.float64) \
        if columns[name].dtype == object else columns[name].astype(np.float64, copy=False)


class BirdToxicityInputs(RunInputs):
    """The avian toxicity study fields that T-REX and T-HERPS share (the LD50 itself
    is declared by each model: T-HERPS uses it as a surrogate for herptiles)."""

    species_of_the_tested_bird_avian_ld50: str | None = text("Species tested for the LD50", None, section="Birds")
    tw_bird_ld50: float = number("g", "Body weight of the bird tested for the LD50", gt=0, section="Birds")
    lc50_bird: float = number("mg/kg-diet", "Avian subacute dietary LC50", gt=0, section="Birds")
    species_of_the_tested_bird_avian_lc50: str | None = text("Species tested for the LC50", None, section="Birds")
    tw_bird_lc50: float | None = number("g", "Body weight of the bird tested for the LC50", None, gt=0, section="Birds")
    noaec_bird: float | None = number("mg/kg-diet", "Avian reproduction NOAEC (optional: without it "
                                      "the chronic dietary bird RQs are null)", None, gt=0, section="Birds")
    species_of_the_tested_bird_avian_noaec: str | None = text("Species tested for the NOAEC", None, section="Birds")
    tw_bird_noaec: float | None = number("g", "Body weight of the bird tested for the NOAEC", None, gt=0, section="Birds")
    noael_bird: float | None = number("mg/kg-bw", "Avian NOAEL (not used by ubertool)", None, gt=0, section="Birds")
    species_of_the_tested_bird_avian_noael: str | None = text("Species tested for the NOAEL", None, section="Birds")
    tw_bird_noael: float | None = number("g", "Body weight of the bird tested for the NOAEL", None, gt=0, section="Birds")
