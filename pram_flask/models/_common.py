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

    chemical_name: str | None = Field(None, description="Chemical name (descriptive only)")
    pc_code: str | None = Field(None, description="EPA pesticide chemical code (descriptive only)")
    version: str | None = Field(None, description="Client's model version label (descriptive only)")
    # EPA's web client sends its form token; accepted, not used, and left out of the
    # JSON Schema (no form, template or API description shows it).
    csrfmiddlewaretoken: SkipJsonSchema[str | None] = Field(
        None, description="Form token EPA's web client sends (not used)")


def number(units: str, description: str, default: Any = ..., **rules: Any) -> Any:
    """A numeric input with units and valid range (gt/ge/lt/le) in its JSON Schema."""
    return Field(default, description=description, json_schema_extra={"units": units}, **rules)


def text(description: str, default: Any = ..., **rules: Any) -> Any:
    return Field(default, description=description, **rules)


def col(columns: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A numeric column as float64 (None -> NaN)."""
    return np.asarray([np.nan if v is None else v for v in columns[name]], dtype=np.float64) \
        if columns[name].dtype == object else columns[name].astype(np.float64, copy=False)


class BirdToxicityInputs(RunInputs):
    """The avian toxicity study fields that T-REX and T-HERPS share (the LD50 itself
    is declared by each model: T-HERPS uses it as a surrogate for herptiles)."""

    species_of_the_tested_bird_avian_ld50: str | None = text("Species tested for the LD50", None)
    tw_bird_ld50: float = number("g", "Body weight of the bird tested for the LD50", gt=0)
    lc50_bird: float = number("mg/kg-diet", "Avian subacute dietary LC50", gt=0)
    species_of_the_tested_bird_avian_lc50: str | None = text("Species tested for the LC50", None)
    tw_bird_lc50: float | None = number("g", "Body weight of the bird tested for the LC50", None, gt=0)
    noaec_bird: float | None = number("mg/kg-diet", "Avian reproduction NOAEC (optional: without it "
                                      "the chronic dietary bird RQs are null)", None, gt=0)
    species_of_the_tested_bird_avian_noaec: str | None = text("Species tested for the NOAEC", None)
    tw_bird_noaec: float | None = number("g", "Body weight of the bird tested for the NOAEC", None, gt=0)
    noael_bird: float | None = number("mg/kg-bw", "Avian NOAEL (not used by ubertool)", None, gt=0)
    species_of_the_tested_bird_avian_noael: str | None = text("Species tested for the NOAEL", None)
    tw_bird_noael: float | None = number("g", "Body weight of the bird tested for the NOAEL", None, gt=0)
