"""Past one machine: gateway, broker, store and three worker hosts, each in its own
network namespace, joined by a switch (a Linux bridge in a namespace of its own).

Every process runs in its host's namespace (``ip netns exec``), bound to or
talking to that host's address only: no two share a loopback. The test process
plays a client on the same switch. It shows, with real processes throughout
(redis-server, nx-27017 standing in for MongoDB, gunicorn, ``celery -A
celery_cgi worker``):

* jobs submitted to the gateway over HTTP run on every worker host;
* a worker host whose cable is pulled (its switch port set down) while it runs
  jobs: those jobs are finished by the other hosts, each result written once,
  within the lease, the sweep and a run;
* the partition healed, the returning host writes no second result, leaves no
  job behind and takes jobs again;
* a host whose every process is killed while it runs jobs: the same, its jobs
  finished elsewhere, once;
* the gateway (``/healthz``, ``/readyz``) and the store answer throughout.

Needs root and ``ip netns`` (iproute2); skipped otherwise, with the reason. The
numbers seen are printed whatever pytest's capture (``-s`` or not).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.conftest import ROOT, make_env

RUN = uuid.uuid4().hex[:6]
SUBNET = f"10.77.{int(RUN, 16) % 250 + 1}"  # private, and another run's own
HOSTS = {"gw": 10, "broker": 20, "store": 30, "w1": 41, "w2": 42, "w3": 43}
WORKERS = ("w1", "w2", "w3")
CLIENT = f"{SUBNET}.2"
GATEWAY_PORT, REDIS_PORT, STORE_PORT = 7777, 6379, 27017
# Short reconciler settings: a lease lapses after 3 s, a sweep each second.
FAST = {"QED_JOB_LEASE": "3", "QED_SWEEP_INTERVAL": "1", "QED_PENDING_GRACE": "2", "QED_BROKER_TIMEOUT": "2",
        "GUNICORN_WORKERS": "2"}
RUN_SECONDS = 4.0  # long enough that jobs are in flight when a host is cut off


def ns(host: str) -> str:
    return f"qed{RUN}-{host}"


def addr(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


class Network:
    """The namespaces, the switch and the cables; every process started in them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: list[subprocess.Popen] = []
        self.made: list[str] = []
        self.client_link = f"qv{RUN}c"

    def build(self) -> None:
        switch = ns("sw")
        sh("ip", "netns", "add", switch)
        self.made.append(switch)
        sh("ip", "-n", switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", switch, "link", "set", "br0", "up")
        for index, host in enumerate(HOSTS):
            sh("ip", "netns", "add", ns(host))
            self.made.append(ns(host))
            sh("ip", "-n", ns(host), "link", "set", "lo", "up")
            near, far = f"qv{RUN}{index}", self.port(host)
            sh("ip", "link", "add", near, "type", "veth", "peer", "name", far)
            sh("ip", "link", "set", near, "netns", ns(host))
            sh("ip", "-n", ns(host), "link", "set", near, "name", "eth0")
            sh("ip", "-n", ns(host), "addr", "add", f"{addr(host)}/24", "dev", "eth0")
            sh("ip", "-n", ns(host), "link", "set", "eth0", "up")
            self.plug(far)
        # The test process is a client on the same switch.
        sh("ip", "link", "add", self.client_link, "type", "veth", "peer", "name", f"qs{RUN}c")
        sh("ip", "addr", "add", f"{CLIENT}/24", "dev", self.client_link)
        sh("ip", "link", "set", self.client_link, "up")
        self.plug(f"qs{RUN}c")

    def port(self, host: str) -> str:
        """The switch port (the veth end in the switch's namespace) of a host."""
        return f"qs{RUN}{list(HOSTS).index(host)}"

    def plug(self, far: str) -> None:
        sh("ip", "link", "set", far, "netns", ns("sw"))
        sh("ip", "-n", ns("sw"), "link", "set", far, "master", "br0")
        sh("ip", "-n", ns("sw"), "link", "set", far, "up")

    def kill(self, host: str) -> None:
        """Every process of a host, SIGKILLed: a machine lost without a goodbye."""
        for pid in sh("ip", "netns", "pids", ns(host), check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass

    def cable(self, host: str, up: bool) -> None:
        sh("ip", "-n", ns("sw"), "link", "set", self.port(host), "up" if up else "down")

    def start(self, host: str, argv: list[str], env: dict[str, str], log: str) -> subprocess.Popen:
        fh = open(self.folder / log, "ab")
        proc = subprocess.Popen(["ip", "netns", "exec", ns(host), *argv], cwd=ROOT, env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def teardown(self) -> None:
        for proc in reversed(self.procs):
            _stop_group(proc)
        for name in self.made:  # anything a process started and left behind
            for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for name in reversed(self.made):
            sh("ip", "netns", "del", name, check=False)
        sh("ip", "link", "del", self.client_link, check=False)


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def _wait(predicate: Any, timeout: float, what: str, proc: subprocess.Popen | None = None,
          log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited ({proc.returncode}):\n"
                                 f"{log.read_text()[-3000:] if log else ''}")
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if os.geteuid() != 0:
        pytest.skip("needs root to make network namespaces (ip netns)")
    if not shutil.which("ip"):
        pytest.skip("no ip command (apt-get install iproute2)")
    probe = f"qed{RUN}-probe"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"ip netns does not work here: {done.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    import pymongo
    net = Network(tmp_path)
    try:
        net.build()
        broker_url = f"redis://{addr('broker')}:{REDIS_PORT}/0"
        store_url = f"mongodb://{addr('store')}:{STORE_PORT}/qed{RUN}?retryWrites=false"
        redis_dir = tmp_path / "redis"
        redis_dir.mkdir()
        (redis_dir / "redis.conf").write_text(
            f"port {REDIS_PORT}\nbind {addr('broker')}\ndir \"{redis_dir}\"\nsave \"\"\nappendonly no\n"
            "maxmemory-policy noeviction\n")
        from flask_qed.embedded import redis_server_binary
        net.start("broker", [redis_server_binary(), str(redis_dir / "redis.conf")], dict(os.environ), "redis.log")
        (tmp_path / "store").mkdir()
        net.start("store", [sys.executable, "-m", "nx_27017.nx_27017", "--host", addr("store"), "-p",
                            str(STORE_PORT), "--db", str(tmp_path / "store" / "jobs.db"),
                            "--pid-file", str(tmp_path / "store.pid")], dict(os.environ), "store.log")
        from flask_qed.embedded import wait_for_port
        wait_for_port(addr("broker"), REDIS_PORT, 30)
        wait_for_port(addr("store"), STORE_PORT, 30)
        env = make_env(broker_url, store_url, tmp_path, **FAST)
        gateway_log = tmp_path / "gateway.log"
        gateway = net.start("gw", [sys.executable, "-m", "gunicorn", "-c", "python:flask_qed.gunicorn_conf",
                                   "--bind", f"{addr('gw')}:{GATEWAY_PORT}", "flask_cgi:app"], env, "gateway.log")
        workers = {}
        for host in WORKERS:
            workers[host] = net.start(host, [sys.executable, "-m", "celery", "-A", "celery_cgi", "worker",
                                             "--loglevel", "INFO", "--concurrency", "2", "--without-gossip",
                                             "--without-mingle", "-n", f"celery@{host}"], env, f"{host}.log")
        base = f"http://{addr('gw')}:{GATEWAY_PORT}"
        _wait(lambda: _answers(f"{base}/readyz"), 90, "the gateway", gateway, gateway_log)
        for host, proc in workers.items():
            log = tmp_path / f"{host}.log"
            _wait(lambda log=log: b" ready." in log.read_bytes(), 90, f"worker {host}", proc, log)
        store = pymongo.MongoClient(store_url, serverSelectionTimeoutMS=3000)[f"qed{RUN}"]
        yield {"net": net, "base": base, "store": store, "logs": tmp_path, "env": env}
    finally:
        net.teardown()


def _submit(base: str, seconds: float, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = requests.post(f"{base}/testing/sleepy", json={"inputs": {"seconds": seconds}}, timeout=10)
        assert response.status_code == 202, response.text
        ids.append(response.json()["job_id"])
    return ids


def _records(store: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {d["_id"]: d for d in store.jobs.find({"_id": {"$in": ids}},
                                                projection={"status": 1, "worker": 1, "attempts": 1})}


def _results_written(logs: Path) -> dict[str, list[str]]:
    """Job id -> the worker hosts whose run wrote its result (the task logs "done" only
    when its conditional write of the result matched)."""
    written: dict[str, list[str]] = {}
    for host in WORKERS:
        for job_id in re.findall(r"job ([0-9a-f-]{36}): \S+ done", (logs / f"{host}.log").read_text()):
            written.setdefault(job_id, []).append(host)
    return written


class Probe(threading.Thread):
    """Asks the gateway (/healthz, /readyz) and the store (ping) every 0.2 s; counts failures."""

    def __init__(self, base: str, store: Any):
        super().__init__(daemon=True)
        self.base, self.store = base, store
        self.asked = 0
        self.failures: list[str] = []
        self.slowest = 0.0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.2):
            for what, ask in (("healthz", lambda: requests.get(f"{self.base}/healthz", timeout=5)),
                              ("readyz", lambda: requests.get(f"{self.base}/readyz", timeout=5)),
                              ("store", lambda: self.store.command("ping"))):
                started = time.monotonic()
                try:
                    answer = ask()
                    if what != "store" and answer.status_code != 200:
                        self.failures.append(f"{what}: {answer.status_code} {answer.text[:200]}")
                except Exception as exc:  # noqa: BLE001 - every failure is reported
                    self.failures.append(f"{what}: {type(exc).__name__}: {exc}")
                self.asked += 1
                self.slowest = max(self.slowest, time.monotonic() - started)


def test_jobs_spread_over_hosts_and_a_lost_host_costs_no_job(cluster: dict[str, Any],
                                                            request: pytest.FixtureRequest) -> None:
    base, store, net, logs = cluster["base"], cluster["store"], cluster["net"], cluster["logs"]
    probe = Probe(base, store)
    probe.start()
    # 1. Spread: one-second jobs, six at a time (three hosts of two processes), until every
    # host has run some (a host's first poll of the queue may come a moment after "ready").
    first: list[str] = []
    per_host = {h: 0 for h in WORKERS}
    deadline = time.monotonic() + 60
    while not all(per_host.values()):
        assert time.monotonic() < deadline, f"not every worker host ran a job within 60 s: {per_host}"
        batch = _submit(base, 1.0, 6)
        first += batch
        _wait(lambda: all(r["status"] == "SUCCESS" for r in _records(store, batch).values())
              and len(_records(store, batch)) == 6, 60, "the first jobs")
        per_host = {h: 0 for h in WORKERS}
        for record in _records(store, first).values():
            per_host[record["worker"].split("@", 1)[1]] += 1

    # 2. Cut w1 off while it runs jobs.
    second = _submit(base, RUN_SECONDS, 12)
    victim = "w1"
    held = lambda: [i for i, r in _records(store, second).items()  # noqa: E731
                    if r["status"] == "STARTED" and r["worker"] == f"celery@{victim}"]
    _wait(lambda: len(held()) == 2, 30, f"{victim} running two jobs")
    lost = held()
    net.cable(victim, up=False)
    cut = time.monotonic()
    _wait(lambda: all(_records(store, lost)[i]["status"] == "SUCCESS" for i in lost), 90,
          f"{victim}'s jobs finished elsewhere")
    recovery = time.monotonic() - cut
    moved = _records(store, lost)
    assert all(moved[i]["worker"] != f"celery@{victim}" and moved[i]["attempts"] >= 2 for i in lost), moved
    _wait(lambda: all(r["status"] == "SUCCESS" for r in _records(store, second).values()), 90,
          "every job of the second round, with one host cut off")
    partitioned = time.monotonic() - cut

    # 3. Heal; give the returning host time to do whatever it would do (lease × 3 and more).
    net.cable(victim, up=True)
    time.sleep(3 * int(FAST["QED_JOB_LEASE"]) + 6)
    third: list[str] = []
    deadline = time.monotonic() + 60
    while not any(r["worker"] == f"celery@{victim}" for r in _records(store, third).values()):
        assert time.monotonic() < deadline, f"{victim} took no job within 60 s of healing"
        batch = _submit(base, 0.5, 6)  # the healed host takes jobs again
        third += batch
        _wait(lambda: all(r["status"] == "SUCCESS" for r in _records(store, batch).values()), 60,
              "jobs after healing")

    # 4. Lose a host outright: every process of w2 killed while it runs jobs.
    fourth = _submit(base, RUN_SECONDS, 8)
    dead = "w2"
    held2 = lambda: [i for i, r in _records(store, fourth).items()  # noqa: E731
                     if r["status"] == "STARTED" and r["worker"] == f"celery@{dead}"]
    _wait(lambda: len(held2()) == 2, 30, f"{dead} running two jobs")
    killed_jobs = held2()
    net.kill(dead)
    killed = time.monotonic()
    _wait(lambda: all(_records(store, killed_jobs)[i]["status"] == "SUCCESS" for i in killed_jobs), 90,
          f"{dead}'s jobs finished elsewhere")
    recovery_killed = time.monotonic() - killed
    _wait(lambda: all(r["status"] == "SUCCESS" for r in _records(store, fourth).values()), 90,
          "every job of the last round, with one host gone")
    probe.halt.set()
    probe.join(10)

    every = first + second + third + fourth
    final = _records(store, every)
    stuck = [i for i in every if final.get(i, {}).get("status") != "SUCCESS"]
    written = _results_written(logs)
    duplicates = {i: hosts for i, hosts in written.items() if len(hosts) > 1}
    unwritten = [i for i in every if i not in written]
    lost_written_by = sorted({h for i in lost for h in written.get(i, [])})
    killed_written_by = sorted({h for i in killed_jobs for h in written.get(i, [])})
    report = (f"multi-host ({RUN}): first round jobs per worker host {per_host}; "
              f"{victim} cut off holding {len(lost)} jobs, finished elsewhere after {recovery:.1f} s "
              f"(lease {FAST['QED_JOB_LEASE']} s, sweep {FAST['QED_SWEEP_INTERVAL']} s, run {RUN_SECONDS:g} s) "
              f"by {lost_written_by}; all 12 of that round done {partitioned:.1f} s after the cut; "
              f"healed, {victim} ran jobs again; {dead} killed holding {len(killed_jobs)} jobs, finished elsewhere "
              f"after {recovery_killed:.1f} s by {killed_written_by}; "
              f"duplicates {len(duplicates)}, stuck {len(stuck)}, "
              f"results not written {len(unwritten)}; gateway and store asked {probe.asked} times, "
              f"{len(probe.failures)} failures, slowest answer {probe.slowest:.2f} s")
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        print("\n" + report, flush=True)
    assert not duplicates, duplicates
    assert not stuck, {i: final.get(i) for i in stuck}
    assert not unwritten, unwritten
    assert victim not in lost_written_by and dead not in killed_written_by
    assert not probe.failures, probe.failures[:10]

