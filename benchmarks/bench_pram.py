"""Benchmark of the PRAM models: a 10,000-run batch per model, computed directly and end to end.

Direct: validation plus the vectorised science, in this process (what a worker does).
End to end: ``qed up`` (Redis, a worker, gunicorn), POST the batch in ubertool's
column form, poll the job's status until SUCCESS and read the whole result; the
client's own JSON work (encoding the body, parsing the result, with the standard
library) is also shown apart, and what is left of the end-to-end time after it.
Prints the median of ``--repeat`` runs per model.

    .venv/bin/python benchmarks/bench_pram.py [--runs 10000] [--repeat 3] [--models rice,trex] [--csv]

Every end-to-end run is a run (``Cache-Control: no-cache``: not answered from the result cache,
which would answer the second of two identical batches at once). Beside the times, the CPU
time the stack's processes spent on one end-to-end run (gateway, worker and Redis, from
/proc; the client excluded) against the direct run's own, which does not move with the
machine's load as much as the times do.

``--csv`` posts each batch as a CSV file (``Content-Type: text/csv``) with ``Prefer: wait`` and
``Accept: text/csv``: one request, whose answer is the results' CSV, saved to a file; no JSON
on the client at all (the "client" column is then reading and writing those files).
"""
from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stack import wait_ready  # noqa: E402
from flask_qed.embedded import free_port  # noqa: E402
from flask_qed.model import Model  # noqa: E402
from tests.pram.qaqc import MODELS, load_cases  # noqa: E402


def batch(model: str, runs: int) -> dict[str, dict[str, object]]:
    """``runs`` runs in column form, cycling through the model's QA/QC cases."""
    cases = [inputs for _, inputs, _ in load_cases(model)]
    names = sorted({k for c in cases for k in c})
    return {n: {str(i): cases[i % len(cases)][n] for i in range(runs) if n in cases[i % len(cases)]}
            for n in names}


def direct(model: str, inputs: dict, repeat: int, runs: int) -> tuple[float, float]:
    """(time, CPU time) of validate + run in this process, medians."""
    m = Model.from_module(importlib.import_module(f"pram_flask.models.{model}"))
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        data = m.run(m.validate(inputs))
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert all(len(col) == runs for col in data["outputs"].values())
    return statistics.median(times), statistics.median(cpu)


def stack_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) of ``qed up`` and every process under it."""
    root = psutil.Process(proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def end_to_end(base: str, model: str, inputs: dict, repeat: int, runs: int) -> tuple[float, float]:
    """(end to end, of which the client's own JSON work): the body is encoded and the
    result parsed with the standard library, as a plain Python client does; the poll
    loop reads the status alone (GET /jobs/<id>/status), then the whole result once."""
    session, times, client = requests.Session(), [], []
    for _ in range(repeat):
        start = time.perf_counter()
        body = json.dumps({"inputs": inputs})
        encoded = time.perf_counter()
        submitted = session.post(f"{base}/pram/{model}", data=body, timeout=120,
                                 headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
        submitted.raise_for_status()
        job = submitted.json()["job_id"]
        while session.get(f"{base}/jobs/{job}/status", timeout=120).json()["status"] not in (
                "SUCCESS", "FAILURE"):
            time.sleep(0.02)
        text = session.get(f"{base}/jobs/{job}", timeout=120).content
        fetched = time.perf_counter()
        record = json.loads(text)
        end = time.perf_counter()
        times.append(end - start)
        client.append((encoded - start) + (end - fetched))
        assert record["status"] == "SUCCESS", record.get("error")
        assert all(len(col) == runs for col in record["data"]["outputs"].values())
    return statistics.median(times), statistics.median(client)


def end_to_end_csv(base: str, model: str, inputs: dict, repeat: int, runs: int) -> tuple[float, float]:
    """(end to end, of which the client's own work): the batch as a CSV file (a header
    row, one run per line; written once, before the clock starts, as a modeller's file
    on disk would be) posted with ``Prefer: wait`` and ``Accept: text/csv``, so the
    answer is the results' CSV itself, written to a file as it arrives. The client's
    work is reading the file and writing the answer."""
    names = list(inputs)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows([["" if (v := inputs[n].get(str(i))) is None else v for n in names] for i in range(runs)])
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "batch.csv", Path(scratch) / "results.csv"
        source.write_text(out.getvalue())
        del out
        session, times, client = requests.Session(), [], []
        for _ in range(repeat):
            start = time.perf_counter()
            body = source.read_bytes()
            read = time.perf_counter()
            with session.post(f"{base}/pram/{model}", data=body, timeout=120, stream=True,
                              headers={"Content-Type": "text/csv", "Prefer": "wait=60",
                                       "Accept": "text/csv", "Cache-Control": "no-cache"}) as answer:
                if answer.status_code == 202:  # not finished within the wait: poll, then read
                    job = answer.json()["job_id"]
                    while session.get(f"{base}/jobs/{job}/status", headers={"Prefer": "wait=10"},
                                      timeout=120).json()["status"] not in ("SUCCESS", "FAILURE"):
                        pass
                    answer = session.get(f"{base}/jobs/{job}/results", headers={"Accept": "text/csv"},
                                         timeout=120, stream=True)
                assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv"), \
                    (answer.status_code, answer.text[:300])
                written = 0.0
                with target.open("wb") as fh:
                    for piece in answer.iter_content(1 << 20):
                        mark = time.perf_counter()
                        fh.write(piece)
                        written += time.perf_counter() - mark
            end = time.perf_counter()
            times.append(end - start)
            client.append((read - start) + written)
            with target.open("rb") as fh:
                rows = sum(1 for _ in fh) - 1
            assert rows == runs, rows
    return statistics.median(times), statistics.median(client)


def start_stack(instance: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_INSTANCE_PATH=instance, GUNICORN_WORKERS="2")
    proc = subprocess.Popen([sys.executable, "-m", "flask_qed.cli", "up", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, timeout=60)
    except RuntimeError:
        proc.kill()
        raise
    return proc, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--csv", action="store_true", help="post the batch as CSV and read the results as CSV")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    with tempfile.TemporaryDirectory() as instance:
        proc, base = start_stack(instance)
        try:
            print(f"{args.runs} runs per batch, median of {args.repeat}\n")
            print(f"{'model':10} {'direct (s)':>11} {'end to end (s)':>15} {'e2e/direct':>11} "
                  f"{'client (s)':>11} {'rest/direct':>12} {'CPU: direct':>12} {'stack':>7} {'ratio':>6}")
            for model in models:
                inputs = batch(model, args.runs)
                t_direct, cpu_direct = direct(model, inputs, args.repeat, args.runs)
                before = stack_cpu(proc)
                t_e2e, t_client = (end_to_end_csv if args.csv else end_to_end)(base, model, inputs, args.repeat,
                                                                               args.runs)
                cpu_stack = (stack_cpu(proc) - before) / args.repeat
                print(f"{model:10} {t_direct:11.3f} {t_e2e:15.3f} {t_e2e / t_direct:11.2f} "
                      f"{t_client:11.3f} {(t_e2e - t_client) / t_direct:12.2f} {cpu_direct:12.3f} "
                      f"{cpu_stack:7.3f} {cpu_stack / cpu_direct:6.2f}", flush=True)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


if __name__ == "__main__":
    main()
