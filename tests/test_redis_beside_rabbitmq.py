"""RabbitMQ as the broker, with a Redis beside it (``QED_REDIS_URL``): the rate limit's
counters, the finished-job notices and the reconciler's lock are shared through that Redis,
as they are through the broker's own Redis. Without it each degrades as docs/scaling.md says.

The end-to-end test runs a real worker on a RabbitMQ queue of its own (skipped, saying so,
when no RabbitMQ answers; ``QED_TEST_RABBITMQ_URL``) beside a private Redis.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import redis as redis_client

from flask_qed.config import ConfigError, load_settings
from flask_qed.embedded import start_redis
from flask_qed.jobs import notices
from flask_qed.reconciler import LOCK_KEY, Reconciler
from flask_qed.runtime import Runtime
from flask_qed.tasks import create_celery
from flask_qed.web import create_gateway
from flask_qed.web.security import RateLimit
from tests.conftest import make_env, start_worker, stop
from tests.test_chaos import RABBITMQ, _rabbitmq_answers


@pytest.fixture()
def redis_url(tmp_path: Path) -> Iterator[str]:
    proc, url = start_redis(tmp_path / "redis")
    yield url
    stop(proc)


def test_the_shared_redis_is_the_brokers_unless_another_is_named() -> None:
    assert load_settings({"QED_BROKER_URL": "redis://r:6379/0"}).redis_url == "redis://r:6379/0"
    assert load_settings({"QED_BROKER_URL": "amqp://guest@rabbit//"}).redis_url is None
    both = load_settings({"QED_BROKER_URL": "amqp://guest@rabbit//", "QED_REDIS_URL": "rediss://:pw@r:6380/1"})
    assert (both.broker_url, both.redis_url) == ("amqp://guest@rabbit//", "rediss://:pw@r:6380/1")
    with pytest.raises(ConfigError, match="QED_REDIS_URL must be a redis:// or rediss:// URL"):
        load_settings({"QED_BROKER_URL": "amqp://guest@rabbit//", "QED_REDIS_URL": "amqp://guest@rabbit//"})


def test_the_rate_limit_is_counted_once_for_every_gateway_process_that_shares_the_redis(redis_url: str) -> None:
    """Two gateway processes (two limiters) on one Redis share a client's count; without a
    Redis each counts its own."""
    client = f"addr:{uuid.uuid4().hex}"
    first, second = RateLimit("3/minute", redis_url), RateLimit("3/minute", redis_url)
    assert [first.retry_after(client), second.retry_after(client), first.retry_after(client)] == [None] * 3
    assert second.retry_after(client) is not None and first.retry_after(client) is not None
    alone, other = RateLimit("3/minute", ""), RateLimit("3/minute", "")
    for _ in range(3):
        assert alone.retry_after(client) is None
    assert alone.retry_after(client) is not None and other.retry_after(client) is None


def test_one_worker_sweeps_at_a_time_on_rabbitmq_with_a_redis(tmp_path: Path, redis_url: str) -> None:
    """The sweeper's lock is taken in the named Redis (a RabbitMQ URL that nothing needs to
    answer: the lock alone is asked for); without one, or while it does not answer, every
    worker sweeps."""
    env = make_env("amqp://guest:guest@127.0.0.1:5672//", f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path,
                   QED_REDIS_URL=redis_url)
    one, two = Reconciler(create_celery(Runtime.load(env))), Reconciler(create_celery(Runtime.load(env)))
    assert one.acquire() and not two.acquire() and one.acquire()  # renewed by its holder only
    assert redis_client.Redis.from_url(redis_url).get(LOCK_KEY).decode() == one.token
    one.release()
    assert two.acquire()
    from flask_qed.embedded import free_port
    gone = {**env, "QED_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "QED_BROKER_TIMEOUT": "1"}
    assert Reconciler(create_celery(Runtime.load(gone))).acquire()  # its Redis down: sweeps unlocked
    full = redis_client.Redis.from_url(redis_url)
    full.delete(LOCK_KEY)
    full.config_set("maxmemory", "1")  # answering, but refusing every write (out of memory)
    try:
        assert Reconciler(create_celery(Runtime.load(env))).acquire()
    finally:
        full.config_set("maxmemory", "0")
    on_redis = {**gone, "QED_BROKER_URL": gone["QED_REDIS_URL"]}  # the broker itself down: not swept
    with pytest.raises(redis_client.ConnectionError):
        Reconciler(create_celery(Runtime.load(on_redis))).acquire()
    alone = {k: v for k, v in env.items() if k != "QED_REDIS_URL"}
    three, four = Reconciler(create_celery(Runtime.load(alone))), Reconciler(create_celery(Runtime.load(alone)))
    assert three.acquire() and four.acquire()


def test_a_waiting_request_on_rabbitmq_is_woken_by_the_notice_in_the_redis(tmp_path: Path, redis_url: str) -> None:
    """A job queued on RabbitMQ, run by a real worker: its end is announced on the named
    Redis, to the gateway process that waits for it, which answers with the finished job."""
    if not _rabbitmq_answers():
        pytest.skip(f"no RabbitMQ answers at {RABBITMQ} (set QED_TEST_RABBITMQ_URL)")
    queue = f"qed-test-{uuid.uuid4().hex[:12]}"
    env = make_env(RABBITMQ, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path, QED_QUEUE=queue,
                   QED_REDIS_URL=redis_url)
    celery = create_celery(Runtime.load(env))
    heard = redis_client.Redis.from_url(redis_url).pubsub()
    heard.psubscribe(f"{notices.CHANNEL}*")
    worker = start_worker(env, tmp_path / "worker.log", "-n", f"w-{queue}@%h")
    try:
        client = create_gateway(celery).test_client()
        started = time.monotonic()
        answer = client.post("/testing/sleepy", json={"inputs": {"seconds": 0}}, headers={"Prefer": "wait=10"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.headers["Preference-Applied"] == "wait=10"
        job = answer.get_json()
        assert job["status"] == "SUCCESS" and time.monotonic() - started < 10
        deadline, channels = time.monotonic() + 5, {}
        while job["job_id"] not in channels and time.monotonic() < deadline:
            message = heard.get_message(timeout=0.5)
            if message and message["type"] == "pmessage":
                channels[message["data"].decode()] = message["channel"].decode()
        # announced to the gateway process that waited: its own channel
        assert channels.get(job["job_id"]) == notices.channel(notices.address())
        lock = redis_client.Redis.from_url(redis_url)
        deadline = time.monotonic() + 20
        while lock.get(LOCK_KEY) is None and time.monotonic() < deadline:  # the worker's sweeper
            time.sleep(0.2)
        assert lock.get(LOCK_KEY) is not None
    finally:
        heard.close()
        stop(worker)
        with celery.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
            for exchange in (queue, f"{queue}.pidbox", f"{queue}.reply.celery.pidbox", f"{queue}.events"):
                conn.default_channel.exchange_delete(exchange)


def test_a_redis_that_does_not_answer_costs_no_wait_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a failure the rate limit is not applied, and notices are dropped, for a few
    seconds without asking Redis again: a Redis beside RabbitMQ that stops answering
    (a timeout, not a refusal) would otherwise hold every request and every job."""
    from flask_qed.embedded import free_port
    from flask_qed.web import security
    dead = f"redis://127.0.0.1:{free_port()}/0"
    limit = RateLimit("3/minute", dead)
    asked: list[str] = []
    real = limit.limiter.hit
    monkeypatch.setattr(limit.limiter, "hit", lambda *a, **k: (asked.append("hit"), real(*a, **k))[1])
    assert limit.retry_after("addr:x") is None and asked == ["hit"]  # failed: applied open
    assert limit.retry_after("addr:x") is None and asked == ["hit"]  # paused: not asked
    monkeypatch.setattr(limit, "_failed_at", time.monotonic() - security.PAUSE - 1)
    assert limit.retry_after("addr:x") is None and asked == ["hit", "hit"]  # asked again after the pause
    announcer = notices._Announcer(dead)
    with pytest.raises(redis_client.ConnectionError):
        announcer.publish(notices.CHANNEL, "job-1")
    started = time.monotonic()
    with pytest.raises(redis_client.ConnectionError, match="paused"):
        announcer.publish(notices.CHANNEL, "job-2")
    assert time.monotonic() - started < 0.5
