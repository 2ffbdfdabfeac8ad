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


def test_typed_headers_come_back_as_they_were_sent(broker: Any) -> None:
    """kombu's JSON turns datetimes and UUIDs into typed markers and back: a requeued
    message keeps them, as with kombu's own record."""
    import datetime
    from kombu import Producer
    celery, connection, redis = broker
    queue = celery.conf.task_default_queue
    when, who = datetime.datetime(2026, 12, 6, 12, 30), uuid.uuid4()
    channel = connection.channel()
    Producer(channel).publish({"x": 1}, routing_key=queue, headers={"when": when, "who": who},
                              serializer="json")
    taken = channel.basic_get(queue, no_ack=False)
    assert taken.headers["when"] == when and taken.headers["who"] == who
    taken.reject(requeue=True)  # rebuilt from the record
    again = channel.basic_get(queue, no_ack=False)
    assert again.headers["when"] == when and again.headers["who"] == who
    again.ack()


def test_a_transports_key_prefix_is_kept(tmp_path: Path) -> None:
    from kombu import Connection
    proc, url = start_redis(tmp_path / "redis")
    connection = Connection(url, transport="flask_qed.redis_transport:Transport",
                            transport_options={"global_keyprefix": "site-a:"})
    try:
        channel = connection.channel()
        channel.queue_declare("jobs")
        # queued by the channel's own LPUSH (Channel._put)
        channel.basic_publish(channel.prepare_message("{}", headers={"id": "one"}), exchange="", routing_key="jobs")
        import redis as redis_py
        raw = redis_py.Redis.from_url(url)
        assert raw.llen("site-a:jobs") == 1 and not raw.exists("jobs")
        taken = channel.basic_get("jobs", no_ack=False)
        assert taken is not None and taken.headers["id"] == "one"
        assert raw.hlen("site-a:unacked") == 1 and raw.zcard("site-a:unacked_index") == 1
        assert not raw.exists("unacked")
        # kombu's sweep, which reads through its prefixed client, finds and restores it
        channel.qos.visibility_timeout = 0
        time.sleep(0.01)
        channel.qos.restore_visible(interval=1)
        assert raw.llen("site-a:jobs") == 1 and raw.hlen("site-a:unacked") == 0
        again = channel.basic_get("jobs", no_ack=False)
        again.ack()
        assert raw.hlen("site-a:unacked") == 0 and raw.zcard("site-a:unacked_index") == 0
    finally:
        connection.release()
        stop(proc)


def test_a_broker_out_of_reach_is_not_waited_for_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flask_qed import redis_transport
    proc, url = start_redis(tmp_path / "redis")
    celery = create_celery(Runtime.load(make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)))
    connection = celery.connection_for_read()
    try:
        channel = connection.channel()
        channel.transact(("SET", "k", "v"))  # the channel's connection, open
        stop(proc)
        tries: list[int] = []
        connect = redis_transport.TimedConnection._connect

        def counted(self: Any) -> Any:
            tries.append(1)
            return connect(self)
        monkeypatch.setattr(redis_transport.TimedConnection, "_connect", counted)
        import redis as redis_py
        with pytest.raises(redis_py.ConnectionError):  # an open connection lost: tried again once
            channel.transact(("SET", "k", "v"))
        assert len(tries) == 1
        tries.clear()
        with pytest.raises(redis_py.ConnectionError):  # a new connection refused: not tried again
            channel.transact(("SET", "k", "v"))
        assert len(tries) == 1
    finally:
        connection.release()
        if proc.poll() is None:
            stop(proc)
