"""Results as a modeller reads them: outputs before inputs, no empty descriptive columns
or form-only fields (on screen, in the CSV, in the JSON), a frozen first column in a
table that scrolls sideways, "n/a" for nulls, 4 significant figures on screen with the
full value in the downloads, runs counted from 1, and times in ISO 8601 with their zone."""
from __future__ import annotations

import csv
import io
import re

import requests

from tests.conftest import wait_for
from tests.pram.qaqc import load_cases
from tests.web.test_ui import artifacts, browser, stack, tab  # noqa: F401  (fixtures)
from tests.web.test_ui import api_get


def _rice_rows(n: int) -> list[dict]:
    base = load_cases("rice")[0][1]
    return [{**base, "mai": base["mai"] * (1 + i / 10)} for i in range(n)]


def test_form_token_and_inputs_no_run_gave_are_not_in_the_results(client):
    rows = [{**r, "csrfmiddlewaretoken": "abc"} for r in _rice_rows(3)]
    rows = [{k: v for k, v in r.items() if k not in ("chemical_name", "pc_code", "version")} for r in rows]
    rows[1]["chemical_name"] = "given once"
    response = client.post("/pram/rice", json={"inputs": rows})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()["job_id"]
    assert wait_for(client, job)["status"] == "SUCCESS"
    data = client.get(f"/jobs/{job}/results").get_json()
    assert "csrfmiddlewaretoken" not in data["inputs"]
    assert "pc_code" not in data["inputs"] and "version" not in data["inputs"]
    assert data["inputs"]["chemical_name"] == {"0": None, "1": "given once", "2": None}
    header = next(csv.reader(io.StringIO(client.get(f"/jobs/{job}/results?f=csv").get_data(as_text=True))))
    assert "csrfmiddlewaretoken" not in header and "pc_code" not in header and "chemical_name" in header


def test_results_first_rounded_on_screen_full_in_downloads(tab, stack):
    page = tab.page
    rows = _rice_rows(30)
    response = requests.post(stack["base"] + "/pram/rice", json={"inputs": rows},
                                           headers=stack["auth"], timeout=30)
    assert response.status_code == 202, response.text
    job = response.json()["job_id"]
    assert tab.open_job(job) == "Finished (SUCCESS)"
    table = page.locator("#table-runs")
    table.wait_for()
    headers = [h.split("\n")[0] for h in table.locator("thead th").all_inner_texts()]
    assert headers[0] == "run"
    assert headers.index("out_cw") < headers.index("mai"), headers  # outputs before inputs
    assert "pc_code" not in headers and "csrfmiddlewaretoken" not in headers
    first = table.locator("tbody tr").first
    assert first.locator("th").inner_text() == "1"  # run "0", counted from 1
    data = api_get(stack, f"/jobs/{job}/results").json()
    cw = headers.index("out_cw")
    shown = first.locator("td").nth(cw - 1)
    full = data["outputs"]["out_cw"]["0"]
    assert shown.get_attribute("data-value") == repr(full)
    digits = re.sub(r"[^0-9]", "", shown.inner_text().split("e")[0]).lstrip("0")
    assert 0 < len(digits) <= 4 and abs(float(shown.inner_text()) - full) <= abs(full) * 5e-4
    downloaded = tab.download("CSV").decode()
    assert repr(full) in downloaded  # full precision in the download
    assert page.locator("#dl-skipped").is_hidden()  # nothing skipped: no such download
    # a frozen first column in a table that scrolls sideways
    sticky = first.locator("th").evaluate("c => getComputedStyle(c).position")
    overflow = page.locator(".table-wrap").first.evaluate("w => getComputedStyle(w).overflowX")
    assert sticky == "sticky" and overflow == "auto"
    times = page.locator("#job-times dd").all_inner_texts()
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", t) for t in times[:3]), times
    tab.shot("runs")


def test_nulls_show_as_na(tab, stack):
    """T-REX's seed-treatment outputs do not apply to a broadcast run: null, shown as n/a."""
    from tests.web.test_ui import run_form
    data = run_form(tab, "pram", "trex")
    nulls = [n for n, col in data["outputs"].items() if col["0"] is None]
    assert nulls, "the broadcast example has outputs that do not apply"
    row = tab.page.locator("#table-outputs tbody tr").filter(
        has=tab.page.locator("th", has_text=re.compile(f"^{nulls[0]}$")))
    assert row.locator("td").first.inner_text() == "n/a"


def test_a_batch_that_skipped_runs_offers_their_errors_as_csv(tab, stack):
    rows = _rice_rows(4)
    rows[2] = {**rows[2], "mai": "lots"}
    response = requests.post(stack["base"] + "/pram/rice", json={"inputs": rows, "on_invalid": "skip"},
                             headers=stack["auth"], timeout=30)
    assert response.status_code == 202, response.text
    job = response.json()["job_id"]
    assert tab.open_job(job) == "Finished (SUCCESS)"
    lines = list(csv.reader(io.StringIO(tab.download("Skipped runs (CSV)").decode())))
    assert lines[0] == ["run", "field", "value", "rule"] and [r[:3] for r in lines[1:]] == [["2", "mai", "lots"]]
    kept = list(csv.reader(io.StringIO(tab.download("CSV").decode())))
    assert [r[0] for r in kept[1:]] == ["0", "1", "3"]
