"""What the conformance tests share: the requirement URIs, the echo process and its
inputs, execution helpers. The rules each answer is held to come from
``tests/web/test_ogc.py`` (written from the standard's requirement classes)."""
from __future__ import annotations

import base64
import email.parser
import email.policy
import re
import time
from typing import Any

import requests

from tests.web.test_ogc import (EXC, REL, check_exception, check_links,  # noqa: F401 - re-exported
                                check_status_info, poll)

REQ = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/req/"
ECHO = "conformance.echo"
JSON = "application/json"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(40))).decode()
INPUTS = {"stringInput": "test string ünïcode", "doubleInput": 3.25, "integerInput": 7, "booleanInput": True,
          "arrayInput": [1.5, 2, 3], "objectInput": {"x": 1.0, "y": 2.0, "label": "p"},
          "boundingBoxInput": {"bbox": [-111.0, 51.5, -110.5, 52.0],
                               "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
          "binaryInput": PNG}
# each echoed output as the echo process answers it
ECHOED = {name.replace("Input", "Output"): value for name, value in INPUTS.items()}
ECHOED["doubleOutput"], ECHOED["arrayOutput"] = 3.25, [1.5, 2.0, 3.0]


def req(path: str) -> str:
    """A requirement's URI, e.g. ``req("core/landingpage-op")``."""
    return REQ + path


def execute(ogc: str, body: dict[str, Any], prefer: str | None = None, pid: str = ECHO,
            timeout: float = 60) -> requests.Response:
    headers = {"Prefer": prefer} if prefer else {}
    return requests.post(f"{ogc}/processes/{pid}/execution", json=body, headers=headers, timeout=timeout)


def run_async(ogc: str, body: dict[str, Any], pid: str = ECHO) -> tuple[str, dict]:
    """Execute asynchronously and wait for the job to end: its URL and last statusInfo."""
    response = execute(ogc, body, "respond-async", pid)
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    return location, poll(location)


def monitor(response: requests.Response) -> str:
    """The job a synchronous answer names in its ``Link: <…>; rel=monitor`` header."""
    links = [link for link in requests.utils.parse_header_links(response.headers.get("Link", ""))
             if link.get("rel") == "monitor"]
    assert len(links) == 1, response.headers
    return links[0]["url"]


def output_links(response: requests.Response) -> dict[str, str]:
    """Output id → href of the ``Link`` headers that point at outputs."""
    return {link["title"]: link["url"] for link in requests.utils.parse_header_links(response.headers.get("Link", ""))
            if link.get("rel") == REL + "results"}


def parts(response: requests.Response) -> dict[str, tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related answer (RFC 2387): Content-ID → (headers, body)."""
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/related"), content_type
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + response.content)
    found = {}
    for part in message.iter_parts():
        cid = re.fullmatch(r"<(.+)>", part["Content-ID"]).group(1)
        found[cid] = ({k: v for k, v in part.items()}, part.get_payload(decode=True) or b"")
    return found


def wait_running(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(url, timeout=10).json()["status"] != "running":
        assert time.monotonic() < deadline, f"{url} never ran"
        time.sleep(0.05)
