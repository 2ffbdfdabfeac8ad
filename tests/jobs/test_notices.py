"""Waiting for a job: woken by the worker's notice, with the store as the fallback;
``Prefer: wait=N`` on the native API (submit, and a long poll of /jobs/<id>)."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from flask_qed.jobs import notices, waiting
from tests.conftest import stop

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def test_an_announced_job_wakes_the_request_watching_it(redis_url: str) -> None:
    ears = notices.listener(redis_url)
    assert ears is not None and ears.connected.wait(10)
    with ears.watch("job-a") as a, ears.watch("job-b") as b:
        notices.announce(redis_url, "job-a")
        assert a.wait(10)
        assert not b.is_set()  # only the job announced


def test_notices_go_on_after_the_broker_restarts(tmp_path: Any) -> None:
    """The worker keeps one connection for its notices and the gateway one subscription:
    when Redis restarts, the notice sent meanwhile is lost (never raised); the next ones
    reconnect and are heard by the listener, which subscribes again on its own."""
    from flask_qed.embedded import start_redis

    server, url = start_redis(tmp_path / "redis", tied=True)
    try:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        ears = notices.listener(url)
        assert ears is not None and ears.connected.wait(10)
        with ears.watch("before") as before:
            notices.announce(url, "before")
            assert before.wait(10)
        stop(server)
        notices.announce(url, "while-down")  # lost, not raised
        server, _ = start_redis(tmp_path / "redis", port=port, tied=True)
        heard = False
        with ears.watch("after") as after:
            deadline = time.monotonic() + 20
            while not heard and time.monotonic() < deadline:  # until the listener is back
                notices.announce(url, "after")
                heard = after.wait(0.5)
        assert heard
    finally:
        stop(server)


def test_without_a_redis_broker_there_are_no_notices() -> None:
    assert notices.listener("amqp://guest:guest@127.0.0.1:5672//") is None
    notices.announce("amqp://guest:guest@127.0.0.1:5672//", "job")  # nothing to tell, no error


def test_a_waiting_request_is_woken_by_the_notice_not_the_fallback_read(
        client: Any, gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every read of the store but the first pushed to 60 s, a wait still ends as
    soon as the worker finishes the job: the notice woke it."""
    for slow in ("FALLBACK", "_FIRST_PAUSE", "_LONGEST_PAUSE"):  # reading the store would take a minute
        monkeypatch.setattr(waiting, slow, 60.0)
    runtime = gateway.extensions["qed"]
    ears = notices.listener(runtime.settings.redis_url)
    assert ears is not None and ears.connected.wait(10)
    job_id = client.post("/pram/rice", json={"inputs": RICE}).get_json()["job_id"]
    started = time.monotonic()
    record = waiting.wait_for_job(runtime, job_id, 50)
    assert record["status"] == "SUCCESS"
    assert time.monotonic() - started < 30  # far below the 60 s a missed notice would cost


def test_prefer_wait_answers_the_finished_job(client: Any) -> None:
    answer = client.post("/pram/rice", json={"inputs": RICE}, headers={"Prefer": "wait=5"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Preference-Applied"] == "wait=5"
    body = answer.get_json()
    assert body["status"] == "SUCCESS" and body["data"]["outputs"]["out_cw"]["0"] == pytest.approx(27.5184, rel=1e-5)
    # the same body as the poll route gives
    assert client.get(f"/pram/data?job_id={body['job_id']}").get_json() == body
    plain = client.post("/pram/rice", json={"inputs": RICE})
    assert plain.status_code == 202 and "Preference-Applied" not in plain.headers


def test_prefer_wait_on_a_queue_that_does_not_move(own_stack: Any) -> None:
    """No worker: the submission waits N s and answers 202 (the wait was honoured), and a
    long poll of /jobs/<id> answers the job as it is after N s; wait is capped by QED_SYNC_WAIT."""
    stack = own_stack(QED_SYNC_WAIT="1")
    stop(stack["worker"])
    client = stack["client"]
    started = time.monotonic()
    answer = client.post("/pram/rice", json={"inputs": RICE}, headers={"Prefer": "wait=30"})
    assert answer.status_code == 202 and answer.headers["Preference-Applied"] == "wait=1"
    assert time.monotonic() - started < 20  # capped at QED_SYNC_WAIT, not the 30 asked for
    job_id = answer.get_json()["job_id"]
    polled = client.get(f"/jobs/{job_id}/status", headers={"Prefer": "wait=1"})
    assert polled.status_code == 200 and polled.get_json()["status"] == "PENDING"
    assert polled.headers["Preference-Applied"] == "wait=1"


def test_a_long_poll_returns_when_the_job_ends(client: Any) -> None:
    job_id = client.post("/pram/rice", json={"inputs": RICE}).get_json()["job_id"]
    seen: list[Any] = []
    poll = threading.Thread(target=lambda: seen.append(
        client.get(f"/jobs/{job_id}", headers={"Prefer": "wait=30"})))
    poll.start()
    poll.join(60)
    assert seen and seen[0].status_code == 200 and seen[0].get_json()["status"] == "SUCCESS"


def test_a_notice_addressed_to_this_process_wakes_its_request(redis_url: str) -> None:
    ears = notices.listener(redis_url)
    assert ears is not None and ears.connected.wait(10)
    assert ears.hears(notices.address()) and ears.hears(None)
    with ears.watch("job-mine") as mine:
        notices.announce(redis_url, "job-mine", notices.address())
        assert mine.wait(10)


def test_a_notice_addressed_to_another_process_is_heard_only_while_asked_for(redis_url: str) -> None:
    """Another process's notices are not read here (each gateway process parses only its
    own), unless a request waits for a job addressed there: then every channel is heard,
    from the confirmed subscription until the last such wait ends."""
    ears = notices.listener(redis_url)
    assert ears is not None and ears.connected.wait(10)
    elsewhere = "0123456789abcdef"
    assert not ears.hears(elsewhere)
    with ears.watch("job-x") as x:
        notices.announce(redis_url, "job-x", elsewhere)
        assert not x.wait(0.5)  # not heard: another process's channel
        with ears.hearing_all() as confirmed:
            assert confirmed
            notices.announce(redis_url, "job-x", elsewhere)
            assert x.wait(10)
    with ears.watch("job-y") as y:  # the pattern dropped with the last wait that needed it
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the unsubscription has taken effect
            y.clear()
            notices.announce(redis_url, "job-y", elsewhere)
            if not y.wait(0.3):
                break
        assert not y.is_set()


def test_a_wait_submitted_here_is_addressed_here_and_a_foreign_one_still_wakes(
        client: Any, gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Prefer: wait`` writes this process's address in the record (its notice comes here
    alone); a request here that waits for a job addressed to another process is woken by
    that job's notice too, not by a read of the store (pushed to a minute here: a missed
    notice would wait out the 10 s asked for)."""
    runtime = gateway.extensions["qed"]
    answer = client.post("/pram/rice", json={"inputs": RICE}, headers={"Prefer": "wait=10"})
    assert answer.status_code == 200
    stored = runtime.store.get(answer.get_json()["job_id"], data=False)
    assert stored["notify"] == notices.address() and "notify" not in answer.get_json()
    plain = client.post("/pram/rice", json={"inputs": {**RICE, "area": 10001}}).get_json()["job_id"]
    assert "notify" not in runtime.store.get(plain, data=False)
    for slow in ("FALLBACK", "_FIRST_PAUSE", "_LONGEST_PAUSE"):
        monkeypatch.setattr(waiting, slow, 60.0)
    ears = notices.listener(runtime.settings.redis_url)
    assert ears is not None and ears.connected.wait(10)
    monkeypatch.setattr(notices, "address", lambda: "another0process00")  # as if submitted elsewhere
    assert not ears.hears(notices.address())
    started = time.monotonic()
    answer = client.post("/pram/rice", json={"inputs": {**RICE, "area": 10002}}, headers={"Prefer": "wait=10"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "SUCCESS"
    assert time.monotonic() - started < 5  # woken; unheard, it would have waited the whole 10 s
    assert runtime.store.get(answer.get_json()["job_id"], data=False)["notify"] == "another0process00"


def test_a_notice_heard_before_its_watch_is_set_still_wakes_it(redis_url: str) -> None:
    """A job may end before the request that waits for it has set its watch: the listener
    keeps the ids of notices no one waited for, and a watch set after its notice is set."""
    ears = notices.listener(redis_url)
    assert ears is not None and ears.connected.wait(10)
    with ears.watch("job-sentinel") as sentinel:
        notices.announce(redis_url, "job-early")   # no one watches it yet
        notices.announce(redis_url, "job-sentinel")
        assert sentinel.wait(10)  # notices come in order: job-early's has been heard
    with ears.watch("job-early") as early:
        assert early.is_set()
    with ears.watch("job-never") as never:
        assert not never.wait(0.3)


def test_an_expected_job_is_known_unheard_only_while_the_subscription_holds(redis_url: str) -> None:
    """``expected``: queued by this process for its own wait, addressed here, and every
    notice heard since (the subscription not broken meanwhile); asked once."""
    import socket

    ears = notices.listener(redis_url)
    assert ears is not None and ears.connected.wait(10)
    ears.expect("job-1", notices.address())
    assert ears.expected("job-1")
    assert not ears.expected("job-1")  # asked once
    assert not ears.expected("job-never-expected")
    ears.expect("job-2", "0123456789abcdef")  # addressed to another process: not heard here
    assert not ears.expected("job-2")
    ears.expect("job-3", notices.address())
    ears._conn._sock.shutdown(socket.SHUT_RDWR)  # the listener's connection broken (its alone)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and ears.connected.is_set():
        time.sleep(0.01)
    assert ears.connected.wait(20)  # subscribed again: a notice may have been lost meanwhile
    assert not ears.expected("job-3")


def test_a_waited_submission_reads_the_store_once_when_its_notice_comes(
        client: Any, gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A submission that waits is expected by its process's listener: its record is not read
    before its notice (it was PENDING when queued), then once. The reads after the first
    are pushed to a minute: a notice missed would show as a wait of the whole 20 s."""
    runtime = gateway.extensions["qed"]
    ears = notices.listener(runtime.settings.redis_url)
    assert ears is not None and ears.connected.wait(10)
    for slow in ("FALLBACK", "_FIRST_PAUSE", "_LONGEST_PAUSE"):
        monkeypatch.setattr(waiting, slow, 60.0)
    reads: list[str] = []
    real_get = runtime.store.get

    def counted_get(job_id: str, **kwargs: Any) -> Any:
        reads.append(job_id)
        return real_get(job_id, **kwargs)

    monkeypatch.setattr(runtime.store, "get", counted_get)
    for n in range(3):
        reads.clear()
        started = time.monotonic()
        answer = client.post("/pram/rice", json={"inputs": {**RICE, "area": 20000 + n}},
                             headers={"Prefer": "wait=20", "Cache-Control": "no-cache"})
        assert answer.status_code == 200 and answer.get_json()["status"] == "SUCCESS"
        assert time.monotonic() - started < 15
        assert reads == [answer.get_json()["job_id"]], reads
