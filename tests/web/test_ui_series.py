"""Series inputs, hydrographs, the percent-area map and wide tables, in a real Chromium
against gunicorn and a Celery worker: a year of hourly inflow pasted into the form runs
end to end, a bad line is named by its number, every hydrograph line looks different and
many are picked from a list, the map reads in degrees west with a scale bar and a north
arrow, and a wide table scrolls inside its frame."""
from __future__ import annotations

import math
import re

import requests

from tests.web.test_ui import artifacts, browser, stack, tab  # noqa: F401  (fixtures)
from tests.web.test_ui import api_get, axe_serious, run_form

KM_PER_DEGREE = 111.32
YEAR_HOURS = 8760


def _flood(i: int) -> float:
    """A year of hourly inflow: 5 m3/s base flow with two flood waves (3 decimals, exact in JSON)."""
    return round(5 + 45 * math.exp(-((i - 2000) / 60) ** 2) + 30 * math.exp(-((i - 6500) / 120) ** 2), 3)


def _paste(box, text: str) -> None:
    """Paste into a box as a browser does: the whole text at once, then an input event.
    (Playwright's fill types it in with insertText, which takes minutes for 8,760 lines.)"""
    box.evaluate("(b, text) => { b.focus(); b.value = text;"
                 " b.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertFromPaste'}));"
                 " b.dispatchEvent(new Event('change', {bubbles: true})); }", text)


def test_numeric_lists_are_series_and_time_series_say_so(gateway):
    from flask_qed.web.ui import form_fields
    runtime = gateway.extensions["qed"]
    hms = next(a for a in runtime.apps if a.name == "hms")
    kinds = {f["name"]: f["series"] for f in form_fields(hms.model("kinematic_wave"))}
    assert kinds["boundary_flow"] == "time" and kinds["length"] == "values" and kinds["startDate"] is None
    assert {f["name"]: f["series"] for f in form_fields(hms.model("curve_number"))}["precipitation"] == "time"
    from flask_qed.web.ogc.schemas import to_oas30
    prop = to_oas30(hms.model("kinematic_wave").inputs.model_json_schema()["properties"]["boundary_flow"])
    assert prop["x-series"] == "time" and "series" not in prop  # OpenAPI 3.0 takes hints as x- extensions


def _open_kinematic_wave(tab):
    tab.open("/ui/hms/kinematic_wave")
    tab.enter_key()
    return tab.page.locator("#in-boundary_flow")


def test_a_pasted_year_of_hourly_inflow_runs_end_to_end(tab, stack):
    page = tab.page
    box = _open_kinematic_wave(tab)
    page.get_by_label("Start of the simulation").fill("2021-01-01T00:00:00")
    page.get_by_label("End of the simulation").fill("2022-01-01T00:00:00")
    values = [_flood(i) for i in range(YEAR_HOURS)]
    _paste(box, "inflow\n" + "\n".join(str(v) for v in values) + "\n")  # a header line, then one per step
    count = page.locator("#count-boundary_flow")
    count.filter(has_text="8,760 values").wait_for()
    assert "header line: inflow" in count.inner_text()
    assert page.locator(".series[data-series=boundary_flow] tbody th").all_inner_texts() == [
        "step 1", "step 2", "step 3", "…", "step 8,759", "step 8,760"]
    preview = page.locator(".series[data-series=boundary_flow] svg.chart polyline.series")
    assert preview.count() == 1 and len(preview.get_attribute("points").split()) >= 1000
    tab.shot("year-form")
    assert not axe_serious(page)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    assert tab.wait_done(timeout=120_000) == "Finished (SUCCESS)"
    data = api_get(stack, f"/jobs/{tab.job_id()}/results").json()
    assert len(data["dates"]) == YEAR_HOURS + 1 and data["dates"][-1] == "2022-01-01T00:00:00"
    assert data["boundary_flow"][1:] == values  # one per step, t1..tN, as pasted
    assert max(max(row) for row in data["flow"]) < max(values)  # the wave is attenuated downstream
    page.locator("#table-routing").wait_for()
    assert "of 8761" in page.locator(".pager-status").first.inner_text()


def test_a_bad_line_is_named_by_its_number_and_nothing_is_sent(tab, stack):
    page = tab.page
    box = _open_kinematic_wave(tab)
    box.fill("flow\n5\n6\nabc\n7\n-1\n8")
    page.get_by_role("button", name="Run", exact=True).click()
    error = page.locator("#err-boundary_flow")
    error.wait_for()
    assert "line 4: 'abc' is not a number" in error.inner_text()
    assert "line 6: -1 is below the minimum 0" in error.inner_text()
    assert page.locator("#error-summary").is_visible() and "/ui/hms/kinematic_wave" in page.url
    assert not [u for u in tab.urls if u.endswith("/hms/kinematic_wave") and "/ui/" not in u]  # nothing sent
    assert "2 lines to fix" in page.locator("#count-boundary_flow").inner_text()
    tab.shot("bad-line")


def test_two_columns_label_rows_by_time_and_a_csv_file_and_the_hook_fill_the_box(tab, stack):
    page = tab.page
    box = _open_kinematic_wave(tab)
    box.fill("time,flow\n2020-06-01T01:00:00,5\n2020-06-01T02:00:00,9.5\n2020-06-01T03:00:00,7")
    page.locator("#count-boundary_flow").filter(has_text="3 values").wait_for()
    rows = page.locator(".series[data-series=boundary_flow] tbody th").all_inner_texts()
    assert rows == ["2020-06-01T01:00:00", "2020-06-01T02:00:00", "2020-06-01T03:00:00"]
    assert page.locator(".series[data-series=boundary_flow] thead th").first.inner_text() == "time"
    upload = tab.tmp / "inflow.csv"
    upload.write_text("hour\tflow\r\n" + "".join(f"{h}\t{5 + h}\r\n" for h in range(1, 25)))
    page.get_by_label("Or load a CSV or text file into boundary_flow").set_input_files(str(upload))
    page.locator("#count-boundary_flow").filter(has_text="24 values").wait_for()
    assert box.input_value().startswith("hour\tflow")
    assert page.evaluate("() => window.qedForm.setSeriesValues('boundary_flow', [4, 8, 15, 16, 23, 42])") is True
    assert page.locator("#count-boundary_flow").inner_text() == "6 values"
    assert box.input_value().split() == ["4", "8", "15", "16", "23", "42"]
    assert page.evaluate("() => window.qedForm.setSeriesValues('nope', [1])") is False


def _routing_job(stack, segments: int) -> str:
    inputs = {"startDate": "2020-06-01T00:00:00", "endDate": "2020-06-02T00:00:00", "timestep": 3600,
              "boundary_flow": [5 + 40 * math.exp(-((h - 6) / 3) ** 2) for h in range(25)],
              "segments": segments, "length": 1500.0, "width": 15.0, "slope": 0.0005, "mannings_n": 0.035,
              "subreaches": 2}
    response = requests.post(stack["base"] + "/hms/kinematic_wave", json={"inputs": inputs},
                             headers=stack["auth"], timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def _open_job(tab, job: str):
    tab.open("/ui/")
    tab.enter_key()
    tab.open(f"/ui/jobs/{job}")
    assert tab.wait_done() == "Finished (SUCCESS)"
    tab.page.locator("#chart svg.chart").wait_for()


def test_sixteen_hydrograph_lines_all_look_different_and_a_picker_chooses_them(tab, stack):
    page = tab.page
    _open_job(tab, _routing_job(stack, 15))
    lines = page.locator("#chart svg.chart polyline.series")
    assert lines.count() == 16  # the inflow and 15 segments
    strokes = lines.evaluate_all("ls => ls.map(l => l.getAttribute('stroke').toLowerCase())")
    dashes = lines.evaluate_all("ls => ls.map(l => l.getAttribute('stroke-dasharray') || '')")
    assert len(set(strokes)) == 16, strokes
    assert len(set(dashes)) >= 8 and len(set(zip(strokes, dashes))) == 16
    assert all(re.fullmatch(r"#[0-9a-f]{6}", s) for s in strokes)
    picker = page.locator("fieldset.series-picker")
    boxes = picker.locator("input[type=checkbox]")
    assert boxes.count() == 16
    visible = "ls => ls.filter(l => getComputedStyle(l).display !== 'none').length"
    assert boxes.evaluate_all("bs => bs.filter(b => b.checked).length") == 6 == lines.evaluate_all(visible)
    assert boxes.first.is_checked() and boxes.last.is_checked()  # the inflow and the last segment
    page.get_by_label("Outflow of segment 2", exact=True).check()
    assert lines.evaluate_all(visible) == 7
    picker.get_by_role("button", name="Draw all").click()
    assert lines.evaluate_all(visible) == 16
    tab.shot_of("#chart", "sixteen")
    assert not axe_serious(page)
    picker.get_by_role("button", name="Draw none").click()
    assert lines.evaluate_all(visible) == 0


def test_a_few_hydrograph_lines_need_no_picker(tab, stack):
    page = tab.page
    _open_job(tab, _routing_job(stack, 3))
    assert page.locator("#chart polyline.series").count() == 4
    assert page.locator("fieldset.series-picker").count() == 0
    strokes = page.locator("#chart polyline.series").evaluate_all("ls => ls.map(l => l.getAttribute('stroke'))")
    assert len(set(strokes)) == 4


def test_a_wide_table_scrolls_inside_its_frame_at_1280_px(tab, stack):
    page = tab.page
    page.set_viewport_size({"width": 1280, "height": 900})
    _open_job(tab, _routing_job(stack, 15))
    table = page.locator("#table-routing")
    table.wait_for()
    assert table.locator("thead th").count() == 2 + 3 * 15
    wrap = page.locator(".table-wrap", has=table)
    sizes = wrap.evaluate("w => ({scroll: w.scrollWidth, client: w.clientWidth, right: w.getBoundingClientRect().right,"
                          " overflow: getComputedStyle(w).overflowX})")
    assert sizes["scroll"] > sizes["client"] and sizes["overflow"] == "auto", sizes
    assert sizes["right"] <= 1280
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280  # the page does not scroll
    last = table.locator("thead th").last
    wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    box = last.bounding_box()
    assert box["x"] + box["width"] <= sizes["right"] + 1 and box["x"] >= 0  # reachable, not clipped
    assert "volume segment 15" in last.inner_text()
    tab.shot("wide-table")


def test_the_map_reads_in_degrees_west_with_a_scale_bar_and_a_north_arrow(tab, stack):
    page = tab.page
    data = run_form(tab, "hms", "percent_area")
    points = [p for feature in data["geometry"].values() for p in feature["points"]]
    assert all(p["longitude"] < 0 and p["latitude"] > 0 for p in points)  # the example is in Georgia, USA
    chart = page.locator("#chart svg.chart")
    lon_labels = chart.locator("text.lon-label").all_text_contents()  # SVG text has no innerText
    lat_labels = chart.locator("text.lat-label").all_text_contents()
    assert len(lon_labels) >= 2 and len(lat_labels) >= 2
    assert all(re.fullmatch(r"\d+(\.\d+)?° W", t) for t in lon_labels), lon_labels
    assert all(re.fullmatch(r"\d+(\.\d+)?° N", t) for t in lat_labels), lat_labels
    lons = sorted(-float(t.split("°")[0]) for t in lon_labels)
    assert lons[0] <= min(p["longitude"] for p in points) + 0.25 and lons[-1] >= max(p["longitude"] for p in points) - 0.25
    assert "east" not in chart.inner_html().lower() and "° E" not in chart.inner_html()
    tip = chart.locator("g.cells rect title").first.text_content()
    assert re.search(r"\d° W", tip) and re.search(r"\d° N", tip), tip
    assert chart.locator("g.graticule line.grid").count() == len(lon_labels) + len(lat_labels)
    arrow = chart.locator("g.north-arrow")
    assert arrow.count() == 1 and arrow.locator("text").text_content() == "N"
    bar = chart.locator("g.scale-bar")
    assert bar.count() == 1
    km, px = float(bar.get_attribute("data-km")), float(bar.get_attribute("data-px"))
    label = bar.locator("text.scale-label").text_content()
    assert re.fullmatch(r"\d+(\.\d+)? (km|m)", label)
    assert math.isclose(float(label.split()[0]) * (1 if label.endswith("km") else 1e-3), km)
    # the bar against the graticule: pixels per degree of latitude from two labelled parallels
    ys = chart.locator("text.lat-label").evaluate_all("ts => ts.map(t => [t.textContent, +t.getAttribute('y')])")
    (lat_a, y_a), (lat_b, y_b) = [(float(t.split("°")[0]), y) for t, y in (ys[0], ys[-1])]
    px_per_km = abs(y_a - y_b) / abs(lat_a - lat_b) / KM_PER_DEGREE
    assert math.isclose(px / km, px_per_km, rel_tol=1e-3), (px / km, px_per_km)
    tab.shot_of("#chart", "map")
