"""The API documentation pages, /docs (Swagger UI) and /redoc (ReDoc): served from the
vendored copies with a CSP that allows the gateway only, and rendered by a real headless
Chromium with no console error and no request that leaves the gateway."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
VENDOR = ROOT / "flask_qed" / "web" / "static" / "vendor"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(gateway: Any) -> Iterator[str]:
    """The gateway over real HTTP (the docs pages need no worker)."""
    server = make_server("127.0.0.1", 0, gateway, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def csp_of(response: requests.Response) -> dict[str, list[str]]:
    policy = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


@pytest.mark.parametrize("path", ["/docs", "/docs/", "/redoc"])
def test_pages_come_from_the_gateway_with_a_strict_csp(site, path):
    page = requests.get(site + path, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = csp_of(page)
    assert policy["default-src"] == ["'none'"] and policy["script-src"] == ["'self'"]
    for name, values in policy.items():
        for value in values:  # 'self', 'none', exact hashes, data: images; never a host or 'unsafe-…'
            assert value in ("'self'", "'none'") or re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", value) \
                or (name == "img-src" and value == "data:"), (name, value)
    assert policy["frame-ancestors"] == ["'none'"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets)
    for asset in assets:
        answer = requests.get(site + asset, timeout=10)
        assert answer.status_code == 200 and answer.content, asset
        if asset.endswith(".js"):
            assert "javascript" in answer.headers["Content-Type"]


def test_vendored_copies_carry_their_licences(site):
    for package, files in (("swagger-ui", ["LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"]),
                           ("redoc", ["LICENSE", "redoc.standalone.js.LICENSE.txt"])):
        for name in files + ["VERSION"]:
            assert (VENDOR / package / name).stat().st_size > 0
            assert requests.get(f"{site}/docs/vendor/{package}/{name}", timeout=10).status_code == 200
    assert "5.35.0" in (VENDOR / "swagger-ui" / "VERSION").read_text()
    assert "2.5.4" in (VENDOR / "redoc" / "VERSION").read_text()
    assert "cdn." not in (VENDOR / "redoc" / "redoc.standalone.js").read_text()
    outside = requests.get(f"{site}/docs/vendor/../../docs.py", timeout=10)
    assert outside.status_code == 404 and outside.headers["Content-Type"] == "application/json"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


def render(browser: Any, site: str, path: str, ready: str) -> tuple[Any, list[str], list[str]]:
    """Open ``path``; wait for ``ready``; the page, its console errors and the requests
    that went anywhere but the gateway (data: and blob: URLs stay in the page)."""
    page = browser.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url} {r.failure}"))
    page.on("request", lambda r: None if r.url.startswith((site + "/", "data:", "blob:")) else outside.append(r.url))
    page.goto(site + path)
    page.wait_for_selector(ready, timeout=60_000)
    page.wait_for_load_state("networkidle")
    return page, errors, outside


def test_swagger_ui_renders_both_api_descriptions(browser, site):
    page, errors, outside = render(browser, site, "/docs", ".swagger-ui .opblock")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/pram/rice" in p for p in paths) and any(p.startswith("/jobs") for p in paths)
    assert "flask_qed" in page.locator(".info .title").inner_text()
    page.select_option(".topbar select", label="OGC API - Processes (OpenAPI 3.0)")
    page.wait_for_selector('.opblock-summary-path:has-text("/processes/pram.rice/execution")', timeout=60_000)
    page.wait_for_load_state("networkidle")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/jobs/{jobID}/results" in p for p in paths)
    assert errors == [] and outside == []


def test_redoc_renders_the_api_description(browser, site):
    page, errors, outside = render(browser, site, "/redoc", "[role=menuitem]")
    assert "flask_qed" in page.locator("h1").first.inner_text()
    menu = " ".join(page.locator("[role=menuitem]").all_inner_texts())
    assert "Cancel a job not yet finished" in menu or "pram" in menu
    assert errors == [] and outside == []

