"""QED_MAX_CONTENT_LENGTH for bodies sent chunked (no Content-Length), through gunicorn as
deployed: counted as they come, 413 past the limit in the shape of the route's face, and
a body of exactly the limit still taken (flask_qed.web.body_limit)."""
from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import stop
from tests.test_deployment import _deploy

LIMIT = 1 << 20  # QED_MAX_CONTENT_LENGTH here: 1 MiB
RICE = {"mai": 1, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.5, "kd": 10}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[str]:
    started: list = []
    deployed = _deploy(tmp_path_factory.mktemp("limit"), started, QED_MAX_CONTENT_LENGTH=str(LIMIT))
    yield deployed["base"]
    for proc in started:
        stop(proc)


def padded(body: dict, size: int) -> bytes:
    """``body`` as JSON, padded with spaces to ``size`` bytes (still the same JSON)."""
    text = json.dumps(body).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def pieces(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def send_chunked(base: str, path: str, data: bytes) -> tuple[int, dict, dict]:
    """POST ``data`` with Transfer-Encoding: chunked (over a socket: http.client frames
    each piece); the status, headers and JSON answer."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request("POST", path, body=pieces(data), encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


def check_413(status: int, headers: dict, body: dict, ogc: bool) -> None:
    assert status == 413, (status, body)
    assert headers["Content-Type"].startswith("application/json")
    if ogc:  # an OGC exception document
        assert body["status"] == 413 and body["title"] == "Payload Too Large" and body["type"]
        text = body["detail"]
    else:
        assert body["code"] == 413 and body["status"] == "Payload Too Large"
        text = body["message"]
    assert "QED_MAX_CONTENT_LENGTH = 1,048,576 bytes" in text, text


@pytest.mark.parametrize("path", ["/pram/rice", "/rest/pram/rice/1", "/testing/sleepy",
                                  "/hms/percent_area", "/ogcapi/processes/pram.rice/execution"])
def test_a_chunked_body_past_the_limit_is_413(gateway, path):
    status, headers, body = send_chunked(gateway, path, padded({"inputs": RICE}, LIMIT + (1 << 20)))
    check_413(status, headers, body, ogc=path.startswith("/ogcapi/"))
    status, headers, body = send_chunked(gateway, path, padded({"inputs": RICE}, LIMIT + 1))  # one byte over
    check_413(status, headers, body, ogc=path.startswith("/ogcapi/"))


def test_the_413_comes_before_the_body_ends(gateway):
    """The count stops the read at the limit: the answer comes while the client has
    not finished sending (here: never finishes)."""
    url = urlsplit(gateway)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"POST /pram/rice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        piece = b" " * (64 * 1024)
        for _ in range(LIMIT // len(piece) + 2):  # a little past the limit, and no last chunk
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_chunked_body_within_the_limit_is_a_job(gateway):
    for size in (10_000, LIMIT):  # exactly the limit is allowed
        status, headers, body = send_chunked(gateway, "/pram/rice", padded({"inputs": RICE}, size))
        assert status == 202, body
        deadline = time.monotonic() + 60
        while (record := requests.get(f"{gateway}/jobs/{body['job_id']}", timeout=10).json())["status"] != "SUCCESS":
            assert record["status"] in ("PENDING", "STARTED") and time.monotonic() < deadline, record
            time.sleep(0.1)
        assert record["data"]["outputs"]["out_cw"], record
    status, headers, body = send_chunked(gateway, "/ogcapi/processes/pram.rice/execution",
                                         padded({"inputs": RICE, "response": "document"}, LIMIT))
    assert status == 200 and body["out_cw"], body


@pytest.mark.parametrize("path", ["/pram/rice", "/rest/pram/rice/1", "/ogcapi/processes/pram.rice/execution"])
def test_a_chunked_body_the_server_cannot_parse_is_400_in_the_faces_shape(gateway, path):
    """A chunk size that is not hexadecimal is the client's malformed body: a 400 in the
    route's face's JSON, never the server's parse error answered as a 500."""
    url = urlsplit(gateway)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
                     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"application/json" in head.lower()
    found = json.loads(body)
    text = found["detail"] if path.startswith("/ogcapi/") else found["message"]
    assert "the request body could not be read" in text, found
