"""The worker's record of the messages it holds (flask_qed.redis_transport.QoS): written as
kombu's own QoS writes it, so that kombu restores a dead worker's messages from it,
and kept through a lost connection."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kombu.transport import redis as kombu_redis

from flask_qed.brokers import publisher
from flask_qed.redis_transport import QoS
from flask_qed.embedded import start_redis
from flask_qed.runtime import Runtime
from flask_qed.tasks import create_celery

from .conftest import make_env, stop


@pytest.fixture()
def broker(tmp_path: Path) -> Any:
    proc, url = start_redis(tmp_path / "redis")
    celery = create_celery(Runtime.load(make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)))
    connection = celery.connection_for_read()
    yield celery, connection, connection.default_channel.client
    connection.release()
    stop(proc)


def _queue(celery: Any, jobs: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(jobs)]
    for job_id in ids:
        publisher(celery).publish("pram.rice", job_id)
    return ids


def _job_of(entry: bytes) -> str:
    message, _exchange, _routing_key = json.loads(entry)
    return message["headers"]["id"]


def test_a_taken_message_is_recorded_as_kombu_records_it(broker: Any) -> None:
    celery, connection, redis = broker
    queue = celery.conf.task_default_queue
    _queue(celery, 2)
    ours, theirs = connection.channel(), connection.channel()
    theirs.QoS = kombu_redis.QoS
    assert isinstance(ours.qos, QoS) and type(theirs.qos) is kombu_redis.QoS
    before = time.time()
    mine, kombus = ours.basic_get(queue, no_ack=False), theirs.basic_get(queue, no_ack=False)
    entries = {name: json.loads(redis.hget(ours.unacked_key, m.delivery_tag)) for name, m in
               (("ours", mine), ("kombu", kombus))}
    # the same entry: the message as received, its exchange and routing key
    for entry, message in ((entries["ours"], mine), (entries["kombu"], kombus)):
        assert entry[0] == message._raw and entry[1:] == ["", queue]
    assert set(entries["ours"][0]) == set(entries["kombu"][0])
    for message in (mine, kombus):  # and indexed by the time it was taken
        assert before - 1 <= redis.zscore(ours.unacked_index_key, message.delivery_tag) <= time.time() + 1
    assert mine.delivery_tag in ours.qos._delivered  # the channel's own count of what it holds
    mine.ack()
    assert redis.hget(ours.unacked_key, mine.delivery_tag) is None
    assert redis.zscore(ours.unacked_index_key, mine.delivery_tag) is None
    assert mine.delivery_tag in ours.qos._dirty  # kombu's own bookkeeping: forgotten at its next flush
    assert redis.hlen(ours.unacked_key) == 1  # kombu's message is still held
    kombus.ack()
    assert redis.hlen(ours.unacked_key) == 0 and redis.zcard(ours.unacked_index_key) == 0


def test_a_held_message_of_a_dead_worker_is_restored_by_kombus_sweep(broker: Any) -> None:
    celery, connection, redis = broker
    queue = celery.conf.task_default_queue
    (job_id,) = _queue(celery, 1)
    dead = connection.channel()
    assert dead.basic_get(queue, no_ack=False) is not None  # taken, never acknowledged
    assert redis.llen(queue) == 0 and redis.hlen(dead.unacked_key) == 1
    # Another worker's sweep, once the visibility timeout has passed:
    sweeper = connection.channel()
    sweeper.qos.visibility_timeout = 0
    time.sleep(0.01)
    sweeper.qos.restore_visible(interval=1)
    assert redis.hlen(dead.unacked_key) == 0 and redis.zcard(dead.unacked_index_key) == 0
    (restored,) = redis.lrange(queue, 0, -1)
    message = json.loads(restored)
    assert message["headers"]["id"] == job_id and message["properties"]["delivery_info"]["redelivered"]


def test_a_rejected_message_is_requeued_or_dropped(broker: Any) -> None:
    celery, connection, redis = broker
    queue = celery.conf.task_default_queue
    first, second = _queue(celery, 2)
    channel = connection.channel()
    taken = channel.basic_get(queue, no_ack=False)
    assert taken.headers["id"] == first
    taken.reject(requeue=True)
    assert redis.hlen(channel.unacked_key) == 0
    assert {_job_of_message(raw) for raw in redis.lrange(queue, 0, -1)} == {first, second}
    again = channel.basic_get(queue, no_ack=False)
    again.reject(requeue=False)
    assert redis.hlen(channel.unacked_key) == 0 and redis.zcard(channel.unacked_index_key) == 0
    assert redis.llen(queue) == 1
    channel.qos._flush()
    assert not channel.qos._delivered


def _job_of_message(raw: bytes) -> str:
    return json.loads(raw)["headers"]["id"]


def test_a_lost_connection_is_made_again_and_the_record_kept(broker: Any) -> None:
    celery, connection, redis = broker
    queue = celery.conf.task_default_queue
    _queue(celery, 2)
    channel = connection.channel()
    first = channel.basic_get(queue, no_ack=False)  # the channel's own connection now exists
    own = channel._held
    assert own is not None
    assert redis.client_kill_filter(addr="%s:%d" % own._sock.getsockname()) == 1
    first.ack()  # on a new connection
    assert channel._held is not own
    assert redis.hlen(channel.unacked_key) == 0
    second = channel.basic_get(queue, no_ack=False)
    assert _job_of(redis.hget(channel.unacked_key, second.delivery_tag)) == second.headers["id"]


def test_a_broker_that_is_gone_is_a_connection_error(tmp_path: Path) -> None:
    proc, url = start_redis(tmp_path / "redis")
    celery = create_celery(Runtime.load(make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)))
    connection = celery.connection_for_read()
    try:
        _queue(celery, 1)
        channel = connection.channel()
        taken = channel.basic_get(celery.conf.task_default_queue, no_ack=False)
        stop(proc)
        import redis as redis_py
        with pytest.raises(redis_py.ConnectionError):
            channel.qos.ack(taken.delivery_tag)
        assert channel._held is None  # the next try connects afresh
    finally:
        connection.release()
        if proc.poll() is None:
            stop(proc)


def test_a_refused_command_is_raised(broker: Any) -> None:
    celery, connection, redis = broker
    channel = connection.channel()
    redis.set("not-a-hash", "x")
    with pytest.raises(Exception, match="WRONGTYPE"):
        channel.transact(("HSET", "not-a-hash", "field", "value"))
    assert channel.transact(("HSET", "a-hash", "field", "value"), ("HGET", "a-hash", "field")) == [1, b"value"]


def test_a_record_orjson_cannot_write_is_written_as_kombu_writes_it() -> None:
    from kombu.utils.json import loads

    from flask_qed.redis_transport import _entry
    plain = [{"headers": {"id": "x"}, "body": "e30="}, "", "q"]
    assert loads(_entry(plain)) == plain
    huge = [{"headers": {"id": "x", "n": 2 ** 70}}, "", "q"]  # past 64 bits: orjson refuses it
    assert loads(_entry(huge)) == huge
