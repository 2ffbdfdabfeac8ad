"""Instance files are their owner's alone: the SQLite store (and its -wal, -shm), the
embedded Redis's append-only file and the API key file hold every client's inputs,
results and queued jobs, so each file is 0600 and each folder made for them 0700,
whatever the umask of the process (the usual 022 here)."""
from __future__ import annotations

import os
import stat
import time
import uuid
from pathlib import Path

import redis

from flask_qed import keys as keyfile
from flask_qed.embedded import start_redis
from flask_qed.stores import open_store
from tests.conftest import stop


def _modes(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (itself included) with its permission bits."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_instance_files_are_private(tmp_path):
    instance = tmp_path / "instance"  # made by the store, as on a first start
    old_umask = os.umask(0o022)
    proc = None
    try:
        store = open_store(f"sqlite:///{instance / 'jobs.sqlite3'}", 60)
        store.create(str(uuid.uuid4()), {"status": "PENDING", "owner": "alice", "inputs": {"a": 1}})
        store.ping()
        proc, url = start_redis(instance / "redis", persist=True)
        client = redis.Redis.from_url(url)
        client.lpush("celery", b'{"job": "a queued job"}')
        aof = instance / "redis" / "appendonly.aof"
        deadline = time.monotonic() + 10
        while b"a queued job" not in (aof.read_bytes() if aof.exists() else b""):
            assert time.monotonic() < deadline, "redis wrote no append-only file"
            time.sleep(0.05)
        keyfile.add_key(instance / "keys" / "api_keys", "alice")
        modes = _modes(instance)
        store.close()
    finally:
        os.umask(old_umask)
        if proc is not None:
            stop(proc)
    for name in ("jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm", "redis/appendonly.aof",
                 "redis/redis.conf", "keys/api_keys"):
        assert name in modes, sorted(modes)
    wrong = {name: mode for name, mode in modes.items()
             if mode != ("0o700" if name in (".", "redis", "keys") else "0o600")}
    assert not wrong, f"not private: {wrong} (all: {modes})"
