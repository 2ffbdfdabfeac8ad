"""``GET /jobs/<id>/results/<output>``: one output of a finished job, as JSON or CSV, with
the same owner and not-finished rules as ``/jobs/<id>/results``."""
from __future__ import annotations

import csv
import io
import time

from tests.conftest import wait_for
from tests.hms.test_api import VALID as HMS
from tests.web.test_security import RICE, bearer, keyed  # noqa: F401 - keyed is a fixture

ROWS = [dict(RICE, mai=m) for m in (0.5, 1.5, 4.5)]


def submit(client, path: str, inputs, **kw) -> str:
    response = client.post(path, json={"inputs": inputs}, **kw)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def table(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv", response.get_data()
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_a_batch_output_is_its_column_of_runs(client):
    job_id = submit(client, "/pram/rice", ROWS)
    data = wait_for(client, job_id)["data"]
    one = client.get(f"/jobs/{job_id}/results/out_cw")
    assert one.status_code == 200 and one.mimetype == "application/json"
    assert one.get_json() == data["outputs"]["out_cw"] and list(one.get_json()) == ["0", "1", "2"]
    rows = table(client.get(f"/jobs/{job_id}/results/out_cw", headers={"Accept": "text/csv"}))
    assert rows[0] == ["run", "out_cw"]
    assert [(run, float(v)) for run, v in rows[1:]] == [(k, v) for k, v in data["outputs"]["out_cw"].items()]
    assert client.get(f"/jobs/{job_id}/results/out_cw?f=csv").get_data() == \
        client.get(f"/jobs/{job_id}/results/out_cw", headers={"Accept": "text/csv"}).get_data()
    # ?units=1 names the output's units in the header, as the whole results' CSV does
    headed = table(client.get(f"/jobs/{job_id}/results/out_cw?f=csv&units=1"))
    assert headed[0] == ["run", "out_cw (ug/L)"] and headed[1:] == rows[1:]
    assert client.get(f"/jobs/{job_id}/results/out_cw?f=csv&units=maybe").status_code == 400
    # the inputs are not outputs: a 404 that names the outputs there are
    missing = client.get(f"/jobs/{job_id}/results/mai")
    body = missing.get_json()
    assert missing.status_code == 404 and "'mai'" in body["message"]
    assert set(body["errors"][0]["outputs"]) == set(data["outputs"]) and "out_cw" in body["message"]


def test_a_format_neither_json_nor_csv_is_refused_not_answered_as_json(client):
    job_id = submit(client, "/pram/rice", ROWS)
    wait_for(client, job_id)
    for path in (f"/jobs/{job_id}/results", f"/jobs/{job_id}/results/out_cw"):
        for accept in ("image/png", "image/png, application/json;q=0", "application/xml; charset=utf-8"):
            refused = client.get(path, headers={"Accept": accept})
            assert refused.status_code == 406 and refused.mimetype == "application/json", accept
            assert "application/json or text/csv" in refused.get_json()["message"]
        bad = client.get(path + "?f=xlsx")
        assert bad.status_code == 400 and "f: 'xlsx' is neither json nor csv" in bad.get_json()["message"]
        # what a browser or a library sends still gets JSON; CSV ranked first gets CSV
        for accept, mimetype in (("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
                                 ("image/png, text/csv;q=0.5", "text/csv"), ("application/*", "application/json"),
                                 ("", "application/json"), ("application/json; charset=utf-8", "application/json"),
                                 ("text/csv; charset=utf-8", "text/csv"), ("*", "application/json"),
                                 ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", "application/json")):
            answer = client.get(path, headers={"Accept": accept})
            assert answer.status_code == 200 and answer.mimetype == mimetype, accept
        assert client.get(path + "?f=JSON").mimetype == "application/json"
        assert client.get(path + "?f=", headers={"Accept": "text/csv"}).mimetype == "text/csv"  # blank: not given


def test_a_series_output_as_csv_is_indexed_by_its_dates(client):
    job_id = submit(client, "/hms/kinematic_wave", HMS["kinematic_wave"])
    data = wait_for(client, job_id)["data"]
    assert client.get(f"/jobs/{job_id}/results/flow").get_json() == data["flow"]
    rows = table(client.get(f"/jobs/{job_id}/results/flow?f=csv"))
    width = len(data["flow"][0])
    assert rows[0] == ["dates", *(f"flow[{j}]" for j in range(width))]
    assert [row[0] for row in rows[1:]] == data["dates"]
    assert [[float(v) for v in row[1:]] for row in rows[1:]] == data["flow"]
    flat = table(client.get(f"/jobs/{job_id}/results/boundary_flow?f=csv"))
    assert flat[0] == ["dates", "boundary_flow"] and len(flat) == len(data["boundary_flow"]) + 1
    metadata = client.get(f"/jobs/{job_id}/results/metadata", headers={"Accept": "text/csv"})
    assert metadata.status_code == 406 and "application/json" in metadata.get_json()["message"]
    assert client.get(f"/jobs/{job_id}/results/metadata").get_json() == data["metadata"]


def test_an_output_before_the_end_after_a_failure_or_of_no_job(client):
    slow = submit(client, "/testing/sleepy", {"seconds": 3})
    early = client.get(f"/jobs/{slow}/results/slept")
    assert early.status_code == 409 and "no results" in early.get_json()["message"]
    wait_for(client, slow)
    assert client.get(f"/jobs/{slow}/results/slept").get_json() == 3
    assert client.get(f"/jobs/{slow}/results/nan").get_json() is None  # NaN is null, as everywhere
    failed = submit(client, "/testing/sleepy", {"seconds": 0, "fail": True})
    wait_for(client, failed)
    answer = client.get(f"/jobs/{failed}/results/slept")
    assert answer.status_code == 409 and "asked to fail" in answer.get_json()["message"]
    assert client.get("/jobs/00000000-0000-4000-8000-000000000000/results/slept").status_code == 404


def test_with_keys_only_the_owner_and_admin_read_an_output(keyed):
    client, k = keyed["client"], keyed["keys"]
    job_id = submit(client, "/pram/rice", ROWS, headers=bearer(k["alice"]))
    deadline = time.monotonic() + 60
    while client.get(f"/jobs/{job_id}/status", headers=bearer(k["alice"])).get_json()["status"] != "SUCCESS":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for who, status in (("alice", 200), ("admin", 200), ("bob", 404)):
        assert client.get(f"/jobs/{job_id}/results/out_cw", headers=bearer(k[who])).status_code == status, who
    assert client.get(f"/jobs/{job_id}/results/out_cw").status_code == 401


def test_an_output_of_a_matrix_per_run_is_json_text_in_its_csv_cells(client):
    """A run's matrix (leslie's elasticities) is one cell of JSON text, as in the whole
    results' CSV: nulls as ``null``, never Python's ``None``."""
    import json
    leslie = {"init_pop_size": [10, 5, 2], "stages": 3, "time_steps": 5,
              "l_m": [[0, 1.5, 1.2], [0.5, 0, 0], [0, 0.8, 0]]}
    job_id = submit(client, "/pram/leslie", [leslie, dict(leslie, l_m=[[0, 0, 0], [0, 0, 0], [0, 0, 0]])])
    data = wait_for(client, job_id)["data"]
    rows = table(client.get(f"/jobs/{job_id}/results/out_elasticity?f=csv"))
    assert rows[0] == ["run", "out_elasticity"] and len(rows) == 3
    assert {run: json.loads(cell) for run, cell in rows[1:]} == data["outputs"]["out_elasticity"]
    assert any("null" in cell for _, cell in rows[1:]) and not any("None" in cell for _, cell in rows[1:])
