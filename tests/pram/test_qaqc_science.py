"""Every PRAM model against EPA's published QA/QC values, calling the science directly."""
from __future__ import annotations

import pytest

from tests.pram.qaqc import MODELS, load_cases, mismatches, pram_model, tolerance

_model = pram_model


CASES = [(m, case) for m in MODELS for case, _, _ in load_cases(m)]


@pytest.mark.parametrize("model,case", CASES)
def test_qaqc_case(model: str, case: str) -> None:
    m = _model(model)
    (_, inputs, expected), = [c for c in load_cases(model) if c[0] == case]
    data = m.run(m.validate(inputs))
    actual = {k: v["0"] for k, v in data["outputs"].items()}
    assert not mismatches(expected, actual, tolerance(model))


@pytest.mark.parametrize("model", MODELS)
def test_qaqc_batch_returns_every_row(model: str) -> None:
    """All cases of a model as one column-form batch: every row matches its case."""
    m = _model(model)
    cases = load_cases(model)
    names = sorted({k for _, inputs, _ in cases for k in inputs})
    columns = {n: {str(i): inputs[n] for i, (_, inputs, _) in enumerate(cases) if n in inputs}
               for n in names}
    data = m.run(m.validate(columns))
    for i, (case, _, expected) in enumerate(cases):
        actual = {k: v[str(i)] for k, v in data["outputs"].items()}
        assert not mismatches(expected, actual, tolerance(model)), f"case {case}"
