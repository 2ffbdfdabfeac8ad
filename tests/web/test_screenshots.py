"""The workbench's pictures in docs/img/, taken in Debian's Chromium at 1280 px wide against
gunicorn and a real worker with API keys on: the catalogue, the T-REX form, a result page
(a routing job's hydrograph and tables), a T-REX result's risk at a glance and My jobs. docs/workbench.md shows them; each
stays small (a view of the page, not the whole length of it)."""
from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import ROOT
from tests.web.test_ui import browser, stack  # noqa: F401  (fixtures)

IMG = ROOT / "docs" / "img"
WIDTH, HEIGHT = 1280, 900
MAX_BYTES = 300_000
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def page(browser, stack):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(stack["base"] + "/ui/")
    tab.evaluate(f"() => sessionStorage.setItem('qed.apiKey', {stack['key']!r})")
    yield tab
    context.close()
    assert not errors, errors


def run(stack, path: str, body: dict) -> str:
    answer = requests.post(stack["base"] + path, json=body, headers=stack["auth"], timeout=30)
    assert answer.status_code == 202, answer.text[:300]
    return answer.json()["job_id"]


def shoot(page, name: str) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    target = IMG / f"{name}.png"
    page.screenshot(path=str(target), animations="disabled", caret="hide")
    data = target.read_bytes()
    assert data.startswith(PNG) and int.from_bytes(data[16:20], "big") == WIDTH, name  # IHDR width
    assert len(data) <= MAX_BYTES, (name, len(data))


def test_screenshots_of_the_workbench(page, stack):
    base = stack["base"]
    page.goto(base + "/ui/")
    page.locator(".model").first.wait_for()
    shoot(page, "catalogue")

    page.goto(base + "/ui/pram/trex")
    page.locator("#run-form").wait_for()
    shoot(page, "trex-form")

    job = run(stack, "/hms/kinematic_wave", {"inputs": dict(_example("hms", "kinematic_wave")),
                                             "label": "Three reaches, a one-day storm"})
    page.goto(f"{base}/ui/jobs/{job}")
    page.wait_for_function("() => /SUCCESS/.test(document.getElementById('job-status').textContent)",
                           timeout=60_000)
    page.locator("#chart svg").first.wait_for()
    page.evaluate("() => window.scrollTo(0, document.querySelector('h1').getBoundingClientRect().top"
                  " + window.scrollY - 48)")
    shoot(page, "result")

    job = run(stack, "/pram/trex", {"inputs": dict(_example("pram", "trex")), "label": "T-REX, EPA's first case"})
    page.goto(f"{base}/ui/jobs/{job}")
    page.locator("#risk-summary").wait_for(timeout=60_000)
    page.evaluate("() => window.scrollTo(0, document.getElementById('risk-summary').getBoundingClientRect().top"
                  " + window.scrollY - 48)")
    shoot(page, "risk")

    run(stack, "/pram/rice", {"inputs": [_example("pram", "rice")] * 3, "label": "Fipronil, three runs"})
    run(stack, "/testing/sleepy", {"inputs": {"seconds": 20}, "label": "A long run, still going"})
    page.goto(base + "/ui/jobs")
    page.locator("#jobs tbody button.cancel").first.wait_for()
    shoot(page, "my-jobs")
    page.locator("#jobs tbody button.cancel").first.click()  # leave no job running
    page.wait_for_function("() => !document.querySelector('#jobs tbody button.cancel')")

    doc = (ROOT / "docs" / "workbench.md").read_text()
    for name in ("catalogue", "trex-form", "result", "risk", "my-jobs"):
        assert re.search(rf"!\[[^\]]+\]\(img/{name}\.png\)", doc), f"docs/workbench.md shows img/{name}.png"


def _example(app: str, model: str) -> dict:
    from flask_qed.plugins import discover
    return dict(next(a for a in discover() if a.name == app).model(model).example)
