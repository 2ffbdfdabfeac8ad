"""Every PRAM QA/QC case end to end: POST to the gateway, a real worker computes, poll."""
from __future__ import annotations

import pytest

from tests.conftest import wait_for
from tests.pram.qaqc import MODELS, load_cases, mismatches, tolerance


@pytest.mark.parametrize("model", MODELS)
def test_every_case_through_the_api(client, model):
    cases = load_cases(model)
    # Each case as its own single-run job, all queued before any is polled...
    jobs = []
    for case, inputs, expected in cases:
        response = client.post(f"/pram/{model}", json={"inputs": inputs})
        assert response.status_code == 202, (case, response.get_json())
        jobs.append((case, response.get_json()["job_id"], expected))
    # ...and all cases again as one batch in ubertool's column form.
    names = sorted({k for _, inputs, _ in cases for k in inputs})
    columns = {n: {str(i): c[1][n] for i, c in enumerate(cases) if n in c[1]} for n in names}
    batch = client.post(f"/pram/{model}", json={"inputs": columns})
    assert batch.status_code == 202, batch.get_json()

    rtol = tolerance(model)
    for case, job_id, expected in jobs:
        record = wait_for(client, job_id, prefix="/pram")
        assert record["status"] == "SUCCESS", (case, record.get("error"))
        outputs = {k: v["0"] for k, v in record["data"]["outputs"].items()}
        assert not mismatches(expected, outputs, rtol), f"{model} case {case}"
    record = wait_for(client, batch.get_json()["job_id"], prefix="/pram")
    assert record["status"] == "SUCCESS", record.get("error")
    for i, (case, _, expected) in enumerate(cases):
        outputs = {k: v[str(i)] for k, v in record["data"]["outputs"].items()}
        assert not mismatches(expected, outputs, rtol), f"{model} batch row {i} (case {case})"
