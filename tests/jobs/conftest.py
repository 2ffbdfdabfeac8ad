"""Fixtures of the jobs service's tests: private stacks (Redis, worker, gateway) with the
result cache on, made once per test module and kept for its tests."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import redis

from flask_qed import keys as keyfile
from flask_qed.embedded import start_redis
from tests.conftest import make_env, start_worker, stop

QUEUE = "flask_qed"  # the broker queue the gateway publishes to


class Stack:
    """A private Redis, worker and in-process gateway with the cache on. The reconciler
    sweeps every second with the default grace (30 s): a joiner is settled by the worker
    that ends the job it joined, and one released to run (queued_at 0) is published at once."""

    def __init__(self, folder: Path, **settings: str):
        from flask_qed.runtime import Runtime
        from flask_qed.tasks import create_celery
        from flask_qed.web import create_gateway
        folder.mkdir(parents=True, exist_ok=True)
        self.redis, url = start_redis(folder / "redis")
        self.env = make_env(url, f"sqlite:///{folder / 'jobs.sqlite3'}", folder,
                            **{"QED_CACHE": "on", "QED_SWEEP_INTERVAL": "1",
                               **settings})
        self.log = folder / "worker.log"
        self.worker = start_worker(self.env, self.log)
        self.client = create_gateway(create_celery(Runtime.load(self.env))).test_client()
        self.broker = redis.Redis.from_url(url)

    def queued(self) -> int:
        return int(self.broker.llen(QUEUE))

    def close(self) -> None:
        stop(self.worker)
        stop(self.redis)


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    made: dict[str, Stack] = {}

    def get(name: str, **settings: str) -> Stack:
        if name not in made:
            made[name] = Stack(tmp_path_factory.mktemp(name), **settings)
        return made[name]

    yield get
    for stack in made.values():
        stack.close()


@pytest.fixture(scope="module")
def keyfile_path(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("keys") / "api_keys"
    return path, {name: keyfile.add_key(path, name) for name in ("alice", "bob")}


class Authed:
    """A client sending one key with every request."""

    def __init__(self, client: Any, key: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)


def runs(marker: Path) -> int:
    """How often the worker ran the sleepy model with this marker."""
    return len(marker.read_text().split()) if marker.exists() else 0


def post(client: Any, inputs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    answer = client.post("/testing/sleepy", json={"inputs": inputs, **kw.pop("body", {})}, **kw)
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()
