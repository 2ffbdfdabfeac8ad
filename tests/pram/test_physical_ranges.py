"""Inputs outside the range where a model's equations mean anything are refused."""
from __future__ import annotations

import pytest

from tests.pram.qaqc import case_inputs, input_errors


def rule(model: str, **changes) -> str:
    return " ".join(f"{e['field']}: {e['rule']}" for e in input_errors(model, case_inputs(model, **changes)))


def test_beerex_soil_uptake_needs_log_kow_where_the_equation_is_positive():
    assert "Briggs" in rule("beerex", application_method="soil application", log_kow=6.0, koc=100,
                            empirical_residue="no")


def test_rice_needs_some_water():
    assert "dw + dsed must be positive" in rule("rice", dw=0, dsed=0)


@pytest.mark.parametrize("model,field,value", [
    ("kabam", "water_temp", -50), ("kabam", "log_kow", 14),
    ("kabam", "mineau_scaling_factor", 1e15), ("trex", "mineau_sca_fact", 40),
    ("therps", "mineau_sca_fact", 40), ("sip", "mineau_scaling_factor", 9), ("stir", "mineau_scaling_factor", 9),
])
def test_bounds(model, field, value):
    assert rule(model, **{field: value}).startswith(field)
