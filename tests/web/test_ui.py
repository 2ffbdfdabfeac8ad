"""The workbench (/ui/) in a real headless Chromium (Debian's), driven by Playwright,
against a real gunicorn gateway and Celery worker with API keys on.

Each test opens pages as a person would, presses the buttons a person would press,
and checks what the page shows against what the API itself answers. Screenshots go
to a temporary folder (printed with -s; kept by pytest with its tmp dirs). Every page
must log no console error and no script error (network answers a test provokes on
purpose, such as the 422 of invalid inputs, are the only exceptions).
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
from pathlib import Path

import pytest
import requests

from flask_qed import keys as keyfile
from tests.conftest import ROOT, stop
from tests.test_deployment import _deploy

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
AXE = ROOT / "flask_qed/web/ui/static/vendor/axe-core/axe.min.js"
RICE_CW = 27.5184  # EPA's expected out_cw for the QA/QC case the rice form is prefilled with


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui-stack")
    path = tmp / "api_keys"
    key = keyfile.add_key(path, "alice")
    started: list = []
    deployed = _deploy(tmp, started, QED_API_KEYS_FILE=str(path))
    yield {**deployed, "key": key, "auth": {"Authorization": f"Bearer {key}"}}
    for proc in started:
        stop(proc)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ui-screenshots")
    print(f"\nworkbench screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A browser tab on the stack, with the API key entered once, collecting console errors."""

    def __init__(self, browser, stack, artifacts: Path, name: str, tmp: Path):
        self.context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.base, self.stack, self.artifacts, self.name, self.tmp = stack["base"], stack, artifacts, name, tmp
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.urls: list[str] = []
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.page.set_default_timeout(30_000)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def enter_key(self, key: str | None = None) -> None:
        page = self.page
        if not page.locator("#key-panel").evaluate("d => d.open"):
            page.locator("#key-panel summary").click()
        page.get_by_label("Your API key").fill(key or self.stack["key"])
        page.get_by_role("button", name="Use key").click()

    def shot(self, label: str) -> Path:
        path = self.artifacts / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def shot_of(self, selector: str, label: str) -> Path:
        path = self.artifacts / f"{self.name}-{label}.png"
        self.page.locator(selector).screenshot(path=str(path))
        return path

    def wait_done(self, timeout: float = 60_000) -> str:
        page = self.page
        page.wait_for_function(
            "() => /SUCCESS|FAILURE|REVOKED/.test(document.getElementById('job-status').textContent)",
            timeout=timeout)
        return page.locator("#job-status").inner_text()

    def open_job(self, job: str) -> str:
        """A job's page, opened with the key entered, once the job has ended: its status line."""
        self.open("/ui/")
        self.enter_key()  # kept for this tab
        self.open(f"/ui/jobs/{job}")
        return self.wait_done()

    def job_id(self) -> str:
        return self.page.locator("#job-id").get_attribute("data-job")

    def download(self, link_name: str) -> bytes:
        with self.page.expect_download() as info:
            self.page.get_by_role("link", name=link_name, exact=True).click()
        target = self.tmp / info.value.suggested_filename
        info.value.save_as(target)
        return target.read_bytes()

    def close(self) -> None:
        unexpected = [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
        self.context.close()
        assert not unexpected, f"console errors: {unexpected}"
        assert not [u for u in self.urls if self.stack["key"] in u], "the API key went into a URL"


@pytest.fixture()
def tab(browser, stack, artifacts, request, tmp_path):
    opened = Tab(browser, stack, artifacts, request.node.name.removeprefix("test_"), tmp_path)
    yield opened
    opened.close()


def api_get(stack, path: str, **headers: str) -> requests.Response:
    response = requests.get(stack["base"] + path, headers={**stack["auth"], **headers}, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return response


def run_form(tab: Tab, app: str, model: str) -> dict:
    """Open a model's form with the key, keep the example, press Run, wait for 100 %."""
    page = tab.page
    tab.open(f"/ui/{app}/{model}")
    tab.enter_key()
    for control in page.locator("#run-form input, #run-form select, #run-form textarea").all():
        assert control.get_attribute("name"), "every input has a name"
        assert control.evaluate("c => c.labels.length") >= 1, f"{control.get_attribute('name')} has a label"
    tab.shot("form")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    assert tab.wait_done() == "Finished (SUCCESS)"
    page.wait_for_function("() => document.getElementById('job-progress-text').textContent === '100 %'")
    assert page.locator("#job-progress").evaluate("p => p.value") == 100
    page.locator("#results").wait_for(state="visible")
    page.locator("#tables table").first.wait_for()
    tab.shot("job")
    return api_get(tab.stack, f"/jobs/{tab.job_id()}/results").json()


def cell_of(page, table_id: str, row_name: str, column: int = 1) -> str:
    row = page.locator(f"#{table_id} tbody tr").filter(has=page.locator("th", has_text=re.compile(f"^{row_name}$")))
    cell = row.locator("td").nth(column - 1)
    return cell.get_attribute("data-value") or cell.inner_text()


def close(a: float, b: float, rtol: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-9)


# -- pages from the declarations (no browser) ------------------------------------------------
def test_every_model_has_an_example_that_runs_and_a_form_with_a_labelled_control_per_input(gateway):
    from html.parser import HTMLParser

    from flask_qed.web.ui import batch_template, form_fields

    class Controls(HTMLParser):
        def __init__(self):
            super().__init__()
            self.names, self.ids, self.labels, self.in_form = [], set(), set(), False

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form":
                self.in_form = a.get("id") == "run-form"
            if self.in_form and tag in ("input", "select", "textarea"):
                self.names.append(a.get("name"))
                self.ids.add(a.get("id"))
            if tag == "label":
                self.labels.add(a.get("for"))

        def handle_endtag(self, tag):
            if tag == "form":
                self.in_form = False

    client = gateway.test_client()
    runtime = gateway.extensions["qed"]
    checked = 0
    for app in runtime.apps:
        for model in app.models:
            if app.name in ("pram", "hms"):
                assert model.example, f"{app.name}/{model.name} has no example"
                model.validate(dict(model.example))
            page = client.get(f"/ui/{app.name}/{model.name}")
            assert page.status_code == 200 and page.mimetype == "text/html"
            parser = Controls()
            parser.feed(page.get_data(as_text=True))
            inputs = set(model.inputs.model_json_schema()["properties"])
            assert set(parser.names) == inputs, (model.name, set(parser.names) ^ inputs)
            assert parser.ids <= parser.labels, (model.name, parser.ids - parser.labels)
            fields = {f["name"]: f for f in form_fields(model)}
            for name, value in (model.example or {}).items():
                shown = fields[name]["values"]
                assert shown, (model.name, name)
            if model.batch:
                header, row = list(csv.reader(io.StringIO(batch_template(model))))
                assert header == list(fields) and len(row) == len(header)
            checked += 1
    assert checked >= 15
    trex = {f["name"]: f for f in form_fields(next(a for a in runtime.apps if a.name == "pram").model("trex"))}
    assert trex["app_rates"]["list"] and trex["app_rates"]["values"] == ["1.15", "1.15", "1.15"]
    assert trex["application_type"]["kind"] == "select" and "Seed Treatment" in trex["application_type"]["options"]
    assert trex["num_apps"]["range"] == "≥ 1, ≤ 365" and trex["ld50_bird"]["range"] == "> 0"
    assert trex["ld50_bird"]["units"] == "mg/kg-bw" and trex["lc50_mamm"]["required"] is False


def test_no_template_names_an_app_and_the_example_note_is_the_models_own(gateway):
    """The workbench is the framework's: what a form says about its example comes from the
    model's declaration (EXAMPLE, EXAMPLE_SOURCE), never from a template that knows an app."""
    from html import unescape

    import flask_qed.web.ui as ui

    names = {a.name for a in gateway.extensions["qed"].apps}
    for path in (Path(ui.__file__).parent / "templates").glob("*.html"):
        text = path.read_text()
        assert not re.search(r"app\.name\s*[!=]=", text), path.name
        for name in names:
            assert not re.search(rf"[\"']{name}[\"']", text), (path.name, name)
    client = gateway.test_client()

    def note(path: str) -> str | None:
        page = unescape(client.get(path).get_data(as_text=True))
        found = re.search(r"Prefilled with an example[^.]*\.", page)
        return found.group(0) if found else None

    assert note("/ui/pram/rice") == "Prefilled with an example (EPA's QA/QC case)."
    assert note("/ui/pram/exponential") == "Prefilled with an example."  # EPA publishes no case for it
    assert note("/ui/hms/percent_area") == "Prefilled with an example."
    assert note("/ui/testing/sleepy") is None  # declares no example: the form does not claim one


# -- in the browser --------------------------------------------------------------------------
def test_browser_home_goes_to_the_workbench_and_api_clients_get_json(stack):
    html = requests.get(stack["base"] + "/", headers={"Accept": "text/html,*/*;q=0.8"},
                        allow_redirects=False, timeout=10)
    assert html.status_code == 302 and html.headers["Location"] == "/ui/"
    assert requests.get(stack["base"] + "/", timeout=10).status_code == 401  # keys on, no key
    assert api_get(stack, "/", Accept="application/json").json()["name"] == "flask_qed"
    page = requests.get(stack["base"] + "/ui/pram/rice", timeout=10)  # pages hold no job data
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    missing = requests.get(stack["base"] + "/ui/pram/nope", timeout=10)
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/json"


def test_catalogue_lists_every_model_and_searches(tab, stack):
    page = tab.page
    tab.open("/")  # a browser asking for / lands on the catalogue
    page.wait_for_url(re.compile(r"/ui/$"))
    index = api_get(stack, "/").json()
    for app in index["apps"]:
        for name in app["models"]:
            assert page.locator(f'a[href="/ui/{app["name"]}/{name}"]').count() == 1, name
    rice = page.locator(".model", has=page.locator('a[href="/ui/pram/rice"]'))
    assert "paddy" in rice.inner_text() and "version 1.0" in rice.inner_text()
    page.get_by_label("Search models").fill("routing")
    visible = page.locator(".model:visible h3").all_inner_texts()
    assert sorted(visible) == ["Changing-volume flow routing", "Constant-volume flow routing",
                               "Constant-volume flow routing (time step in days, original interface)",
                               "Kinematic-wave flow routing"]
    assert "4 of" in page.locator("#search-count").inner_text()
    page.get_by_label("Search models").fill("")
    tab.shot("catalogue")


def test_rice_form_runs_its_example_and_shows_epa_values(tab, stack):
    page = tab.page
    data = run_form(tab, "pram", "rice")
    assert close(float(cell_of(page, "table-outputs", "out_cw")), data["outputs"]["out_cw"]["0"])
    assert math.isclose(data["outputs"]["out_cw"]["0"], RICE_CW, rel_tol=1e-5)
    assert float(cell_of(page, "table-inputs", "mai")) == 0.056
    assert "µg/L" in page.locator("#table-outputs tbody tr", has_text="out_cw").inner_text()
    downloaded = tab.download("CSV")
    assert downloaded == api_get(stack, f"/jobs/{tab.job_id()}/results", Accept="text/csv").content
    as_json = json.loads(tab.download("JSON"))
    assert as_json == data
    # the key was entered once: the job page and my jobs use it from sessionStorage
    assert page.evaluate("() => sessionStorage.getItem('qed.apiKey')") == stack["key"]
    assert stack["key"] not in page.url
    job_id = tab.job_id()
    tab.open("/ui/jobs")
    page.get_by_role("link", name=f"Job {job_id}").click()
    page.wait_for_url(re.compile(job_id))
    assert tab.wait_done() == "Finished (SUCCESS)"


def test_every_pram_form_runs_its_epa_example_as_epa_expects(tab, stack):
    from tests.pram.qaqc import MODELS, load_cases, mismatches, tolerance
    page = tab.page
    tab.open("/ui/")
    tab.enter_key()
    for model in MODELS:
        tab.open(f"/ui/pram/{model}")
        page.get_by_role("button", name="Run", exact=True).click()
        page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
        assert tab.wait_done() == "Finished (SUCCESS)", model
        page.locator("#table-outputs").wait_for()
        outputs = {k: v["0"] for k, v in api_get(stack, f"/jobs/{tab.job_id()}/results").json()["outputs"].items()}
        assert not mismatches(load_cases(model)[0][2], outputs, tolerance(model)), model
        assert page.locator("#table-outputs tbody tr").count() == len(outputs), model


def test_list_inputs_are_series_boxes_and_trex_runs(tab, stack):
    from tests.pram.qaqc import load_cases
    page = tab.page
    tab.open("/ui/pram/trex")
    assert page.locator('select[name="application_type"]').input_value() == "Broadcast-Liquid"
    assert page.locator("#in-app_rates").input_value().split() == ["1.15", "1.15", "1.15"]
    assert page.locator("#in-day_out").input_value().split() == ["1", "11", "21"]
    assert page.locator("#count-day_out").inner_text() == "3 values"
    assert page.locator(".series[data-series=day_out] tbody th").all_inner_texts() == ["value 1", "value 2", "value 3"]
    data = run_form(tab, "pram", "trex")
    assert data["inputs"]["app_rates"]["0"] == [1.15, 1.15, 1.15]
    expected = load_cases("trex")[0][2]
    for name in ("out_eec_diet_sg", "out_arq_bird_sg_sm"):
        shown = float(cell_of(page, "table-outputs", name))
        assert close(shown, data["outputs"][name]["0"]) and math.isclose(shown, float(expected[name]), rel_tol=1e-5)


@pytest.mark.parametrize("model", ["constant_volume", "changing_volume", "kinematic_wave"])
def test_routing_forms_run_and_draw_a_hydrograph(tab, stack, model):
    page = tab.page
    data = run_form(tab, "hms", model)
    chart = page.locator("#chart svg.chart")
    assert chart.count() == 1
    tab.shot_of("#chart", "hydrograph")
    lines = chart.locator("polyline.series")
    n_segments = 3
    assert lines.count() == (n_segments if model == "constant_volume" else n_segments + 1)
    for line in lines.all():
        assert len(line.get_attribute("points").split()) >= 2
    assert chart.bounding_box()["width"] > 300
    assert chart.locator(".axis-label").all_text_contents().count("Flow (m³/s)") == 1  # the unit's symbol
    rows = page.locator("#table-routing tbody tr")
    if model == "constant_volume":  # each segment carries the example's boundary flow, 12.5 m3/s
        assert {float(t) for t in page.locator("#table-routing tbody td").all_inner_texts()} == {12.5}
        first = data["data"][0]
        assert rows.first.locator("th").inner_text() == first[0]
        assert [float(t) for t in rows.first.locator("td").evaluate_all(
            "cells => cells.map((c) => c.dataset.value)")] == first[1:]
        expected = [["DateTime", *[f"segment {c}" for c in data["columns"][1:]]], *data["data"]]
    else:  # a steady 5 m3/s at t0, then the flood wave attenuated from segment to segment
        assert [float(t) for t in rows.first.locator("td").all_inner_texts()[:1 + n_segments]] == [5.0] * 4
        peaks = [max(row[j] for row in data["flow"]) for j in range(n_segments)]
        assert max(data["boundary_flow"]) == 50 and 50 > peaks[0] > peaks[1] > peaks[2]
        shown = [float(t) for t in rows.nth(6).locator("td").evaluate_all(
            "cells => cells.map((c) => c.dataset.value)")[:1 + n_segments]]
        want = [data["boundary_flow"][6], *data["flow"][6]]
        assert all(close(a, b) for a, b in zip(shown, want)), (shown, want)
        expected = None
    n_times = len(data["data"] if model == "constant_volume" else data["dates"])
    assert rows.count() == min(25, n_times)
    table = list(csv.reader(io.StringIO(tab.download("CSV").decode())))
    if expected is not None:
        assert len(table) == len(expected)
        for got, want in zip(table[1:], expected[1:]):
            assert got[0] == want[0] and [float(v) for v in got[1:]] == want[1:]
    else:
        assert len(table) == len(data["dates"]) + 1
        for i, row in enumerate(table[1:]):
            assert row[0] == data["dates"][i]
            assert float(row[1]) == data["boundary_flow"][i]
            assert [float(v) for v in row[2:2 + n_segments]] == data["flow"][i]
            assert [float(v) for v in row[2 + n_segments:2 + 2 * n_segments]] == data["depth"][i]


def test_percent_area_form_runs_and_draws_a_map(tab, stack):
    page = tab.page
    data = run_form(tab, "hms", "percent_area")
    points = [p for feature in data["geometry"].values() for p in feature["points"]]
    assert points
    cells = page.locator("#chart svg.chart g.cells rect")
    assert cells.count() == len(points)
    assert page.locator("#chart svg.chart path.outline").count() == 1
    tab.shot_of("#chart", "map")
    assert len(set(cells.evaluate_all("rs => rs.map(r => r.getAttribute('fill'))"))) >= 2
    assert page.locator("#chart svg.chart").bounding_box()["height"] > 150
    first = page.locator("#table-cells tbody tr").first.locator("td").evaluate_all(
        "cells => cells.map((c) => c.dataset.value)")
    assert close(float(first[4]), points[0]["percentArea"])
    table = list(csv.reader(io.StringIO(tab.download("CSV").decode())))
    assert table[0] == ["feature", "latitude", "longitude", "cellArea", "containedArea", "percentArea",
                        "percentCatchment"]
    assert [[float(v) for v in row[1:]] for row in table[1:]] == [
        [p[k] for k in table[0][1:]] for p in points]


def test_percent_area_from_an_uploaded_geojson_file(tab, stack):
    page = tab.page
    square = {"type": "Feature", "properties": {"HUC12": "031300011004"}, "geometry": {
        "type": "Polygon", "coordinates": [[[-84.30, 34.00], [-84.05, 34.00], [-84.05, 34.20],
                                            [-84.30, 34.20], [-84.30, 34.00]]]}}
    upload = tab.tmp / "catchment.geojson"
    upload.write_text(json.dumps({"type": "FeatureCollection", "features": [square]}))
    tab.open("/ui/hms/percent_area")
    tab.enter_key()
    page.get_by_label("Or upload a file").set_input_files(str(upload))
    page.get_by_label("grid").select_option("gldas")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    assert tab.wait_done() == "Finished (SUCCESS)"
    page.locator("#chart svg.chart").wait_for()
    data = api_get(stack, f"/jobs/{tab.job_id()}/results").json()
    assert list(data["geometry"]) == ["031300011004"] and data["metadata"]["grid"] == "gldas"
    assert page.locator("#chart g.cells rect").count() == len(data["geometry"]["031300011004"]["points"])
    outline = page.locator("#chart path.outline").get_attribute("d")  # the file's square, not the example
    assert outline.count("L") == 4 and outline.endswith("Z")


def test_batch_of_1000_rows_from_a_csv_upload(tab, stack):
    page = tab.page
    template = requests.get(stack["base"] + "/ui/pram/rice/template.csv", timeout=10)
    header, example = list(csv.reader(io.StringIO(template.text)))
    assert header == ["chemical_name", "pc_code", "version", "mai", "area", "dsed", "pb", "dw", "osed", "kd"]
    rows = []
    for i in range(1000):
        row = dict(zip(header, example))
        row["mai"] = f"{0.001 * (i + 1):.3f}"
        rows.append([row[h] for h in header])
    upload = tab.tmp / "rice-batch.csv"
    with open(upload, "w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    tab.open("/ui/pram/rice")
    tab.enter_key()
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the CSV template").click()
    assert Path(got.value.path()).read_text() == template.text
    page.get_by_label("Upload a CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Run batch").click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    assert tab.wait_done() == "Finished (SUCCESS)"
    page.wait_for_function("() => document.getElementById('job-progress-text').textContent === '100 %'")
    status = page.locator(".pager-status")
    status.wait_for()
    assert status.inner_text() == "Rows 1–25 of 1000 (page 1 of 40)"
    page.get_by_role("button", name="Next page").click()
    assert status.inner_text() == "Rows 26–50 of 1000 (page 2 of 40)"
    data = api_get(stack, f"/jobs/{tab.job_id()}/results").json()
    assert len(data["outputs"]["out_cw"]) == 1000
    headers = page.locator("#table-runs thead th").all_inner_texts()
    cw = next(i for i, h in enumerate(headers) if h.startswith("out_cw"))
    second_page = page.locator("#table-runs tbody tr").first
    assert second_page.locator("th").inner_text() == "26"  # run key "25", counted from 1
    assert close(float(second_page.locator("td").nth(cw - 1).get_attribute("data-value")),
                 data["outputs"]["out_cw"]["25"])
    tab.shot("batch-job")
    assert tab.download("CSV") == api_get(stack, f"/jobs/{tab.job_id()}/results?f=csv").content


def test_invalid_inputs_are_caught_in_the_browser_or_shown_at_the_field(tab, stack):
    page = tab.page
    tab.open("/ui/pram/rice")
    tab.enter_key()
    posts: list[str] = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    # 1. the schema's own range is checked before anything is sent
    page.get_by_label("mai").fill("-1")
    page.get_by_role("button", name="Run", exact=True).click()
    assert "greater than or equal to 0" in page.locator("#err-mai").inner_text()
    assert page.locator("#in-mai").get_attribute("aria-invalid") == "true"
    page.locator("#error-summary").wait_for(state="visible")
    assert posts == []
    page.get_by_label("mai").fill("0.056")
    # 2. a rule across fields only the server knows: its 422 is shown at the fields it names
    page.get_by_label("dw").fill("0")
    page.get_by_label("dsed").fill("0")
    tab.allowed.append(re.compile(r"status of 422"))
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator("#err-dw").wait_for(state="visible")
    assert "dw + dsed must be positive" in page.locator("#err-dw").inner_text()
    assert page.locator("#in-dw").get_attribute("aria-invalid") == "true"
    assert page.locator("#err-mai").inner_text() == ""
    assert len(posts) == 1 and "/ui/" in page.url  # it was sent, and refused
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    tab.shot("422")
    # 3. a batch row the server refuses is named by its row
    page.get_by_label("Or paste CSV rows, header line first").fill(
        "mai,area,dsed,pb,dw,osed,kd\n0.056,10000,0.01,1300,0.1,0.509,757\n0.056,10000,0.01,1300,0.1,1.5,757\n")
    page.get_by_role("button", name="Run batch").click()
    page.locator("#batch-errors").wait_for(state="visible")
    assert "Run 2: osed" in page.locator("#batch-errors").inner_text()


def test_cancel_a_running_job(tab, stack):
    page = tab.page
    tab.open("/ui/testing/sleepy")
    tab.enter_key()
    page.get_by_label("seconds").fill("20")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    page.wait_for_function("() => /STARTED/.test(document.getElementById('job-status').textContent)")
    page.get_by_role("button", name="Cancel").click()
    assert tab.wait_done() == "Cancelled (REVOKED)"
    assert "cancelled" in page.locator("#job-error").inner_text()
    assert page.get_by_role("button", name="Cancel").is_hidden()
    assert api_get(stack, f"/jobs/{tab.job_id()}/status").json()["status"] == "REVOKED"
    tab.shot("cancelled")


def test_a_failed_job_says_why_in_plain_words(tab, stack):
    page = tab.page
    tab.open("/ui/testing/sleepy")
    tab.enter_key()
    page.get_by_label("seconds").fill("0")
    page.get_by_label("fail").check()
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    assert tab.wait_done() == "Failed (FAILURE)"
    assert page.locator("#job-error").inner_text() == \
        "The model could not finish: the sleepy model was asked to fail"
    assert page.locator("#results").is_hidden()
    assert page.get_by_role("link", name="Run this model again").get_attribute("href") == \
        f"/ui/testing/sleepy?from={tab.job_id()}"


def test_without_a_key_the_page_asks_for_one_then_works(tab, stack):
    page = tab.page
    job_id = requests.post(stack["base"] + "/pram/rice", headers=stack["auth"], timeout=10,
                           json={"inputs": {"mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1,
                                            "osed": 0.509, "kd": 909}}).json()["job_id"]
    tab.allowed.append(re.compile(r"status of 401"))
    tab.open(f"/ui/jobs/{job_id}")
    page.locator("#notice").wait_for(state="visible")
    assert "API key" in page.locator("#notice").inner_text()
    assert page.locator("#key-panel").evaluate("d => d.open")
    tab.enter_key()
    assert tab.wait_done() == "Finished (SUCCESS)"
    # my jobs, filtered by model and status through GET /jobs
    tab.open("/ui/jobs")
    page.locator("#jobs tbody tr").first.wait_for()
    assert page.locator("#open-notice").count() == 0 and "Your jobs" in page.locator("main").inner_text()
    mine = api_get(stack, "/jobs?limit=50").json()["jobs"]
    assert page.locator("#jobs tbody tr").count() == len(mine)
    assert page.locator("#jobs tbody tr").first.locator("th code").inner_text() == mine[0]["job_id"]
    page.get_by_label("Model").select_option("testing/sleepy")
    page.get_by_label("Status").select_option("REVOKED")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"status=REVOKED"))
    revoked = api_get(stack, "/jobs?app=testing&model=sleepy&status=REVOKED").json()["jobs"]
    page.wait_for_function(f"() => document.querySelectorAll('#jobs tbody tr').length === {len(revoked)}"
                           if revoked else "() => !document.getElementById('jobs-empty').hidden")
    assert set(page.locator("#jobs tbody td.status").all_inner_texts()) <= {"Cancelled"}
    # another client's key sees no such job
    other = keyfile.add_key(Path(stack["env"]["QED_API_KEYS_FILE"]), "bob")
    tab.allowed.append(re.compile(r"status of 404"))
    page.evaluate(f"() => sessionStorage.setItem('qed.apiKey', {json.dumps(other)})")
    tab.open(f"/ui/jobs/{job_id}")
    page.wait_for_function("() => /Not found/.test(document.getElementById('job-error').textContent)")


@pytest.fixture()
def open_stack(tmp_path):
    """The gateway with no key file, served on a free port (no worker: the job pages read
    the store through the API); returns the stack and its store."""
    import threading

    from werkzeug.serving import make_server

    from flask_qed.embedded import free_port
    from flask_qed.runtime import Runtime
    from flask_qed.tasks import create_celery
    from flask_qed.web import create_gateway
    from tests.conftest import make_env
    env = make_env("redis://127.0.0.1:1/0", f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)
    gateway = create_gateway(create_celery(Runtime.load(env)))
    server = make_server("127.0.0.1", free_port(), gateway, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "key": "qed_no_key_here", "auth": {}},\
        gateway.extensions["qed"].store
    server.shutdown()
    thread.join(10)


def test_without_keys_the_job_pages_say_that_every_job_is_visible(browser, open_stack, artifacts, tmp_path):
    """With no key file GET /jobs lists every client's jobs to anyone: the pages where a
    person sees their jobs say so plainly, above another client's job."""
    import uuid

    from flask_qed import jobs
    stack, store = open_stack
    job_id = str(uuid.uuid4())
    store.create(job_id, {**jobs.new_record("pram", "rice", "1.0", "pram.rice"), "owner": "addr:192.0.2.7",
                          "status": jobs.FAILURE, "error": "someone else's job", "finished": jobs.now_iso()})
    tab = Tab(browser, stack, artifacts, "open-server", tmp_path)
    page = tab.page
    try:
        tab.open("/ui/jobs")
        page.locator("#jobs tbody tr").first.wait_for()
        notice = page.locator("#open-notice")
        assert notice.is_visible()
        assert "This server has no API keys: every job here can be seen by anyone who can reach it" \
            in " ".join(notice.inner_text().split())
        assert page.locator("#jobs tbody tr").first.locator("th code").inner_text() == job_id  # not the viewer's
        assert "Your jobs" not in page.locator("main").inner_text()
        tab.shot("my-jobs")
        tab.open(f"/ui/jobs/{job_id}")
        assert tab.wait_done() == "Failed (FAILURE)"
        assert page.locator("#open-notice").is_visible()
    finally:
        tab.close()


@pytest.mark.parametrize("where", ["catalogue", "form", "job", "map", "my-jobs"])
def test_no_serious_accessibility_violations(tab, stack, where):
    page = tab.page
    if where == "catalogue":
        tab.open("/ui/")
    elif where == "form":
        tab.open("/ui/pram/trex")
    elif where == "job":
        run_form(tab, "hms", "kinematic_wave")
    elif where == "map":
        run_form(tab, "hms", "percent_area")
    else:
        run_form(tab, "pram", "rice")
        tab.open("/ui/jobs")
        page.locator("#jobs tbody tr").first.wait_for()
    serious = axe_serious(page)
    assert not serious, serious
    assert AXE.exists()


def axe_serious(page) -> list:
    """axe-core's serious and critical violations on the page as it stands."""
    page.add_script_tag(url="/ui/static/vendor/axe-core/axe.min.js")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    return serious


def test_layout_fits_a_phone_screen(tab, stack):
    page = tab.page
    page.set_viewport_size({"width": 360, "height": 740})
    tab.open("/ui/hms/changing_volume")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, width
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    tab.shot("phone-form")


@pytest.fixture(scope="module", autouse=True)
def keep_docs_screenshots(artifacts):
    """QED_UI_DOCS=1 copies the form and job screenshots into docs/ (for the README)."""
    yield
    import os
    if os.environ.get("QED_UI_DOCS"):
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        for source, target in (("percent_area_form_runs_and_draws_a_map-form.png", "workbench-form.png"),
                               ("routing_forms_run_and_draw_a_hydrograph[changing_volume]-job.png",
                                "workbench-job.png")):
            if (artifacts / source).exists():
                shutil.copy(artifacts / source, docs / target)
