"""How much it costs to refuse a huge invalid batch: POST 100,000 empty runs
(``{"inputs": [{}, ...]}``, 400 kB) to each named PRAM model through the gateway
(in this process; no broker is needed, the body is refused before any job exists).
Prints the status, the time, the answer's size and the process's peak memory.

    .venv/bin/python benchmarks/bench_empty_rows.py [model ...]   (default: trex kabam agdrift rice)
"""
from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_qed.runtime import Runtime  # noqa: E402
from flask_qed.tasks import create_celery  # noqa: E402
from flask_qed.web import create_gateway  # noqa: E402


def main(models: list[str]) -> None:
    instance = tempfile.mkdtemp(prefix="qed-bench-")
    env = {"QED_BROKER_URL": "redis://127.0.0.1:1/0", "QED_INSTANCE_PATH": instance,
           "QED_STORE_URL": f"sqlite:///{instance}/jobs.sqlite3"}
    client = create_gateway(create_celery(Runtime.load(env))).test_client()
    body = json.dumps({"inputs": [{}] * 100_000})
    print(f"body: 100,000 empty runs, {len(body) / 1e3:.0f} kB")
    for model in models:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        response = client.post(f"/pram/{model}", data=body, content_type="application/json")
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        listed = len(response.get_json().get("errors", []))
        print(f"{model:8s} {response.status_code} in {elapsed:.2f} s, answer {len(response.data) / 1e3:.1f} kB "
              f"({listed} errors listed), peak RSS {after / 1e3:.0f} MB (+{(after - before) / 1e3:.0f} MB)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["trex", "kabam", "agdrift", "rice"])
