"""The front door: API keys and job ownership, fair-use caps, rate limit, headers, CORS,
readiness details, and gunicorn's own refusals as JSON. Real Redis and workers throughout."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from flask_qed import keys as keyfile
from tests.conftest import ROOT, stop, wait_for
from tests.test_deployment import _deploy

RICE = {"mai": 4.5, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 909}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def keyed(own_stack, tmp_path: Path):
    """A stack with keys on: clients alice, bob and admin."""
    path = tmp_path / "api_keys"
    found = {name: keyfile.add_key(path, name) for name in ("alice", "bob", "admin")}
    stack = own_stack(QED_API_KEYS_FILE=str(path))
    return {**stack, "keys": found, "path": path}


def test_key_file_keeps_hashes_never_keys(tmp_path):
    path = tmp_path / "keys"
    key = keyfile.add_key(path, "alice")
    text = path.read_text()
    assert key not in text and keyfile.key_hash(key) in text
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert keyfile.list_clients(path) == [("alice", 1)]
    with pytest.raises(ValueError):
        keyfile.add_key(path, "no spaces allowed")


def test_requests_without_a_valid_key_get_401_json(keyed):
    client = keyed["client"]
    for headers in ({}, bearer("wrong"), {"X-API-Key": "wrong"}, {"Authorization": "Basic eDp5"}):
        for method, path in (("get", "/"), ("get", "/pram/rice"), ("post", "/pram/rice"),
                             ("get", "/jobs/x"), ("get", "/readyz"), ("get", "/ogcapi/processes"),
                             ("get", "/rest/pram/rice/"), ("get", "/jobs")):
            response = getattr(client, method)(path, headers=headers, json={"inputs": RICE})
            assert response.status_code == 401, (method, path, headers)
            # the error shape of the face asked: an OGC exception document under /ogcapi/
            assert response.get_json()["status" if path.startswith("/ogcapi/") else "code"] == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/healthz").status_code == 200  # liveness stays open
    # the API's description and its documentation pages are public (no job data)
    for path in ("/openapi.json", "/ogcapi/api", "/docs/", "/redoc"):
        assert client.get(path).status_code == 200, path


def test_a_job_is_its_owners_alone(keyed):
    client, k = keyed["client"], keyed["keys"]
    submitted = client.post("/pram/rice", json={"inputs": RICE}, headers=bearer(k["alice"]))
    assert submitted.status_code == 202
    job_id = submitted.get_json()["job_id"]
    for other in ({"X-API-Key": k["bob"]}, bearer(k["bob"])):
        for method, url in (("get", f"/pram/data?job_id={job_id}"), ("get", f"/jobs/{job_id}"),
                            ("delete", f"/jobs/{job_id}")):
            answer = getattr(client, method)(url, headers=other)
            assert answer.status_code == 404, (method, url)
            # exactly what an id that never existed gets: its existence is not revealed
            unknown = getattr(client, method)(url.replace(job_id, "0" * 36), headers=other)
            assert answer.get_json()["message"].replace(job_id, "0" * 36) == unknown.get_json()["message"]
    done = wait_for(_Authed(client, k["alice"]), job_id)
    assert done["status"] == "SUCCESS" and done["data"]["outputs"]["out_cw"]["0"] > 0
    assert "owner" not in done
    seen = client.get(f"/pram/data?job_id={job_id}", headers={"X-API-Key": k["admin"]})
    assert seen.status_code == 200 and seen.get_json()["job_id"] == job_id


def test_a_revoked_key_is_refused_at_once(keyed):
    client, k = keyed["client"], keyed["keys"]
    assert client.get("/", headers=bearer(k["bob"])).status_code == 200
    assert keyfile.revoke(keyed["path"], "bob") == 1
    assert client.get("/", headers=bearer(k["bob"])).status_code == 401
    assert client.get("/", headers=bearer(k["alice"])).status_code == 200
    new = keyfile.add_key(keyed["path"], "carol")  # and a new key works without a restart
    assert client.get("/", headers=bearer(new)).status_code == 200


def test_readiness_details_only_for_admin(keyed):
    client, k = keyed["client"], keyed["keys"]
    anonymous = client.get("/readyz", headers=bearer(k["alice"])).get_json()
    assert anonymous["checks"] == {"broker": "ok", "store": "ok"} and "details" not in anonymous
    assert "sqlite" not in str(anonymous) and "redis" not in str(anonymous)
    admin = client.get("/readyz", headers=bearer(k["admin"])).get_json()
    assert set(admin["details"]) == {"broker", "store"}


def test_active_job_cap_gives_429_then_accepts_when_one_finishes(own_stack):
    stack = own_stack(QED_MAX_ACTIVE_JOBS="2", QED_MAX_ACTIVE_ROWS="5")
    client = stack["client"]
    stop(stack["worker"])  # nothing runs: the jobs stay queued
    first = [client.post("/testing/sleepy", json={"inputs": {"seconds": 0}}) for _ in range(2)]
    assert [r.status_code for r in first] == [202, 202]
    over = client.post("/testing/sleepy", json={"inputs": {"seconds": 0}})
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert "QED_MAX_ACTIVE_JOBS=2" in over.get_json()["message"]
    stack["start_worker"]()
    for r in first:
        assert wait_for(client, r.get_json()["job_id"])["status"] == "SUCCESS"
    assert client.post("/testing/sleepy", json={"inputs": {"seconds": 0}}).status_code == 202
    rows = client.post("/pram/rice", json={"inputs": [RICE] * 6})
    assert rows.status_code == 422 and "QED_MAX_ACTIVE_ROWS" in rows.get_json()["message"]


def test_runs_past_the_cap_give_429_and_more_than_it_allows_a_422(own_stack):
    """Runs beside those queued past QED_MAX_ACTIVE_ROWS: 429, come back later. A job of more
    runs than the cap allows at once never fits, whatever else is queued: 422, saying so."""
    stack = own_stack(QED_MAX_ACTIVE_JOBS="10", QED_MAX_ACTIVE_ROWS="5")
    client = stack["client"]
    stop(stack["worker"])  # nothing runs: the jobs stay queued
    queued = client.post("/pram/rice", json={"inputs": [RICE, {**RICE, "mai": 0.5}, {**RICE, "mai": 0.7}]})
    assert queued.status_code == 202  # 3 runs queued
    over = client.post("/pram/rice", json={"inputs": [{**RICE, "mai": m} for m in (1, 2, 3)]})
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert "this job's 3 runs and the 3 you have queued or running exceed" in over.get_json()["message"]
    assert client.post("/pram/rice", json={"inputs": [{**RICE, "mai": m} for m in (1, 2)]}).status_code == 202
    never = client.post("/pram/rice", json={"inputs": [RICE] * 6})
    body = never.get_json()
    assert never.status_code == 422 and "Retry-After" not in never.headers
    assert body["errors"] == [{"run": None, "field": "inputs", "value": 6, "rule":
                               "at most 5 runs queued or running at once (QED_MAX_ACTIVE_ROWS): "
                               "send these 6 runs as jobs of at most 5"}]


def test_a_join_past_the_cap_gives_429_and_writes_nothing(own_stack):
    """A submission identical to a queued job joins it and counts as a job of its own while it
    waits: past the cap it is refused like any other, and no record of it is left."""
    stack = own_stack(QED_MAX_ACTIVE_JOBS="1")
    client = stack["client"]
    stop(stack["worker"])  # nothing runs: the first stays queued, the second would join it
    first = client.post("/pram/rice", json={"inputs": RICE})
    assert first.status_code == 202
    joiner = client.post("/pram/rice", json={"inputs": RICE})
    assert joiner.status_code == 429 and "QED_MAX_ACTIVE_JOBS=1" in joiner.get_json()["message"]
    listed = client.get("/jobs").get_json()
    assert [job["job_id"] for job in listed["jobs"]] == [first.get_json()["job_id"]]


def test_request_rate_limit_per_client(own_stack):
    client = own_stack(QED_RATE_LIMIT="5/minute")["client"]
    codes = [client.get("/pram/").status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    limited = client.get("/pram/")
    assert limited.get_json()["code"] == 429 and int(limited.headers["Retry-After"]) >= 1
    other = client.get("/pram/", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200  # another client has its own budget
    assert client.get("/healthz").status_code == 200


def test_security_headers_and_cors(own_stack):
    client = own_stack(QED_CORS_ORIGINS="https://app.example.org")["client"]
    for response in (client.get("/"), client.get("/jobs/unknown"), client.post("/pram/rice", data="x")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "Server" not in response.headers
        assert "Access-Control-Allow-Origin" not in response.headers
    allowed = client.options("/pram/rice", headers={"Origin": "https://app.example.org",
                                                    "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "content-type"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    simple = client.get("/", headers={"Origin": "https://app.example.org"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    denied = client.options("/pram/rice", headers={"Origin": "https://evil.example",
                                                   "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in denied.headers


@pytest.fixture()
def deployed(tmp_path):
    started: list = []
    path = tmp_path / "api_keys"
    key = keyfile.add_key(path, "alice")
    yield {**_deploy(tmp_path, started, QED_API_KEYS_FILE=str(path)), "key": key}
    for proc in started:
        stop(proc)


def _raw(base: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0], headers, body


def test_gunicorn_refusals_are_json_and_name_no_server(deployed):
    base = deployed["base"]
    cases = {
        "414": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "431": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
        "400": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    }
    for expected, request in cases.items():
        status, headers, body = _raw(base, request)
        assert status.split()[1] == expected, status
        assert headers["content-type"] == "application/json"
        assert requests.models.complexjson.loads(body)["code"] == int(expected)
        assert b"<html" not in body.lower()
    answer = requests.get(f"{base}/", headers=bearer(deployed["key"]), timeout=10)
    assert answer.status_code == 200 and "gunicorn" not in answer.headers.get("Server", "")
    assert requests.get(f"{base}/", timeout=10).status_code == 401


def test_qed_keys_commands(tmp_path):
    path = tmp_path / "keys"
    run = lambda *args: subprocess.run([sys.executable, "-m", "flask_qed.cli", "keys", "--file", str(path), *args],  # noqa: E731
                                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    added = run("add", "alice")
    assert added.returncode == 0
    key = added.stdout.strip()
    assert key.startswith("qed_") and keyfile.KeyRing(str(path)).client(key) == "alice"
    assert key not in path.read_text()
    listed = run("list")
    assert listed.returncode == 0 and "alice" in listed.stdout and key not in listed.stdout
    assert run("revoke", "alice").returncode == 0
    assert keyfile.KeyRing(str(path)).client(key) is None
    assert run("revoke", "alice").returncode == 1


class _Authed:
    """A test client that sends one key with every request (for the shared wait_for)."""

    def __init__(self, client, key: str):
        self.client, self.key = client, key

    def get(self, url: str):
        return self.client.get(url, headers=bearer(self.key))


def test_key_file_change_is_picked_up_without_restart_when_rewritten_quickly(tmp_path):
    # Two rewrites within one second differ in size or inode even when mtime ties.
    path = tmp_path / "keys"
    ring = keyfile.KeyRing(str(path))
    first = keyfile.add_key(path, "a")
    assert ring.client(first) == "a"
    keyfile.revoke(path, "a")
    time.sleep(0)  # no delay on purpose
    assert ring.client(first) is None


def test_forwarded_for_counts_only_behind_trusted_proxies(own_stack):
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    open_door = own_stack(QED_RATE_LIMIT="2/minute")["client"]
    assert [open_door.get("/pram/", headers=spoofed).status_code for _ in range(3)] == [200, 200, 429]
    # the header alone does not buy a new budget when no proxy is trusted
    assert open_door.get("/pram/", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429


def test_behind_one_proxy_each_forwarded_client_has_its_budget(own_stack):
    client = own_stack(QED_RATE_LIMIT="2/minute", QED_PROXY_COUNT="1")["client"]
    first = {"X-Forwarded-For": "203.0.113.9"}
    assert [client.get("/pram/", headers=first).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/pram/", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200


def test_public_pages_need_no_key_but_count_against_the_rate(own_stack, tmp_path):
    path = tmp_path / "api_keys"
    keyfile.add_key(path, "alice")
    client = own_stack(QED_API_KEYS_FILE=str(path), QED_RATE_LIMIT="3/minute")["client"]
    page = client.get("/ui/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/jobs").status_code == 401  # the data behind the pages still needs a key
    browser = client.get("/", headers={"Accept": "text/html"})
    assert browser.status_code == 302 and browser.headers["Location"].endswith("/ui/")
    assert client.get("/ui/").status_code == 200  # the third counted request of the minute
    assert client.get("/ui/").status_code == 429
    assert client.get("/jobs", headers={"X-API-Key": "guess"}).status_code == 429  # guesses are counted
