"""The job publisher: the message it queues is the one Celery's send_task queues,
a worker runs it, and a broker that cannot take it is an error after the retries."""
from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from flask_qed.brokers import Publisher, publisher
from flask_qed.embedded import start_redis
from flask_qed.runtime import Runtime
from flask_qed.tasks import create_celery

from .conftest import make_env, stop, wait_for

JOB = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture()
def broker(tmp_path: Path) -> Any:
    proc, url = start_redis(tmp_path / "redis")
    celery = create_celery(Runtime.load(make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)))
    yield celery, celery.connection_for_write().default_channel.client
    stop(proc)


def _decoded(raw: bytes) -> dict[str, Any]:
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def test_the_message_is_the_one_send_task_queues(broker: Any) -> None:
    celery, redis = broker
    queue = celery.conf.task_default_queue
    assert publisher(celery).direct
    publisher(celery).publish("pram.rice", JOB)
    celery.send_task("pram.rice", args=[JOB], task_id=JOB)
    ours, celerys = (_decoded(raw) for raw in reversed(redis.lrange(queue, 0, -1)))
    # Told apart only by what is new for every message: the delivery tag, and the
    # reply-to of the sending thread (results are not kept, nothing is sent there).
    for message in (ours, celerys):
        assert message["properties"].pop("delivery_tag")
        assert message["properties"].pop("reply_to")
    assert ours == celerys
    assert ours["headers"]["task"] == "pram.rice" and ours["body"][0] == [JOB]
    assert ours["properties"]["delivery_info"] == {"exchange": "", "routing_key": queue}
    # and the queue's binding is declared, as a first send_task declares it
    assert redis.smembers(f"_kombu.binding.{queue}")


def test_publish_signals_are_sent(broker: Any) -> None:
    from celery import signals
    celery, _ = broker
    seen: list[tuple[str, str, Any]] = []

    def before(sender: str, headers: dict, **_: Any) -> None:
        seen.append(("before", sender, headers["id"]))

    def after(sender: str, headers: dict, **_: Any) -> None:
        seen.append(("after", sender, headers["id"]))

    signals.before_task_publish.connect(before, weak=False)
    signals.after_task_publish.connect(after, weak=False)
    try:
        publisher(celery).publish("pram.rice", JOB)
    finally:
        signals.before_task_publish.disconnect(before)
        signals.after_task_publish.disconnect(after)
    assert seen == [("before", "pram.rice", JOB), ("after", "pram.rice", JOB)]


def test_threads_publish_on_their_own_channels(broker: Any) -> None:
    celery, redis = broker
    pub = publisher(celery)
    ids = [f"{JOB[:-4]}{i:04d}" for i in range(200)]
    threads = [threading.Thread(target=lambda part=part: [pub.publish("pram.rice", j) for j in part])
               for part in (ids[0::4], ids[1::4], ids[2::4], ids[3::4])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queued = [_decoded(raw)["headers"]["id"] for raw in redis.lrange(celery.conf.task_default_queue, 0, -1)]
    assert sorted(queued) == sorted(ids)


def test_a_broker_that_is_gone_is_an_error_after_the_retries(tmp_path: Path) -> None:
    proc, url = start_redis(tmp_path / "redis")
    celery = create_celery(Runtime.load(make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path,
                                                 QED_BROKER_TIMEOUT="1")))
    pub = Publisher(celery)
    pub.publish("pram.rice", JOB)  # a channel is open
    stop(proc)
    started = time.monotonic()
    with pytest.raises(pub.errors) as lost:
        pub.publish("pram.rice", JOB)
    assert "Connection refused" in str(lost.value) or "Error" in type(lost.value).__name__
    # both retries were waited for (0.2 s, then 0.7 s), and no more than the timeouts allow
    assert 0.9 <= time.monotonic() - started < 15


def test_a_broker_back_before_the_last_retry_takes_the_job(tmp_path: Path) -> None:
    proc, url = start_redis(tmp_path / "redis")
    celery = create_celery(Runtime.load(make_env(url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tmp_path)))
    pub = Publisher(celery, {"max_retries": 2, "interval_start": 1.5, "interval_step": 0, "interval_max": 1.5})
    pub.publish("pram.rice", JOB)
    stop(proc)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    restarted: list[Any] = []
    timer = threading.Timer(0.5, lambda: restarted.append(start_redis(tmp_path / "redis", port=port)))
    timer.start()
    try:
        pub.publish("pram.rice", JOB[:-1] + "f")
        timer.join()
        redis = celery.connection_for_write().default_channel.client
        ids = [_decoded(raw)["headers"]["id"] for raw in redis.lrange(celery.conf.task_default_queue, 0, -1)]
        assert JOB[:-1] + "f" in ids
    finally:
        timer.join()
        for proc2, _ in restarted:
            stop(proc2)


def test_routed_tasks_go_through_send_task(broker: Any) -> None:
    celery, redis = broker
    celery.conf.task_routes = {"pram.rice": {"queue": "elsewhere"}}
    pub = Publisher(celery)
    assert not pub.direct
    pub.publish("pram.rice", JOB)
    assert redis.llen("elsewhere") == 1


def test_a_published_job_runs(client: Any) -> None:
    """Through the gateway, the worker takes the message and runs the job."""
    answer = client.post("/pram/rice", json={"inputs": {"mai": 0.056, "area": 10000, "dsed": 0.01,
                                                         "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}})
    assert answer.status_code == 202
    record = wait_for(client, answer.get_json()["job_id"], prefix="/pram")
    assert record["status"] == "SUCCESS"
    assert abs(record["data"]["outputs"]["out_cw"]["0"] - 27.5184) < 1e-3


def _clients(redis: Any) -> int:
    return len(redis.client_list())


def test_channels_are_reused_across_threads_that_come_and_go(broker: Any) -> None:
    """One channel per publish in flight, not per thread (or greenlet) ever seen: 60
    short-lived threads one after another open one broker connection between them."""
    celery, redis = broker
    pub = Publisher(celery)
    pub.publish("pram.rice", JOB)
    before = _clients(redis)
    for i in range(60):
        t = threading.Thread(target=pub.publish, args=("pram.rice", f"{JOB[:-4]}{i:04d}"))
        t.start()
        t.join()
    assert _clients(redis) <= before + 1
    assert redis.llen(celery.conf.task_default_queue) == 61


def test_both_paths_write_the_same_message(broker: Any) -> None:
    """QED_PUBLISH=send_task (the plain path) and direct (the default) queue one message."""
    celery, redis = broker
    queue = celery.conf.task_default_queue
    plain = publisher(celery, direct=False)
    assert not plain.direct and publisher(celery).direct
    publisher(celery).publish("pram.rice", JOB)
    plain.publish("pram.rice", JOB)
    ours, celerys = (_decoded(raw) for raw in reversed(redis.lrange(queue, 0, -1)))
    for message in (ours, celerys):
        assert message["properties"].pop("delivery_tag")
        assert message["properties"].pop("reply_to")
    assert ours == celerys


def test_each_job_gets_its_own_message_from_the_tasks_template(broker: Any) -> None:
    """A task's message is written once and then filled in for each job: every message
    names its own job alone, has its own delivery tag, and is send_task's message for
    that job; an id JSON would escape is written the long way, and is send_task's too."""
    celery, redis = broker
    queue = celery.conf.task_default_queue
    ids = [f"{JOB[:-4]}{i:04d}" for i in range(3)] + ['job "quoted" \\ \u00e9']
    for job_id in ids:
        publisher(celery).publish("pram.rice", job_id)
        celery.send_task("pram.rice", args=[job_id], task_id=job_id)
    raw = list(reversed(redis.lrange(queue, 0, -1)))
    assert not any(b"stand0in" in r for r in raw)
    decoded = [_decoded(r) for r in raw]
    tags = {m["properties"]["delivery_tag"] for m in decoded}
    assert len(tags) == len(decoded)
    for job_id, (ours, celerys) in zip(ids, zip(decoded[0::2], decoded[1::2])):
        for message in (ours, celerys):
            message["properties"].pop("delivery_tag")
            message["properties"].pop("reply_to")
        assert ours == celerys
        assert ours["headers"]["id"] == ours["headers"]["root_id"] == job_id
        assert ours["body"][0] == [job_id] and ours["properties"]["correlation_id"] == job_id


def test_what_a_publish_signal_is_sent_is_the_jobs_own(broker: Any) -> None:
    """A receiver that changes what it is sent changes nothing of the next job's."""
    from celery import signals
    celery, _ = broker
    seen: list[tuple[str, str, Any]] = []

    def before(headers: dict, properties: dict, body: Any, **_: Any) -> None:
        seen.append((headers["id"], properties["correlation_id"], body[0]))
        headers["stamps"]["mark"] = 1
        headers["timelimit"].append(9)
        body[2]["chain"] = "changed"

    signals.before_task_publish.connect(before, weak=False)
    try:
        publisher(celery).publish("pram.rice", JOB)
        publisher(celery).publish("pram.rice", JOB[:-1] + "f")
    finally:
        signals.before_task_publish.disconnect(before)
    assert seen == [(JOB, JOB, [JOB]), (JOB[:-1] + "f",) * 2 + ([JOB[:-1] + "f"],)]
    template = publisher(celery)._templates["pram.rice"]
    assert template.headers["stamps"] == {} and template.headers["timelimit"] == [None, None]
    assert template.embed["chain"] is None


def test_a_message_names_the_thread_that_sent_it_and_keeps_what_a_receiver_added(broker: Any) -> None:
    """Each thread's messages reply to that thread, as send_task's do; a header a
    before_task_publish receiver adds (a tracing tool's) is queued with the message."""
    from celery import signals
    celery, redis = broker
    queue = celery.conf.task_default_queue
    oids: dict[str, str] = {}
    both = threading.Barrier(2)  # alive at once: two threads, two idents

    def send(job_id: str) -> None:
        both.wait()
        oids[job_id] = celery.thread_oid
        publisher(celery).publish("pram.rice", job_id)
        both.wait()

    threads = [threading.Thread(target=send, args=(f"{JOB[:-1]}{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(oids.values())) == 2
    sent = {m["headers"]["id"]: m["properties"]["reply_to"]
            for m in (_decoded(raw) for raw in redis.lrange(queue, 0, -1))}
    assert sent == oids

    def trace(headers: dict, properties: dict, **_: Any) -> None:
        headers["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        properties["priority"] = 0
    redis.delete(queue)
    signals.before_task_publish.connect(trace, weak=False)
    try:
        publisher(celery).publish("pram.rice", JOB)
        celery.send_task("pram.rice", args=[JOB], task_id=JOB)
    finally:
        signals.before_task_publish.disconnect(trace)
    publisher(celery).publish("pram.rice", JOB[:-1] + "f")  # no receiver now: from the template again
    ours, celerys, after = (_decoded(raw) for raw in reversed(redis.lrange(queue, 0, -1)))
    assert ours["headers"]["traceparent"] == celerys["headers"]["traceparent"]
    assert "traceparent" not in after["headers"]
    for message in (ours, celerys):
        message["properties"].pop("delivery_tag")
    assert ours == celerys


def test_a_job_queued_by_send_task_runs(own_stack: Any) -> None:
    stack = own_stack(QED_PUBLISH="send_task")
    client = stack["client"]
    answer = client.post("/pram/rice", json={"inputs": {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300,
                                                         "dw": 0.1, "osed": 0.509, "kd": 757}},
                         headers={"Prefer": "wait=5"})
    job_id = answer.get_json()["job_id"]
    from tests.conftest import wait_for
    assert wait_for(client, job_id)["status"] == "SUCCESS"


def test_a_channel_whose_connection_is_gone_fails_as_a_lost_connection(broker: Any) -> None:
    """A worker acking a finished task while it closes a connection to a broker that went
    away: the channel's pool, made again, has no connection to be made from. That is a
    connection error (which the consumer logs before it connects again), not an
    AttributeError (which it dies of, leaving every queued job to another worker)."""
    import redis as redis_py
    celery, _ = broker
    conn = celery.connection_for_write()
    channel = conn.default_channel
    with channel.conn_or_acquire() as client:
        assert client.ping()
    channel._disconnect_pools()  # as kombu leaves a channel whose connection was lost
    transport = channel.connection
    transport.client = None      # and its connection, once closed
    with pytest.raises(redis_py.ConnectionError) as raised:
        with channel.conn_or_acquire():
            pass
    assert isinstance(raised.value, tuple(conn.connection_errors))


def test_with_only_the_projects_receivers_no_signal_is_sent_and_the_job_is_logged_queued(
        broker: Any, caplog: Any, monkeypatch: Any) -> None:
    """The project's own receivers (the "queued" log, the legacy guard) have nothing to do
    for a job the publisher queues but log it: with no other receiver connected, the
    publisher writes that event itself and sends no signal; a receiver of another's brings
    the signals back, and the event is then written once, by the log's receiver."""
    import logging

    from celery import signals

    from flask_qed import brokers
    celery, redis = broker  # create_celery connected the log's receiver
    assert any(key[0] == brokers.QUEUED_LOG for key, _ in signals.after_task_publish.receivers)
    sent: list[str] = []
    for signal in (signals.before_task_publish, signals.after_task_publish):
        monkeypatch.setattr(signal, "send", lambda real=signal.send, **kw: (sent.append(kw["headers"]["id"]),
                                                                             real(**kw))[1])
    assert not brokers.others_listen()
    with caplog.at_level(logging.INFO, logger="flask_qed"):
        publisher(celery).publish("pram.rice", JOB)
    assert sent == []
    queued = [r for r in caplog.records if getattr(r, "event", None) == "queued"]
    assert [(r.job_id, r.task) for r in queued] == [(JOB, "pram.rice")]

    other, seen = "1f8fad5b-d9cb-469f-a165-70867728950e", []

    def theirs(sender: str, headers: dict, **_: Any) -> None:
        seen.append(headers["id"])

    signals.before_task_publish.connect(theirs, weak=False)
    try:
        assert brokers.others_listen()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="flask_qed"):
            publisher(celery).publish("pram.rice", other)
    finally:
        signals.before_task_publish.disconnect(theirs)
    assert seen == [other] and sent == [other, other]  # before and after, as send_task sends them
    assert [r.job_id for r in caplog.records if getattr(r, "event", None) == "queued"] == [other]
    assert redis.llen(celery.conf.task_default_queue) == 2
