"""Requests that once made the gateway answer 500, or take what it should refuse, each
answered as its face answers a client's mistake: a time past the calendar in a job
list's filter, a ``Prefer`` wait in digits that are not ASCII, a name given twice in an
OGC execute request or a legacy body. Nothing is submitted for a refused request."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.conftest import wait_for

RICE = {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _since(client: Any, moment: str) -> list[dict[str, Any]]:
    """The jobs submitted since ``moment`` (this process's own client)."""
    return client.get("/jobs", query_string={"since": moment, "limit": 100}).get_json()["jobs"]


EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]  # years 0 and 10000 in UTC


@pytest.mark.parametrize("moment", EDGES)
def test_a_time_past_the_calendar_in_utc_is_a_400_on_both_job_lists(client: Any, moment: str) -> None:
    native = client.get("/jobs", query_string={"since": moment})
    assert native.status_code == 400 and "between the years 1 and 9999" in native.get_json()["message"]
    ogc = client.get("/ogcapi/jobs", query_string={"datetime": moment})
    assert ogc.status_code == 400 and ogc.get_json()["type"].endswith("invalid-query-parameter-value")
    assert client.get("/jobs", query_string={"since": "0001-01-01T00:00:00Z"}).status_code == 200
    assert client.get("/ogcapi/jobs", query_string={"datetime": "0001-01-01T00:00:00Z/.."}).status_code == 200


def test_a_wait_in_digits_that_are_not_ascii_is_no_wait(client: Any) -> None:
    """``wait=²`` is no ``wait=N`` of RFC 7240: the preference is not applied (a 202 on
    the native API), and OGC's execution answers as without it, the job submitted once."""
    since = _now()
    native = client.post("/pram/rice", json={"inputs": {**RICE, "mai": 0.0571}}, headers={"Prefer": "wait=²"})
    assert native.status_code == 202 and "Preference-Applied" not in native.headers
    record = wait_for(client, native.get_json()["job_id"])
    assert client.get(f"/jobs/{record['job_id']}", headers={"Prefer": "wait=³"}).status_code == 200
    ogc = client.post("/ogcapi/processes/pram.rice/execution", json={"inputs": {**RICE, "mai": 0.0572}},
                      headers={"Prefer": "wait=¹"})
    assert ogc.status_code == 200, ogc.get_json()
    assert len(_since(client, since)) == 2


def test_a_name_given_twice_in_an_ogc_execute_request_is_refused_with_nothing_submitted(client: Any) -> None:
    since = _now()
    text = json.dumps({"inputs": RICE})[:-2] + ', "mai": 0.1}}'  # inputs' mai twice
    answer = client.post("/ogcapi/processes/pram.rice/execution", data=text, content_type="application/json")
    assert answer.status_code == 422, answer.get_json()
    assert "mai: named twice in inputs" in answer.get_json()["detail"]
    twice = '{"inputs": %s, "response": "raw", "response": "document"}' % json.dumps(RICE)
    answer = client.post("/ogcapi/processes/pram.rice/execution", data=twice, content_type="application/json")
    assert answer.status_code == 422 and "named twice in the body" in answer.get_json()["detail"]
    lone = client.post("/ogcapi/processes/pram.rice/execution", data='{"inputs": {"mai": "\\ud800"}}',
                       content_type="application/json")
    assert lone.status_code == 400 and "not Unicode text" in lone.get_json()["detail"]
    assert _since(client, since) == []


def test_a_name_given_twice_in_a_legacy_body_is_refused(client: Any) -> None:
    column = {k: {"0": v} for k, v in RICE.items()}
    text = json.dumps({"inputs": column, "run_type": "single"}).replace('{"0": 0.056}', '{"0": 0.056, "0": 0.1}')
    answer = client.post("/rest/pram/rice/legacy-twice", data=text, content_type="application/json")
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["errors"][0]["field"] == "0" and "named twice" in answer.get_json()["errors"][0]["rule"]
    once = client.post("/rest/pram/rice/legacy-once", data=json.dumps({"inputs": column, "run_type": "single"}),
                       content_type="application/json")
    assert once.status_code == 200, once.get_json()


@pytest.mark.parametrize("path", ["/pram/rice", "/ogcapi/processes/pram.rice/execution", "/rest/pram/rice/enc"])
def test_a_compressed_body_is_a_415_naming_its_encoding(client: Any, path: str) -> None:
    import gzip
    packed = gzip.compress(json.dumps({"inputs": RICE}).encode())
    answer = client.post(path, data=packed, content_type="application/json", headers={"Content-Encoding": "gzip"})
    assert answer.status_code == 415 and "Content-Encoding: gzip" in json.dumps(answer.get_json())
    plain = client.post(path, json={"inputs": RICE}, headers={"Content-Encoding": "br"})  # mislabelled
    assert plain.status_code == 415


def test_only_a_yes_or_no_says_mine(client: Any, stack_env: Any) -> None:
    """With keys off every client's jobs are listed; ``mine=1`` lists the caller's alone,
    ``mine=0`` is as if it were not given (it once read as ``mine=1``), anything else a 400."""
    from flask_qed.jobs.record import created_iso
    from flask_qed.stores import open_store
    since = _now()
    open_store(stack_env["QED_STORE_URL"], 3600).create("someone-elses", {
        "app": "pram", "model": "rice", "status": "SUCCESS", "task": "pram.rice", "owner": "203.0.113.9",
        "created": created_iso(), "rows": 1})
    listed = {mine: [j["job_id"] for j in client.get("/jobs", query_string={"since": since, "mine": mine})
                     .get_json()["jobs"]] for mine in ("0", "1", "no", "")}
    assert listed["0"] == listed["no"] == listed[""] == ["someone-elses"] and listed["1"] == []
    bad = client.get("/jobs", query_string={"mine": "perhaps"})
    assert bad.status_code == 400 and "mine" in bad.get_json()["message"]


def test_a_json_bodys_job_takes_on_invalid_and_label_from_the_query_and_refuses_two_values(client: Any) -> None:
    runs = [RICE, {**RICE, "mai": -1}]
    skipped = client.post("/pram/rice?on_invalid=skip&label=from%20the%20query", json={"inputs": runs})
    assert skipped.status_code == 202, skipped.get_json()
    record = wait_for(client, skipped.get_json()["job_id"])
    assert record["label"] == "from the query" and list(record["data"]["errors"]) == ["1"]
    assert client.post("/pram/rice?on_invalid=bogus", json={"inputs": RICE}).status_code == 422
    both = client.post("/pram/rice?on_invalid=skip", json={"inputs": runs, "on_invalid": "fail"})
    assert both.status_code == 422 and both.get_json()["errors"][0]["field"] == "on_invalid"
    same = client.post("/pram/rice?label=x", json={"inputs": RICE, "label": "x"})
    assert same.status_code == 202


def test_a_result_sent_by_reference_alone_is_a_204_without_a_content_type(client: Any) -> None:
    answer = client.post("/ogcapi/processes/pram.rice/execution", headers={"Prefer": "wait=10"},
                         json={"inputs": {**RICE, "mai": 0.0573}, "outputs": {"out_cw": {"transmissionMode": "reference"}}})
    assert answer.status_code == 204 and "Content-Type" not in answer.headers and answer.headers["Link"]


def test_a_csv_body_may_begin_with_blank_lines(client: Any) -> None:
    head = ",".join(RICE)
    answer = client.post("/pram/rice", data="\r\n\n" + head + "\n" + ",".join(map(str, RICE.values())) + "\n",
                         content_type="text/csv")
    assert answer.status_code == 202, answer.get_json()
    assert wait_for(client, answer.get_json()["job_id"])["status"] == "SUCCESS"


def test_an_output_format_the_process_cannot_give_is_a_400(client: Any) -> None:
    since = _now()
    for fmt in ({"mediaType": "image/png"}, "png", {"mediaType": 5}):
        answer = client.post("/ogcapi/processes/pram.rice/execution",
                             json={"inputs": RICE, "outputs": {"out_cw": {"format": fmt}}})
        assert answer.status_code == 400, (fmt, answer.get_json())
    assert _since(client, since) == []
    fine = client.post("/ogcapi/processes/pram.rice/execution", json={
        "inputs": {**RICE, "mai": 0.0574}, "outputs": {"out_cw": {"format": {"mediaType": "application/json"}}}})
    assert fine.status_code == 200, fine.get_json()


def test_a_process_page_past_the_end_links_back_to_the_last_page(client: Any) -> None:
    total = len(client.get("/ogcapi/processes", query_string={"limit": 1000}).get_json()["processes"])
    page = client.get("/ogcapi/processes", query_string={"limit": 10, "offset": 99999}).get_json()
    assert page["processes"] == []
    prev, = [link["href"] for link in page["links"] if link["rel"] == "prev"]
    last = client.get(prev).get_json()["processes"]
    assert 1 <= len(last) <= 10 and f"offset={(total - 1) // 10 * 10}" in prev
