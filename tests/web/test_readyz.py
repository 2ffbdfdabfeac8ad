"""/readyz checks the store in the process that answers: gunicorn with 2 processes, each
holding an open connection to the SQLite file, must all say 503 once the file is
deleted or overwritten, and every request that needs the store is a JSON 503 too."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.conftest import stop
from tests.test_deployment import _deploy
from tests.web.test_security import RICE


def _processes_holding(master: int, path: Path) -> set[int]:
    """The gunicorn processes (children of ``master``) that have ``path`` open (its
    ``-wal``: held by SQLite connections only)."""
    path = path.with_name(path.name + "-wal")
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    holding = set()
    for pid in children:
        try:
            links = {str(fd.readlink()) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except OSError:  # a process ending
            continue
        if str(path) in links:
            holding.add(int(pid))
    return holding


@pytest.mark.parametrize("damage", ["deleted", "overwritten", "replaced"])
def test_readyz_is_503_in_every_process_once_the_store_file_is_damaged(tmp_path, damage):
    started: list = []
    try:
        deployed = _deploy(tmp_path, started, GUNICORN_WORKERS="2")
        base, store = deployed["base"], tmp_path / "jobs.sqlite3"
        # Until both gunicorn processes have the file open: the case where a process's
        # own connection, still working on the old file, would answer "ready".
        deadline = time.monotonic() + 30
        while len(_processes_holding(deployed["web"].pid, store)) < 2:
            assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
            assert time.monotonic() < deadline, "a gunicorn process never opened the store"
        garbage = b"this is not a database\n" * 2000
        if damage == "deleted":
            store.unlink()
        elif damage == "overwritten":
            store.write_bytes(garbage)  # the same inode, its pages gone
        else:  # another file in its place (an old connection still reads the first)
            (tmp_path / "garbage").write_bytes(garbage)
            (tmp_path / "garbage").replace(store)
        answers = [requests.get(f"{base}/readyz", timeout=10) for _ in range(12)]
        assert [a.status_code for a in answers] == [503] * 12
        assert all(a.json()["checks"]["store"] == "down" for a in answers)
        for _ in range(4):  # job routes too: a JSON 503, never a job written to a file no one sees
            for answer in (requests.get(f"{base}/jobs", timeout=10),
                           requests.post(f"{base}/pram/rice", json={"inputs": RICE}, timeout=10)):
                assert answer.status_code == 503, answer.text
                assert answer.headers["Content-Type"] == "application/json" and answer.json()["message"]
        # Nothing made a new, empty store in its place.
        assert store.exists() == (damage != "deleted")
    finally:
        for proc in started:
            stop(proc)
