"""The native job routes beyond polling: list, status only, results alone (JSON and CSV)."""
from __future__ import annotations

import csv
import io

from tests.conftest import wait_for
from tests.web.test_security import RICE, bearer, keyed  # noqa: F401 - keyed is a fixture

ROWS = [dict(RICE, mai=m) for m in (0.5, 1.5, 4.5)]


def submit(client, path: str, inputs, **kw) -> str:
    response = client.post(path, json={"inputs": inputs}, **kw)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def test_status_is_the_record_without_data(client):
    job_id = submit(client, "/pram/rice", ROWS)
    done = wait_for(client, job_id)
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["status"] == "SUCCESS" and "data" not in status
    assert {k: v for k, v in done.items() if k != "data"} == status
    assert client.get("/jobs/nope/status").status_code == 404


def test_results_alone_as_json_and_csv(client):
    job_id = submit(client, "/pram/rice", ROWS)
    done = wait_for(client, job_id)
    as_json = client.get(f"/jobs/{job_id}/results")
    assert as_json.status_code == 200 and as_json.get_json() == done["data"]
    as_csv = client.get(f"/jobs/{job_id}/results", headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [row["run"] for row in table] == ["0", "1", "2"]
    for row in table:
        assert float(row["mai"]) == done["data"]["inputs"]["mai"][row["run"]]
        assert float(row["out_cw"]) == done["data"]["outputs"]["out_cw"][row["run"]]
    assert client.get(f"/jobs/{job_id}/results?f=csv").get_data() == as_csv.get_data()


def test_results_before_the_end_or_not_a_table(client):
    slow = submit(client, "/testing/sleepy", {"seconds": 3})
    early = client.get(f"/jobs/{slow}/results")
    assert early.status_code == 409 and "no results" in early.get_json()["message"]
    wait_for(client, slow)
    not_table = client.get(f"/jobs/{slow}/results", headers={"Accept": "text/csv"})
    assert not_table.status_code == 406
    failed = submit(client, "/testing/sleepy", {"seconds": 0, "fail": True})
    wait_for(client, failed)
    answer = client.get(f"/jobs/{failed}/results").get_json()
    assert "FAILURE" in answer["message"] and "asked to fail" in answer["message"]


def test_listing_filters_and_pages_newest_first(own_stack):
    client = own_stack()["client"]
    made = [submit(client, "/pram/rice", RICE) for _ in range(5)]
    made += [submit(client, "/testing/sleepy", {"seconds": 0}) for _ in range(2)]
    for job_id in made:
        wait_for(client, job_id)
    listed = client.get("/jobs?limit=100").get_json()
    assert [j["job_id"] for j in listed["jobs"]] == made[::-1] and listed["next"] is None
    assert all("data" not in j for j in listed["jobs"])
    rice = client.get("/jobs?app=pram&model=rice&status=success").get_json()["jobs"]
    assert [j["job_id"] for j in rice] == made[4::-1]
    seen, url = [], "/jobs?limit=2"
    while url:
        page = client.get(url).get_json()
        assert len(page["jobs"]) <= 2
        seen += [j["job_id"] for j in page["jobs"]]
        url = page["next"]
    assert seen == made[::-1]
    # since is inclusive, at the records' millisecond precision: two jobs submitted in
    # the same millisecond are both on or after it.
    times = {job_id: client.get(f"/jobs/{job_id}").get_json()["created"] for job_id in made}
    since = times[made[3]]
    expected = [job_id for job_id in made[::-1] if times[job_id] >= since]
    assert made[:2:-1] == expected[:len(made) - 3] and all(times[j] == since for j in expected[len(made) - 3:])
    assert [j["job_id"] for j in client.get(f"/jobs?since={since}").get_json()["jobs"]] == expected
    for bad in ("limit=0", "limit=x", "status=DONE", "since=yesterday", "cursor=%%%"):
        answer = client.get(f"/jobs?{bad}")
        assert answer.status_code == 400, bad


def test_with_keys_each_client_lists_only_its_own_jobs(keyed):
    client, k = keyed["client"], keyed["keys"]
    alices = [submit(client, "/pram/rice", RICE, headers=bearer(k["alice"])) for _ in range(2)]
    bobs = [submit(client, "/pram/rice", RICE, headers=bearer(k["bob"]))]
    listing = lambda key: [j["job_id"] for j in client.get("/jobs", headers=bearer(key)).get_json()["jobs"]]  # noqa: E731
    assert listing(k["alice"]) == alices[::-1]
    assert listing(k["bob"]) == bobs
    assert set(listing(k["admin"])) == set(alices + bobs)
    assert client.get(f"/jobs/{alices[0]}/status", headers=bearer(k["bob"])).status_code == 404
    assert client.get(f"/jobs/{alices[0]}/results", headers=bearer(k["bob"])).status_code == 404
