"""The workbench's forms as a modeller reads them: fields grouped in the sections the
model declares, the readable label before the variable name, units with their symbols,
help text said once, units that follow another input, and the Run button always in view."""
from __future__ import annotations

import re
from html import unescape

import pytest

from flask_qed.web.units import display
from tests.web.test_ui import artifacts, browser, stack, tab  # noqa: F401  (fixtures)


def _trex(gateway):
    return next(a for a in gateway.extensions["qed"].apps if a.name == "pram").model("trex")


@pytest.mark.parametrize("ascii_units, shown", [
    ("m3", "m³"), ("m3/s", "m³/s"), ("ug/L", "µg/L"), ("km2", "km²"), ("degrees", "°"), ("degC", "°C"),
    ("mg/cm2", "mg/cm²"), ("atm-m3/mol", "atm-m³/mol"), ("ug a.i./bee", "µg a.i./bee"), ("-", ""),
    ("mg/kg-bw", "mg/kg-bw"), ("in", "in"), ("lb a.i./acre", "lb a.i./acre")])
def test_units_are_shown_with_their_symbols(ascii_units, shown):
    assert display(ascii_units) == shown


def test_trex_form_has_the_declared_sections_in_order(gateway):
    from flask_qed.web.ui import form_fields, form_sections
    model = _trex(gateway)
    sections = form_sections(model, form_fields(model))
    titles = [title for title, _ in sections]
    assert titles[:4] == ["Chemical", "Application", "Birds", "Mammals"], titles
    where = {f["name"]: title for title, group in sections for f in group}
    assert where["app_rates"] == "Application" and where["ld50_bird"] == "Birds"
    assert where["tw_bird_ld50"] == "Birds" and where["noaec_mamm"] == "Mammals"
    assert where["chemical_name"] == "Chemical" and where["percent_act_ing"] == "Chemical"
    page = unescape(gateway.test_client().get("/ui/pram/trex").get_data(as_text=True))
    headings = re.findall(r"<h3 id=\"sec-\d+\">([^<]+)</h3>", page)
    assert headings[:4] == titles[:4]


def test_every_field_has_a_readable_label_before_its_name_and_help_once(gateway):
    from flask_qed.web.ui import form_fields
    client = gateway.test_client()
    for app in gateway.extensions["qed"].apps:
        for model in app.models:
            page = unescape(client.get(f"/ui/{app.name}/{model.name}").get_data(as_text=True))
            for f in form_fields(model):
                assert f["label"], (model.name, f["name"])
                shown = re.search(rf'<span class="label-text">([^<]+)</span> <code class="var">{f["name"]}</code>',
                                  page)
                assert shown, (model.name, f["name"])
                assert f["help"] != f["label"]
                assert "csrfmiddlewaretoken" not in page
    fields = {f["name"]: f for f in form_fields(_trex(gateway))}
    assert fields["ld50_bird"]["label"] == "Avian acute oral LD50" and fields["ld50_bird"]["help"] == ""
    assert fields["pc_code"]["label"] == "PC code"
    assert fields["lc50_mamm"]["label"] == "Mammalian dietary LC50"
    assert fields["lc50_mamm"]["help"] == "Mammalian dietary LC50 (optional)"


def test_units_with_symbols_on_an_hms_form(gateway):
    page = unescape(gateway.test_client().get("/ui/hms/changing_volume").get_data(as_text=True))
    assert "(m³/s)" in page and "(m3/s)" not in page


def test_rate_units_follow_the_application_type_and_run_stays_in_view(tab, stack):
    page = tab.page
    tab.open("/ui/pram/trex")
    units = page.locator("#units-app_rates")
    assert units.inner_text() == "(lb a.i./acre)"
    page.locator('select[name="application_type"]').select_option("Seed Treatment")
    assert units.inner_text() == "(fl oz/cwt of seed)"
    page.locator('select[name="application_type"]').select_option("Row/Band/In-furrow-Liquid")
    assert units.inner_text() == "(oz/1000 ft of row)"
    assert page.get_by_role("heading", name="Mammals", exact=True).is_visible()
    run = page.get_by_role("button", name="Run", exact=True)
    height = page.viewport_size["height"]
    bottom = page.evaluate("() => document.documentElement.scrollHeight")
    assert bottom > 3 * height  # a long form: top, middle and bottom are different views
    for where in (0, bottom // 2, bottom):
        page.evaluate(f"() => window.scrollTo(0, {where})")
        box = run.bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= height, (where, box)
    label = page.locator('label[for="in-ld50_bird"]').inner_text()
    assert label.index("Avian acute oral LD50") < label.index("ld50_bird")
    tab.shot("sections")


def test_every_pram_and_hms_model_declares_the_sections_of_its_form(gateway):
    from flask_qed.web.ui import form_fields, form_sections
    for app in gateway.extensions["qed"].apps:
        if app.name not in ("pram", "hms"):
            continue
        for model in app.models:
            assert model.sections, f"{app.name}/{model.name} declares no SECTIONS"
            sections = form_sections(model, form_fields(model))
            titles = [title for title, _ in sections]
            assert "Inputs" not in titles, (model.name, [f["name"] for t, g in sections if t == "Inputs" for f in g])
            assert titles[:len(model.sections)] == [t for t in model.sections if t in titles], model.name
