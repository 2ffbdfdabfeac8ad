"""The stack the conformance tests run against: gunicorn and a real worker, as deployed,
with the test-only echo process (``tests.testapps:echo_plugin``) mounted beside the
served catalogue, callbacks allowed to this machine."""
from __future__ import annotations

import pytest

from tests.conftest import stop
from tests.test_deployment import _deploy


@pytest.fixture(scope="package")
def ogc(tmp_path_factory) -> dict:
    started: list = []
    deployed = _deploy(tmp_path_factory.mktemp("ogc-conformance"), started,
                       QED_APPS="tests.testapps:plugin tests.testapps:echo_plugin",
                       QED_CALLBACK_ALLOWLIST="127.0.0.1", QED_SYNC_WAIT="30")
    yield {**deployed, "ogc": deployed["base"] + "/ogcapi"}
    for proc in started:
        stop(proc)
