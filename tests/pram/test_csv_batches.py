"""Batches in CSV, both ways: every one of EPA's QA/QC input files, posted as CSV (its
``case`` column dropped) through a real worker, gives EPA's expected values; the
results come back as CSV too."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.pram.qaqc import DATA, FILE_NAMES, MODELS, load_cases, mismatches, tolerance


def _csv_without_case(model: str) -> tuple[str, list[str]]:
    with open(DATA / f"{FILE_NAMES.get(model, model)}_in.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    at = rows[0].index("case")
    out = io.StringIO()
    csv.writer(out).writerows([[c for i, c in enumerate(row) if i != at] for row in rows])
    return out.getvalue(), [row[at] for row in rows[1:]]


@pytest.mark.parametrize("model", MODELS)
def test_a_qaqc_file_posted_as_csv_gives_epas_values(client: Any, model: str) -> None:
    body, cases = _csv_without_case(model)
    answer = client.post(f"/pram/{model}", data=body, content_type="text/csv")
    assert answer.status_code == 202, answer.get_json()
    record = wait_for(client, answer.get_json()["job_id"])
    assert record["status"] == "SUCCESS", record.get("error")
    outputs = record["data"]["outputs"]
    expected = {case: exp for case, _, exp in load_cases(model)}
    bad = []
    for run, case in enumerate(cases):
        actual = {name: column.get(str(run)) for name, column in outputs.items()}
        bad += [f"case {case}: {m}" for m in mismatches(expected[case], actual, tolerance(model))]
    assert bad == []
    table = client.get(f"/jobs/{record['job_id']}/results", headers={"Accept": "text/csv"})
    assert table.status_code == 200 and table.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(table.get_data(as_text=True))))
    assert len(rows) == len(cases)


def test_a_bad_csv_body_is_a_clear_error(client: Any) -> None:
    short = client.post("/pram/rice", data="mai,area\n0.056", content_type="text/csv")
    assert short.status_code == 422 and "line 2 holds 1" in short.get_json()["message"]
    twice = client.post("/pram/rice", data="mai,mai\n1,2", content_type="text/csv")
    assert twice.status_code == 422 and twice.get_json()["errors"][0]["field"] == "mai"
    empty = client.post("/pram/rice", data="", content_type="text/csv")
    assert empty.status_code == 422
    binary = client.post("/pram/rice", data=b"\xff\xfe\x00", content_type="text/csv")
    assert binary.status_code == 400 and binary.is_json
    invalid = client.post("/pram/rice", data="mai,area,dsed,pb,dw,osed,kd\n-1,1,1,1,1,1,1\n",
                          content_type="text/csv")
    assert invalid.status_code == 422 and invalid.get_json()["errors"][0]["field"] == "mai"
    # a model that takes no batch refuses CSV with 415, naming what it takes
    routing = client.post("/hms/constant_volume", data="a,b\n1,2", content_type="text/csv")
    assert routing.status_code == 415


def test_csv_with_on_invalid_skip_keeps_the_valid_runs(client: Any) -> None:
    body = "mai,area,dsed,pb,dw,osed,kd\n0.056,10000,0.01,1300,0.1,0.509,757\n-1,10000,0.01,1300,0.1,0.509,757\n"
    answer = client.post("/pram/rice?on_invalid=skip", data=body, content_type="text/csv")
    assert answer.status_code == 202, answer.get_json()
    record = wait_for(client, answer.get_json()["job_id"])
    assert record["status"] == "SUCCESS"
    assert list(record["data"]["outputs"]["out_cw"]) == ["0"] and record["data"]["errors"]
    # the CSV of the results holds the runs computed; the runs skipped, and why, beside it
    answer = client.get(f"/jobs/{record['job_id']}/results?f=csv")
    results = answer.get_data(as_text=True).splitlines()
    assert [line.split(",")[0] for line in results] == ["run", "0"]
    assert answer.headers["Skipped-Runs"] == "1"  # the CSV says runs were left out, and where they are
    assert answer.headers["Link"].startswith(f"</jobs/{record['job_id']}/skipped?f=csv>; rel=\"related\"")
    waited = client.post("/pram/rice?on_invalid=skip", data=body, content_type="text/csv",
                         headers={"Accept": "text/csv", "Prefer": "wait=10", "Cache-Control": "no-cache"})
    assert waited.status_code == 200 and waited.mimetype == "text/csv" and waited.headers["Skipped-Runs"] == "1"
    skipped = client.get(f"/jobs/{record['job_id']}/skipped", headers={"Accept": "text/csv"})
    assert skipped.mimetype == "text/csv" and "skipped.csv" in skipped.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(skipped.get_data(as_text=True))))
    assert rows[0] == ["run", "field", "value", "rule"] and [r[:3] for r in rows[1:]] == [["1", "mai", "-1"]]
    assert client.get(f"/jobs/{record['job_id']}/skipped").get_json()["skipped"] == 1
    # a batch that skipped nothing says so
    clean = client.post("/pram/rice?on_invalid=skip", data="\n".join(body.splitlines()[:2]) + "\n",
                        content_type="text/csv", headers={"Cache-Control": "no-cache"})
    done = wait_for(client, clean.get_json()["job_id"])
    assert "Skipped-Runs" not in client.get(f"/jobs/{done['job_id']}/results?f=csv").headers
    assert client.get(f"/jobs/{done['job_id']}/skipped").get_json() == {
        "job_id": done["job_id"], "skipped": 0, "errors": {}}
    # its errors: a job that did not succeed has none to give (409, as its results), an
    # unknown job is a 404, a format it cannot write a 400; each a JSON error
    failed = wait_for(client, client.post("/testing/sleepy", json={"inputs": {"seconds": 0, "fail": True}})
                      .get_json()["job_id"])
    assert failed["status"] == "FAILURE"
    for url, status in ((f"/jobs/{failed['job_id']}/skipped", 409), ("/jobs/no-such-job/skipped", 404),
                        (f"/jobs/{done['job_id']}/skipped?f=xml", 400)):
        answer = client.get(url)
        assert answer.status_code == status and answer.is_json and answer.get_json()["message"], (url, answer.data)


def test_a_waited_answers_format_follows_the_query_then_the_accept_header(client: Any) -> None:
    """``?f=csv`` asks for the table as ``Accept: text/csv`` does; headers that tie or name
    JSON alone (none, ``*/*``, ``application/json``) get the JSON record; one that ranks CSV
    first gets the table."""
    body, _ = _csv_without_case("rice")
    wait = {"Prefer": "wait=30"}

    def answer(query: str = "", **headers: str) -> Any:
        got = client.post(f"/pram/rice{query}", data=body, content_type="text/csv",
                          headers={**wait, **headers, "Cache-Control": "no-cache"})
        assert got.status_code == 200, got.get_data(as_text=True)[:300]
        return got.mimetype

    assert answer("?f=csv") == "text/csv"
    assert answer() == "application/json"
    assert answer(Accept="*/*") == "application/json"
    assert answer(Accept="application/json") == "application/json"
    assert answer(Accept="application/json;q=0.5, text/csv") == "text/csv"
    assert answer("?f=json", Accept="text/csv") == "application/json"  # the query wins


def test_csv_in_and_out_in_one_request(client: Any) -> None:
    """``Prefer: wait`` with ``Accept: text/csv``: the answer is the table of runs itself,
    EPA's values in it, and the job stays where ``Content-Location`` says."""
    body, cases = _csv_without_case("rice")
    answer = client.post("/pram/rice", data=body, content_type="text/csv",
                         headers={"Prefer": "wait=30", "Accept": "text/csv"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv", answer.get_data(as_text=True)[:300]
    assert answer.headers["Preference-Applied"].startswith("wait=")  # capped by QED_SYNC_WAIT
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    expected = {case: exp for case, _, exp in load_cases("rice")}
    assert len(rows) == len(cases)
    bad = []
    for row, case in zip(rows, cases):
        actual = {name: float(row[name]) for name in expected[case] if row.get(name) not in (None, "")}
        assert actual, f"case {case}: no output columns in {list(row)[:5]}"
        bad += [f"case {case}: {m}" for m in mismatches(expected[case], actual, tolerance("rice"))]
    assert bad == []
    stays = client.get(answer.headers["Content-Location"], headers={"Accept": "text/csv"})
    assert stays.get_data() == answer.get_data()
    # a failed or unfinished job, or results that are no table, answer as JSON records
    single = client.post("/hms/constant_volume", json={"inputs": {}},
                         headers={"Prefer": "wait=5", "Accept": "text/csv"})
    assert single.status_code == 422 and single.is_json


@pytest.mark.parametrize("model", ["kabam", "trex", "agdrift", "beerex"])
def test_a_large_batch_keeps_its_columns_and_writes_the_same_csv_from_them(client: Any, stack_env: Any,
                                                                           model: str) -> None:
    """A batch of 600 runs (the QA/QC file over and over) is stored with its columns for
    CSV (flask_qed.tablepack); the CSV written from them is the CSV written from its
    JSON, byte for byte, and holds EPA's values."""
    from flask_qed.results import packed_table
    from flask_qed.stores import open_store
    from flask_qed.tablepack import read_table

    body, cases = _csv_without_case(model)
    head, *lines = body.splitlines()
    runs = [lines[i % len(lines)] for i in range(600)]
    answer = client.post(f"/pram/{model}", data="\n".join([head, *runs]) + "\n",
                         content_type="text/csv")
    assert answer.status_code == 202, answer.get_json()
    job = answer.get_json()["job_id"]
    record = wait_for(client, job)
    assert record["status"] == "SUCCESS", record.get("error")
    stored = open_store(stack_env["QED_STORE_URL"], 3600).get(job, packed=True, table=True)
    answered = client.get(f"/jobs/{job}/results", headers={"Accept": "text/csv"}).get_data(as_text=True)
    assert stored.get("table"), "a 600-run batch keeps its columns"
    assert "".join(read_table(stored["table"]).rows()) == "".join(packed_table(stored["data"]).rows())
    assert answered == "".join(read_table(stored["table"]).rows())
    rows = list(csv.DictReader(io.StringIO(answered)))
    assert len(rows) == 600
    expected = {case: exp for case, _, exp in load_cases(model)}
    bad = []
    for run in (0, 1, len(lines) - 1, 599):
        case = cases[run % len(cases)]
        actual = {k: _number(v) for k, v in rows[run].items()}
        bad += [f"run {run}, case {case}: {m}" for m in mismatches(
            {k: v for k, v in expected[case].items() if k in actual}, actual, tolerance(model))]
    assert bad == []


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text or None


def test_units_in_the_csv_header_when_asked(client: Any) -> None:
    """``?units=1``: each column with declared units is headed ``name (units)``, the rows
    are unchanged; the flag is checked before anything is stored."""
    body, cases = _csv_without_case("rice")
    answer = client.post("/pram/rice?units=1", data=body, content_type="text/csv",
                         headers={"Prefer": "wait=30", "Accept": "text/csv"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv", answer.get_data(as_text=True)[:300]
    head, *lines = answer.get_data(as_text=True).splitlines()
    names = next(csv.reader([head]))
    assert names[0] == "run"
    for plain, headed in [("mai", "mai (kg)"), ("area", "area (m2)"), ("out_cw", "out_cw (ug/L)"),
                          ("out_mass_area", "out_mass_area (kg/ha)")]:
        assert headed in names and plain not in names, names
    assert "osed" in names  # declared without units: the name alone
    plain = client.get(answer.headers["Content-Location"], headers={"Accept": "text/csv"}).get_data(as_text=True)
    assert plain.splitlines()[1:] == lines and len(lines) == len(cases)  # the rows themselves unchanged
    headed = client.get(answer.headers["Content-Location"] + "?units=true", headers={"Accept": "text/csv"})
    assert headed.get_data(as_text=True) == answer.get_data(as_text=True)
    # a series (HMS routing) names the units of its columns too
    example = client.get("/hms/kinematic_wave").get_json()["example"]
    routing = client.post("/hms/kinematic_wave?units=1", json=example,
                          headers={"Prefer": "wait=30", "Accept": "text/csv"})
    assert routing.status_code == 200 and routing.mimetype == "text/csv", routing.get_data(as_text=True)[:300]
    series = next(csv.reader([routing.get_data(as_text=True).splitlines()[0]]))
    assert series[:2] == ["dates (ISO 8601)", "boundary_flow (m3/s)"]
    assert "flow segment 1 (m3/s)" in series and "depth segment 3 (m)" in series and "volume segment 2 (m3)" in series
    # a flag that is neither yes nor no is a 400 that names it, and stores nothing
    jobs_before = len(client.get("/jobs?limit=1000").get_json()["jobs"])
    bad = client.post("/pram/rice?units=maybe", data=body, content_type="text/csv")
    assert bad.status_code == 400 and "units" in bad.get_json()["message"]
    assert len(client.get("/jobs?limit=1000").get_json()["jobs"]) == jobs_before
    assert client.get(answer.headers["Content-Location"] + "?units=2", headers={"Accept": "text/csv"}).status_code == 400


@pytest.mark.parametrize("runs", [1, 60, 600])  # run whole; in chunks; kept as its table alone
def test_integer_inputs_are_echoed_as_integers_in_json_and_csv(client: Any, runs: int) -> None:
    """TED's numbers of applications are integers: a run's inputs give them back as ``2``,
    not ``2.0``, in the JSON and the CSV, however the batch is stored; a float input given
    as ``3`` is a float once validated, and says so (``3.0``)."""
    from tests.pram.qaqc import case_inputs

    base = {**case_inputs("ted"), "app_rate_max": 3, "app_interval_max": 7}
    batch = [{**base, "num_apps_max": i % 3 + 1} for i in range(runs)]
    answer = client.post("/pram/ted", json={"inputs": batch if runs > 1 else batch[0]})
    assert answer.status_code == 202, answer.get_json()
    record = wait_for(client, answer.get_json()["job_id"])
    assert record["status"] == "SUCCESS", record.get("error")
    given = record["data"]["inputs"]
    last = str(runs - 1)
    assert given["num_apps_max"]["0"] == 1 and type(given["num_apps_max"]["0"]) is int
    assert given["num_apps_max"][last] == (runs - 1) % 3 + 1 and type(given["num_apps_max"][last]) is int
    assert type(given["num_apps_min"]["0"]) is int
    assert given["app_rate_max"]["0"] == 3.0 and type(given["app_rate_max"]["0"]) is float
    text = client.get(f"/jobs/{record['job_id']}/results", headers={"Accept": "text/csv"}).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == runs
    assert [row["num_apps_max"] for row in rows[:3]] == ["1", "2", "3"][:runs]
    assert rows[-1]["num_apps_min"] == str(base["num_apps_min"]) and rows[-1]["app_rate_max"] == "3.0"


def test_a_large_batch_kept_as_its_table_says_which_runs_it_skipped(client: Any) -> None:
    """The count comes with the table it is read from (its head), for a batch kept as its
    columns alone as for one kept as JSON."""
    head = "mai,area,dsed,pb,dw,osed,kd"
    runs = [f"{0.05 + i * 1e-5:.5f},10000,0.01,1300,0.1,0.509,757" for i in range(600)]
    runs[7] = "-1,10000,0.01,1300,0.1,0.509,757"
    answer = client.post("/pram/rice?on_invalid=skip", data="\n".join([head, *runs]) + "\n",
                         content_type="text/csv")
    record = wait_for(client, answer.get_json()["job_id"])
    assert record["status"] == "SUCCESS", record.get("error")
    table = client.get(f"/jobs/{record['job_id']}/results", headers={"Accept": "text/csv"})
    assert table.headers["Skipped-Runs"] == "1" and len(table.get_data(as_text=True).splitlines()) == 600
