"""Risk at a glance on the job page: a T-REX run (EPA's QA/QC case, the form's example)
opens with a summary naming each risk quotient at or above its level of concern and by
how much; those cells are marked with a class and words (not colour alone); the
abbreviations of the output names are explained."""
from __future__ import annotations

import re

import requests

from tests.pram.qaqc import case_inputs, pram_model
from tests.web.test_ui import artifacts, browser, stack, tab  # noqa: F401  (fixtures)
from tests.web.test_ui import axe_serious, run_form


def test_trex_summary_names_each_rq_over_its_loc(tab, stack):
    data = run_form(tab, "pram", "trex")
    page = tab.page
    flagged = data["exceeds"]["0"]
    assert flagged, "EPA's T-REX case has RQs over their levels of concern"
    summary = page.locator("#risk-summary")
    summary.wait_for()
    # the summary comes before the tables
    assert page.locator("#tables > *").first.get_attribute("id") == "risk-summary"
    items = summary.locator("li").all_inner_texts()
    assert len(items) == len(flagged)
    outputs = pram_model("trex").outputs
    for e in flagged:
        label = outputs[e["output"]]["description"]
        assert any(i.startswith(label + ":") for i in items), (label, items)
    chronic = next(i for i in items if i.startswith("Chronic dose RQ, small mammal, sg:"))
    assert chronic == "Chronic dose RQ, small mammal, sg: 7.96 — 8.0× the chronic LOC 1.0", chronic

    # marked cells: a class, a visible sign and words for a screen reader
    marked = page.locator("#table-outputs td.exceeds")
    assert marked.count() == len(flagged)
    row = page.locator("#table-outputs tbody tr").filter(
        has=page.locator("th", has_text=re.compile("^out_crq_dose_mamm_sg_sm$")))
    cell = row.locator("td").first
    assert "exceeds" in (cell.get_attribute("class") or "")
    assert "at or above the chronic level of concern 1.0" in cell.locator(".visually-hidden").inner_text()
    assert cell.get_attribute("data-value").startswith("7.96")
    below = next(n for n in pram_model("trex").risk.rqs
                 if isinstance(data["outputs"][n]["0"], float) and data["outputs"][n]["0"] < 0.1)
    quiet = page.locator("#table-outputs tbody tr").filter(
        has=page.locator("th", has_text=re.compile(f"^{below}$"))).locator("td").first
    assert "exceeds" not in (quiet.get_attribute("class") or "")

    # the abbreviations explained
    glossary = page.locator("#risk-glossary")
    glossary.locator("summary").click()
    terms = glossary.locator("dt").all_inner_texts()
    assert {"sg", "tg", "arq", "crq", "rq", "loc", "sm", "mamm"} <= set(terms), terms
    assert glossary.locator("abbr[title='short grass']").count() == 1
    tab.shot("risk")
    serious = axe_serious(page)  # marked cells, summary and glossary open
    assert not serious, serious


def test_a_batch_summary_counts_the_runs_over_each_loc(tab, stack):
    rows = [case_inputs("trex", 0), case_inputs("trex", 0, noael_mamm=37500.0)]
    response = requests.post(stack["base"] + "/pram/trex", json={"inputs": rows}, headers=stack["auth"], timeout=30)
    assert response.status_code == 202, response.text
    job = response.json()["job_id"]
    assert tab.open_job(job) == "Finished (SUCCESS)"
    summary = tab.page.locator("#risk-summary")
    summary.wait_for()
    items = summary.locator("li").all_inner_texts()
    chronic = next(i for i in items if i.startswith("Chronic dose RQ, small mammal, sg:"))
    assert chronic.endswith("(highest, run 1); in 1 of 2 runs"), chronic
    assert tab.page.locator("#table-runs td.exceeds").count() > 0
    serious = axe_serious(tab.page)  # a batch's table of runs with its marked cells
    assert not serious, serious
