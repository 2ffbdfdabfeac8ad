"""Idle round trip of a whole job in one request, against a running gateway.

One connection, one request at a time: ``POST /pram/rice`` with ``Prefer: wait=10``
(native), OGC synchronous execution of ``pram.rice``, and ``POST /rest/pram/rice/<id>``
(pram_flask's route). Each request submits a job and answers with its result, so the
time is submit + queue + run + store + the wake-up of the waiting request. Prints
the median and 95th percentile of each, and how many answers held a finished result::

    qed up --port 7777 &
    python benchmarks/wait_latency.py http://127.0.0.1:7777 -n 200
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import requests

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def _native(session: requests.Session, base: str) -> bool:
    answer = session.post(f"{base}/pram/rice", json={"inputs": RICE}, headers={"Prefer": "wait=10"})
    return answer.status_code == 200 and answer.json()["status"] == "SUCCESS"


def _ogc(session: requests.Session, base: str) -> bool:
    answer = session.post(f"{base}/ogcapi/processes/pram.rice/execution",
                          json={"inputs": RICE, "response": "document"})
    return answer.status_code == 200 and "out_cw" in answer.json()


def _rest(session: requests.Session, base: str) -> bool:
    answer = session.post(f"{base}/rest/pram/rice/1", data=json.dumps({"inputs": RICE}),
                          headers={"Content-Type": "application/json"})
    return answer.status_code == 200 and "out_cw" in answer.json()["outputs"]


def measure(base: str, n: int) -> dict[str, tuple[float, float, int]]:
    """Per route: (p50 ms, p95 ms, finished answers)."""
    out = {}
    with requests.Session() as session:
        for name, call in (("native Prefer: wait", _native), ("OGC sync", _ogc), ("/rest/pram", _rest)):
            call(session, base)  # warm-up
            times, done = [], 0
            for _ in range(n):
                start = time.perf_counter()
                done += call(session, base)
                times.append(time.perf_counter() - start)
            times.sort()
            out[name] = (statistics.median(times) * 1000, times[int(0.95 * (n - 1))] * 1000, done)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("-n", type=int, default=100)
    args = parser.parse_args()
    for name, (p50, p95, done) in measure(args.base.rstrip("/"), args.n).items():
        print(f"{name:22} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  finished {done}/{args.n}")


if __name__ == "__main__":
    main()
