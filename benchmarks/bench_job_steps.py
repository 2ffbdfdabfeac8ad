"""CPU time of a job's own steps outside Celery and HTTP: what the store and the notices
cost per job, and the two steps changed, the way they were and the way they are.

In one process, against a private redis-server and a SQLite store in a scratch folder:
batches of ``--batch`` steps each way, interleaved for ``--rounds`` rounds (so that a
change in the machine's speed hits both alike), CPU time from ``time.process_time``.

* taking a job: the claim and then a read of its inputs (two statements, as before),
  against the claim that brings the inputs (one);
* the finished-job notice: ``redis.Redis.publish`` (a connection from the pool and back,
  through the client's retry wrapper, as before) against ``notices.announce`` (one
  connection held for notices), with a bare ``PUBLISH`` on a socket as the floor;
* the store's other steps of every job, as they are: the record written (the gateway),
  the result written (the worker), the record read (the waiting request);
* a job of one run computed and its result written (``Model.run_packed``), by the
  field-by-field writer of large batches and written whole, as a small batch now is.

Together they are what the job lifecycle of DESIGN.md (a record before the job is
queued, the result stored, the waiter woken and reading the store) adds to a bare
Celery task and a bare request, before validation, the fingerprint or Flask.

    .venv/bin/python benchmarks/bench_job_steps.py [--rounds 15] [--batch 300]
"""
from __future__ import annotations

import socket
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stack import interleaved, interleaved_args  # noqa: E402
from flask_qed.embedded import start_redis  # noqa: E402

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def main() -> None:
    args = interleaved_args(__doc__, rounds=15, batch=300)
    scratch = Path(tempfile.mkdtemp(prefix="qed-worker-steps-"))
    server, url = start_redis(scratch / "redis", tied=True)
    try:
        import redis

        from flask_qed.jobs import notices
        from flask_qed.stores import open_store
        store = open_store(f"sqlite:///{scratch}/jobs.sqlite3", ttl=3600)
        queued: list[str] = []

        def new_job() -> str:
            job_id = str(uuid.uuid4())
            store.create(job_id, {"status": "PENDING", "attempts": 0, "app": "pram", "model": "rice",
                                  "inputs": {**RICE, "mai": 0.05 + len(queued) * 1e-9}})
            return job_id

        for _ in range((2 * args.rounds + 1) * args.batch + 2):
            queued.append(new_job())
        jobs = iter(queued)
        fields = {"progress": 10, "worker": "bench"}

        def claim_then_read() -> None:
            job_id = next(jobs)
            store.claim(job_id, 60, fields)
            store.get(job_id, inputs=True, data=False, packed=True)

        def claim_with_inputs() -> None:
            store.claim(next(jobs), 60, fields, inputs=True)

        took = interleaved({"claim, then read the inputs": claim_then_read,
                            "claim with the inputs": claim_with_inputs}, args.rounds, args.batch)
        claimed = iter(queued)
        finished = iter(queued)
        result = {"inputs": {k: {"0": v} for k, v in RICE.items()}, "outputs": {"out_cw": {"0": 27.5184}}}
        done = {"status": "SUCCESS", "progress": 100, "finished": "2026-12-06T00:00:00.000Z", "lease_until": 0}
        stored = interleaved({"create (the record, queued)": new_job,
                              "finish (the result)": lambda: store.finish(next(claimed), {**done, "data": result}),
                              "get (the finished record)": lambda: store.get(next(finished))},
                             args.rounds, args.batch)

        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        host, port = url.split("//", 1)[1].split("/")[0].rsplit(":", 1)
        bare = socket.create_connection((host.split("@")[-1], int(port)))
        name = str(uuid.uuid4())
        packed = f"*3\r\n$7\r\nPUBLISH\r\n${len(notices.CHANNEL)}\r\n{notices.CHANNEL}\r\n${len(name)}\r\n{name}\r\n"

        def bare_publish() -> None:
            bare.sendall(packed.encode())
            bare.recv(64)

        told = interleaved({"Redis.publish": lambda: client.publish(notices.CHANNEL, name),
                            "notices.announce": lambda: notices.announce(url, name),
                            "bare PUBLISH on a socket": bare_publish}, args.rounds, args.batch)
        ran = run_one(args.rounds, args.batch)
        print(f"CPU time per step, median of {args.rounds} batches of {args.batch}:")
        for label, value in {**took, **told, **stored, **ran}.items():
            print(f"  {label:30s} {value:.3f} ms")
    finally:
        server.terminate()
        server.wait()


def run_one(rounds: int, batch: int) -> dict[str, float]:
    """A job of one run (rice) computed and its result written, as the worker does it
    (``Model.run_packed``), both ways: the field-by-field writer every batch took before,
    and run and written whole (a batch of up to ``SMALL_RUNS`` runs)."""
    import importlib

    from flask_qed import batch as batches
    from flask_qed.model import Model
    model = Model.from_module(importlib.import_module("pram_flask.models.rice"))
    packed, _ = model.validate_packed(RICE)
    small = batches.SMALL_RUNS

    def field_writer() -> None:
        batches.SMALL_RUNS = 0
        try:
            model.run_packed(packed)
        finally:
            batches.SMALL_RUNS = small

    return interleaved({"run one, field by field": field_writer,
                        "run one, written whole": lambda: model.run_packed(packed)}, rounds, batch)


if __name__ == "__main__":
    main()
