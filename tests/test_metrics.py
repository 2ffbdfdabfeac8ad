"""GET /metrics: Prometheus' text format, with requests, jobs, durations and the queue."""
from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_for
from tests.web.test_security import RICE


def scrape(client) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {f.name: f.samples for f in text_string_to_metric_families(response.get_data(as_text=True))}


def value(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_requests_and_submissions_are_counted_by_route(client):
    before = scrape(client)
    job_id = client.post("/pram/rice", json={"inputs": RICE}).get_json()["job_id"]
    wait_for(client, job_id)
    client.get(f"/jobs/{job_id}/status")
    client.get("/no/such/path")
    after = scrape(client)
    posts = lambda m: value(m.get("qed_http_requests", []), "qed_http_requests_total",  # noqa: E731
                            method="POST", route="/pram/rice", status="202")
    assert posts(after) == posts(before) + 1
    routes = {s.labels["route"] for s in after["qed_http_requests"]}
    assert "/jobs/{job_id}/status" in routes and "unmatched" in routes
    assert not any(re.search(r"[0-9a-f]{8}-", r) for r in routes)  # ids never make series
    submitted = lambda m: value(m.get("qed_jobs_submitted", []), "qed_jobs_submitted_total",  # noqa: E731
                                app="pram", model="rice")
    assert submitted(after) == submitted(before) + 1
    assert value(after["qed_http_request_duration_seconds"], "qed_http_request_duration_seconds_count",
                 route="/pram/rice") >= 1
    assert "qed_queue_depth" in after


def test_a_cancelled_job_is_counted_as_revoked(gateway, client):
    """Counted where it is cancelled: its run, if it ever starts, finds nothing to do."""
    import uuid
    from flask_qed import jobs
    runtime = gateway.extensions["qed"]
    job_id = str(uuid.uuid4())  # queued in the store only, so that no worker can take it first
    runtime.store.create(job_id, {**jobs.new_record("pram", "rice", "1.0", "pram.rice"), "inputs": RICE})
    revoked = lambda m: value(m.get("qed_jobs_finished", []), "qed_jobs_finished_total",  # noqa: E731
                              app="pram", model="rice", status="REVOKED")
    before = revoked(scrape(client))
    assert client.delete(f"/jobs/{job_id}").get_json()["status"] == "REVOKED"
    assert revoked(scrape(client)) == before + 1
    assert client.delete(f"/jobs/{job_id}").status_code == 409  # once only
    assert revoked(scrape(client)) == before + 1


def test_qed_up_adds_up_gateway_and_worker_metrics(tmp_path):
    """Under qed up, the worker's finished jobs and their run times reach /metrics."""
    import os
    import subprocess
    import sys
    import time

    import requests

    from flask_qed.embedded import free_port
    from tests.conftest import ROOT
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QED_", "PROMETHEUS_"))}
    env["QED_INSTANCE_PATH"] = str(tmp_path / "instance")
    log = open(tmp_path / "up.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "flask_qed.cli", "up", "--port", str(port),
                             "--concurrency", "1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while "flask_qed is up" not in (tmp_path / "up.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.2)
        job_id = requests.post(f"{base}/pram/rice", json={"inputs": RICE}, timeout=10).json()["job_id"]
        while requests.get(f"{base}/jobs/{job_id}/status", timeout=10).json()["status"] != "SUCCESS":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        samples = {f.name: f.samples for f in text_string_to_metric_families(
            requests.get(f"{base}/metrics", timeout=10).text)}
        assert value(samples["qed_jobs_finished"], "qed_jobs_finished_total",
                     app="pram", model="rice", status="SUCCESS") == 1
        assert value(samples["qed_job_duration_seconds"], "qed_job_duration_seconds_count", model="rice") == 1
        assert value(samples["qed_jobs_submitted"], "qed_jobs_submitted_total", model="rice") == 1
    finally:
        proc.terminate()
        proc.wait(60)


def test_a_shared_folder_survives_equal_process_ids_and_damaged_files(tmp_path):
    """Containers sharing the metrics folder number their processes alike: their files
    must not collide. A damaged file (one named for this process, left by a dead one,
    or another's) stops neither a process's first metric nor /metrics."""
    import os
    import struct
    import subprocess
    import sys
    folder = tmp_path / "metrics"
    folder.mkdir()
    damaged = struct.pack("i", 10_000) + b"\0" * 12  # says it holds more than it does
    (folder / "counter_elsewhere-7.db").write_bytes(damaged)
    script = (
        "import os, sys\n"
        "folder = os.environ['PROMETHEUS_MULTIPROC_DIR']\n"
        "own = os.path.join(folder, 'counter_%s-%d.db' % (os.environ['HOSTNAME'], os.getpid()))\n"
        "open(own, 'wb').write(bytes.fromhex(sys.argv[1]))\n"
        "from flask_qed import metrics\n"
        "metrics.JOBS_SUBMITTED.labels('pram', 'rice').inc()\n"
        "from prometheus_client import CollectorRegistry, generate_latest\n"
        "registry = CollectorRegistry()\n"
        "metrics._SharedFolder(registry)\n"
        "sys.stdout.write(generate_latest(registry).decode())\n")
    outputs = []
    for host in ("container-a", "container-b"):
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "HOSTNAME": host}
        done = subprocess.run([sys.executable, "-c", script, damaged.hex()], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert 'qed_jobs_submitted_total{app="pram",model="rice"} 1.0' in outputs[0]
    assert 'qed_jobs_submitted_total{app="pram",model="rice"} 2.0' in outputs[1]  # both hosts' files
    names = sorted(p.name for p in folder.glob("counter_container-*.db"))
    assert len(names) == 2 and names[0].startswith("counter_container-a-")



def test_an_unusable_shared_folder_costs_the_shared_metrics_only(tmp_path, redis_url):
    """A metrics folder that cannot be made (here: under a file) is logged, the gateway
    counts its own requests, and the environment is left as the process was started
    with (children and libraries read it too)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, make_env
    (tmp_path / "a-file").write_text("not a folder")
    folder = str(tmp_path / "a-file" / "metrics")
    script = (
        "import os, sys\n"
        "before = dict(os.environ)\n"
        "import flask_cgi\n"
        "assert dict(os.environ) == before, 'the environment was changed at import'\n"
        "client = flask_cgi.app.test_client()\n"
        "assert client.get('/healthz').status_code == 200\n"
        "sys.stdout.write(client.get('/metrics').get_data(as_text=True))\n")
    env = make_env(redis_url, f"sqlite:///{tmp_path}/jobs.sqlite3", tmp_path / "instance",
                   PROMETHEUS_MULTIPROC_DIR=folder)
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"PROMETHEUS_MULTIPROC_DIR {folder} is not usable" in done.stderr
    assert 'qed_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in done.stdout
    assert not os.path.exists(folder)

# Paths a scanner might send: unknown ones, and every kind of route with a variable
# (job ids, model names, workbench pages, documentation assets, process ids).
SCAN = ("/{t}/{t}", "/{t}", "/jobs/{t}", "/jobs/{t}/results", "/rest/pram/rice/{t}", "/rest/pram/{t}/{t}",
        "/ui/jobs/{t}", "/ui/pram/{t}", "/ui/{t}/{t}/template.csv", "/docs/vendor/{t}.js", "/ogcapi/processes/{t}",
        "/ogcapi/processes/{t}/execution", "/ogcapi/jobs/{t}", "/pram/data?job_id={t}", "/pram/{t}")


def _folder_size(folder) -> tuple[int, int]:
    """(bytes the metric files hold, bytes they take on disk) of a shared metrics folder."""
    import struct
    files = list(folder.glob("*.db"))
    used = sum(struct.unpack("i", f.read_bytes()[:4])[0] for f in files)
    return used, sum(f.stat().st_blocks * 512 for f in files)


def test_random_paths_add_no_series(tmp_path):
    """A scanner's random paths, without a key (401) or with one (404, or a page of a
    route with a variable), and unknown methods, add no series: /metrics and the shared
    metrics folder stay the same size. gunicorn (2 processes) and a worker as deployed."""
    import uuid

    import requests

    from flask_qed import keys as keyfile
    from tests.conftest import stop
    from tests.test_deployment import _deploy
    folder = tmp_path / "prometheus"
    folder.mkdir()
    key = keyfile.add_key(tmp_path / "api_keys", "alice")
    auth = {"X-API-Key": key}
    started: list = []
    try:
        base = _deploy(tmp_path, started, QED_API_KEYS_FILE=str(tmp_path / "api_keys"),
                       PROMETHEUS_MULTIPROC_DIR=str(folder))["base"]

        def scan(shapes, headers: dict, method: str = "GET") -> set[int]:
            codes = set()
            for shape in shapes:  # a new connection each: both gunicorn processes answer
                token = uuid.uuid4().hex[:12]
                verb = method if method != "random" else "X" + uuid.uuid4().hex[:8].upper()
                codes.add(requests.request(verb, base + shape.format(t=token), headers=headers,
                                           timeout=10).status_code)
            return codes

        def metrics_size() -> int:
            response = requests.get(f"{base}/metrics", headers=auth, timeout=10)
            assert response.status_code == 200
            return len(response.content)

        # Every shape a few times first, so that each process has each series it will have.
        for _ in range(10):
            for headers in ({}, auth):
                scan(SCAN, headers)
                scan(SCAN[:3], headers, "random")
                scan(SCAN[:3], headers, "POST")
        size, (used, disk) = metrics_size(), _folder_size(folder)
        shapes = [SCAN[n % len(SCAN)] for n in range(1000)]
        assert 401 in scan(shapes, {})  # the workbench and the docs are public: 200 and 404 too
        codes = scan(shapes[:900], auth) | scan(shapes[900:], auth, "random")
        assert 404 in codes and 200 in codes  # unknown ids and the shells of workbench pages
        after, (used_after, disk_after) = metrics_size(), _folder_size(folder)
        print(f"\n/metrics {size} -> {after} bytes; metrics folder {used} -> {used_after} bytes held, "
              f"{disk} -> {disk_after} bytes on disk")
        assert after < size * 1.1
        assert used_after < used * 1.1 and disk_after < disk * 1.1
        text = requests.get(f"{base}/metrics", headers=auth, timeout=10).text
        routes = {s.labels["route"] for f in text_string_to_metric_families(text) if f.name == "qed_http_requests"
                  for s in f.samples}
        assert {"unauthorized", "unmatched", "/jobs/{job_id}", "/ui/jobs/{job_id}",
                "/rest/pram/{model}/{job_id}"} <= routes
    finally:
        for proc in started:
            stop(proc)
