"""Run again, labels and My jobs in the workbench, in Debian's Chromium against gunicorn and a
real worker with API keys on: "Run this model again" fills the model's form with that job's
own inputs (read with the key, never another client's), a batch's rows go into the batch
box, a label typed in the form is kept with the job and shown in My jobs with its runs and
times, and Cancel in My jobs stops a running job."""
from __future__ import annotations

import re
from pathlib import Path

import requests

from flask_qed import keys as keyfile
from flask_qed.plugins import discover
from tests.pram.qaqc import load_cases
from tests.web.test_ui import artifacts, browser, stack, tab  # noqa: F401  (fixtures)
from tests.web.test_ui import api_get, axe_serious

ISO = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)")


def example(app: str, model: str) -> dict:
    found = next(a for a in discover() if a.name == app).model(model)
    return dict(found.example)


def submit(stack, path: str, body: dict) -> str:
    answer = requests.post(stack["base"] + path, json=body, headers=stack["auth"], timeout=30)
    assert answer.status_code == 202, answer.text[:300]
    return answer.json()["job_id"]


def test_run_again_fills_the_form_with_the_jobs_own_inputs(tab, stack):
    page = tab.page
    inputs = {**example("pram", "trex"), "num_apps": 2, "app_rates": [2.5, 0.75], "day_out": [1, 9],
              "foliar_diss_hlife": 21.0}
    job = submit(stack, "/pram/trex", {"inputs": inputs, "label": "Triticonazole, two applications"})
    tab.open("/ui/")
    tab.enter_key()
    tab.open(f"/ui/jobs/{job}")
    assert tab.wait_done() == "Finished (SUCCESS)"
    assert page.locator("#job-label").inner_text() == "Triticonazole, two applications"
    page.get_by_role("link", name="Run this model again").click()
    page.wait_for_url(re.compile(rf"/ui/pram/trex\?from={job}$"))
    page.wait_for_function("() => /holds the inputs of job/.test(document.getElementById('prefill-status').textContent)")
    # the job's own values, not the example's
    assert page.locator("#in-foliar_diss_hlife").input_value() == "21"  # the example's is 35
    rates = page.locator('[data-rows="app_rates"] input')
    if rates.count():  # rows per value (the series box fills itself through the form's hook)
        assert rates.count() == 2 and [rates.nth(i).input_value() for i in range(2)] == ["2.5", "0.75"]
    assert page.locator("#job-label").input_value() == "Triticonazole, two applications"
    page.locator("#job-label").fill("Triticonazole again")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    again = tab.job_id()
    assert again != job
    assert tab.wait_done() == "Finished (SUCCESS)"
    assert page.locator("#job-label").inner_text() == "Triticonazole again"
    before, after = (api_get(stack, f"/jobs/{j}/inputs").json() for j in (job, again))
    assert after["inputs"] == before["inputs"]  # the same run again
    assert after["inputs"]["app_rates"] == [2.5, 0.75] and after["inputs"]["foliar_diss_hlife"] == 21.0
    first_result, second_result = (api_get(stack, f"/jobs/{j}/results").json() for j in (job, again))
    assert second_result["outputs"] == first_result["outputs"]
    tab.shot("prefilled")


def test_run_again_puts_a_batchs_rows_in_the_batch_box(tab, stack):
    page = tab.page
    base = load_cases("rice")[0][1]
    rows = [{**base, "kd": kd} for kd in (757.0, 500.0, 250.0)]
    job = submit(stack, "/pram/rice", {"inputs": rows, "label": "kd sweep"})
    tab.open("/ui/")
    tab.enter_key()
    tab.open(f"/ui/pram/rice?from={job}")
    page.wait_for_function("() => /batch of 3 runs/.test(document.getElementById('prefill-status').textContent)")
    text = page.locator("#batch-text").input_value().splitlines()
    assert len(text) == 4 and "kd" in text[0].split(",")
    page.get_by_role("button", name="Run batch").click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    assert tab.wait_done() == "Finished (SUCCESS)"
    again = api_get(stack, f"/jobs/{tab.job_id()}/inputs").json()
    assert again["runs"] == 3 and [r["kd"] for r in again["inputs"]] == [757.0, 500.0, 250.0]
    assert again["label"] == "kd sweep"
    assert again["inputs"] == api_get(stack, f"/jobs/{job}/inputs").json()["inputs"]


def test_run_again_reads_only_the_callers_own_job(tab, stack):
    page = tab.page
    job = submit(stack, "/pram/rice", {"inputs": {**load_cases("rice")[0][1], "kd": 321.0}})
    bob = keyfile.add_key(Path(stack["env"]["QED_API_KEYS_FILE"]), "bob-again")
    tab.allowed.append(re.compile(r"status of 404"))
    tab.open("/ui/")
    tab.enter_key(bob)
    tab.open(f"/ui/pram/rice?from={job}")
    page.wait_for_function("() => /could not be read/.test(document.getElementById('prefill-status').textContent)")
    assert "Not found" in page.locator("#prefill-status").inner_text()
    assert page.locator("#in-kd").input_value() != "321"  # the example stays


def test_my_jobs_shows_label_runs_times_and_cancels_a_running_job(tab, stack):
    page = tab.page
    done = submit(stack, "/pram/rice", {"inputs": [load_cases("rice")[0][1]] * 2, "label": "two runs"})
    running = submit(stack, "/testing/sleepy", {"inputs": {"seconds": 30}, "label": "a long one <b>not bold</b>"})
    tab.open("/ui/")
    tab.enter_key()
    tab.open(f"/ui/jobs/{done}")
    assert tab.wait_done() == "Finished (SUCCESS)"
    tab.open("/ui/jobs")
    row = page.locator(f'#jobs tbody tr[data-job="{running}"]')
    row.wait_for()
    assert row.locator("th code").inner_text() == running  # the full id
    assert row.locator("td.label").inner_text() == "a long one <b>not bold</b>"  # plain text, not markup
    finished = page.locator(f'#jobs tbody tr[data-job="{done}"]')
    assert finished.locator("td.label").inner_text() == "two runs"
    assert finished.locator("td.runs").inner_text() == "2" and row.locator("td.runs").inner_text() == "1"
    times = finished.locator("time").all_inner_texts()
    assert len(times) == 2 and all(ISO.fullmatch(t) for t in times), times
    assert finished.locator("time").first.get_attribute("datetime").endswith("Z")
    assert finished.get_by_role("button", name=re.compile("^Cancel")).count() == 0
    cancel = row.get_by_role("button", name=re.compile(f"^Cancel job {running[:8]}"))
    assert cancel.is_visible()
    tab.shot("my-jobs")
    row.get_by_role("button", name=f"Copy the id of job {running[:8]}").click()
    page.wait_for_function("() => /copied|selected/.test(document.getElementById('jobs-status').textContent)")
    copied = page.locator("#jobs-status").inner_text()
    assert running in copied or page.evaluate("() => String(window.getSelection())") == running
    cancel.click()
    page.wait_for_function(f"""() => {{
        const r = document.querySelector('#jobs tbody tr[data-job="{running}"]');
        return r && r.querySelector('td.status').textContent === 'Cancelled'; }}""")
    assert api_get(stack, f"/jobs/{running}/status").json()["status"] == "REVOKED"
    assert page.locator(f'#jobs tbody tr[data-job="{running}"]').get_by_role("button", name=re.compile("^Cancel")).count() == 0
    assert "cancelled" in page.locator("#jobs-status").inner_text()


def test_a_label_typed_in_the_form_goes_with_the_job(tab, stack):
    page = tab.page
    tab.open("/ui/pram/rice")
    tab.enter_key()
    page.get_by_label("Job label").fill("  from the form  ")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    assert tab.wait_done() == "Finished (SUCCESS)"
    assert api_get(stack, f"/jobs/{tab.job_id()}").json()["label"] == "from the form"
    assert page.locator("#job-label").inner_text() == "from the form"


def test_no_serious_accessibility_violations_on_run_again_and_my_jobs(tab, stack):
    page = tab.page
    job = submit(stack, "/pram/trex", {"inputs": example("pram", "trex"), "label": "for the check"})
    submit(stack, "/testing/sleepy", {"inputs": {"seconds": 5}, "label": "running"})
    tab.open("/ui/")
    tab.enter_key()
    tab.open(f"/ui/pram/trex?from={job}")
    found = []
    page.wait_for_function("() => !document.getElementById('prefill-status').hidden")
    for where in ("form", "my-jobs"):
        if where == "my-jobs":
            tab.open("/ui/jobs")
            page.locator("#jobs tbody button.cancel").first.wait_for()
        found += [(where, *v) for v in axe_serious(page)]
    assert not found, found
