"""Job provenance (flask_qed.jobs.prov): ``/jobs/<id>/prov`` and ``/ogcapi/jobs/<id>/prov``
answer W3C PROV-JSON, read back here with the ``prov`` package (the W3C data model's
reference implementation in Python), for jobs run by a real worker."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from typing import Any

import numpy
import pyproj
import shapely
from prov.model import (PROV_ATTR_ACTIVITY, PROV_ATTR_AGENT, PROV_ATTR_ENDTIME, PROV_ATTR_ENTITY,
                        PROV_ATTR_GENERATED_ENTITY, PROV_ATTR_PLAN, PROV_ATTR_STARTTIME,
                        PROV_ATTR_USED_ENTITY, ProvActivity, ProvAgent, ProvAssociation, ProvDerivation,
                        ProvDocument, ProvEntity, ProvGeneration, ProvUsage)

from flask_qed.jobs import prov as provenance
from flask_qed.jobs.fingerprint import fingerprint
from flask_qed.version import __version__
from tests.conftest import wait_for
from tests.jobs.conftest import Authed, post

NS = "urn:flask-qed:"


def read_back(client: Any, url: str) -> tuple[ProvDocument, dict[str, Any]]:
    answer = client.get(url)
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == "application/json"
    text = answer.get_data(as_text=True)
    document = ProvDocument.deserialize(content=text, format="json")
    # a real round trip: written again by the library and read again, the same document
    assert ProvDocument.deserialize(content=document.serialize(format="json"), format="json") == document
    return document, json.loads(text)


def records(document: ProvDocument, kind: type) -> list[Any]:
    return [r for r in document.get_records(kind)]


def ident(record: Any, attribute: Any) -> str | None:
    value = record.get_attribute(attribute)
    return str(next(iter(value)).uri) if value else None


def attr(record: Any, name: str) -> Any:
    values = [v for k, v in record.attributes if k.uri == NS + name]
    return values[0] if values else None


def by_id(document: ProvDocument, kind: type, uri: str) -> Any:
    found = [r for r in records(document, kind) if r.identifier.uri == uri]
    assert len(found) == 1, (uri, [r.identifier.uri for r in records(document, kind)])
    return found[0]


def test_a_run_job_says_what_ran_it(stacks, tmp_path):
    client = stacks("open").client
    inputs = {"seconds": 0.25, "marker": str(tmp_path / "runs")}
    done = wait_for(client, post(client, inputs)["job_id"])
    job = done["job_id"]
    document, body = read_back(client, f"/jobs/{job}/prov")
    assert set(body) >= {"prefix", "entity", "activity", "agent", "used", "wasGeneratedBy", "wasAssociatedWith"}

    run = by_id(document, ProvActivity, f"{NS}job:{job}")
    started, finished = (datetime.fromisoformat(done[k].replace("Z", "+00:00")) for k in ("started", "finished"))
    assert next(iter(run.get_attribute(PROV_ATTR_STARTTIME))) == started
    assert next(iter(run.get_attribute(PROV_ATTR_ENDTIME))) == finished
    assert attr(run, "attempts") == 1 and attr(run, "status") == "SUCCESS"

    # the inputs, by their fingerprint: the one the gateway computes for these inputs
    key = fingerprint("testing", "sleepy", "1", __version__,
                      {"seconds": 0.25, "marker": inputs["marker"], "fail": False, "stubborn": False})
    [usage] = records(document, ProvUsage)
    assert ident(usage, PROV_ATTR_ACTIVITY) == run.identifier.uri
    assert ident(usage, PROV_ATTR_ENTITY) == f"{NS}inputs:{key}"
    assert attr(by_id(document, ProvEntity, f"{NS}inputs:{key}"), "fingerprint") == key

    [generation] = records(document, ProvGeneration)
    assert ident(generation, PROV_ATTR_ENTITY) == f"{NS}job:{job}/result"
    assert ident(generation, PROV_ATTR_ACTIVITY) == run.identifier.uri

    # the worker host, with the library versions it ran with, and the model as the plan
    associations = records(document, ProvAssociation)
    hosts = [a for a in associations if ident(a, PROV_ATTR_AGENT).startswith(f"{NS}host:")]
    assert len(hosts) == 1 and ident(hosts[0], PROV_ATTR_PLAN) == f"{NS}model:testing/sleepy/1"
    worker = by_id(document, ProvAgent, ident(hosts[0], PROV_ATTR_AGENT))
    assert attr(worker, "numpy") == numpy.__version__ and attr(worker, "shapely") == shapely.__version__
    assert attr(worker, "pyproj") == pyproj.__version__
    assert attr(worker, "gdal") and attr(worker, "worker").startswith("celery@")
    project = by_id(document, ProvAgent, f"{NS}software:flask_qed/{__version__}")
    assert attr(project, "version") == __version__
    plan = by_id(document, ProvEntity, f"{NS}model:testing/sleepy/1")
    assert attr(plan, "app") == "testing" and attr(plan, "modelVersion") == "1"
    assert "wasDerivedFrom" not in body  # it ran itself

    # the OGC face answers the same document
    assert client.get(f"/ogcapi/jobs/{job}/prov").get_json() == body


def test_a_cache_hit_is_derived_from_the_job_that_ran(stacks, tmp_path):
    client = stacks("open").client
    inputs = {"seconds": 0, "marker": str(tmp_path / "runs")}
    first = wait_for(client, post(client, inputs)["job_id"])["job_id"]
    hit = post(client, inputs)
    assert hit["cached_from"] == first
    document, body = read_back(client, f"/jobs/{hit['job_id']}/prov")
    [derivation] = records(document, ProvDerivation)
    assert ident(derivation, PROV_ATTR_GENERATED_ENTITY) == f"{NS}job:{hit['job_id']}/result"
    assert ident(derivation, PROV_ATTR_USED_ENTITY) == f"{NS}job:{first}/result"
    # the run it came from is described: generated by the first job, on a worker
    generated = {ident(g, PROV_ATTR_ENTITY): ident(g, PROV_ATTR_ACTIVITY) for g in records(document, ProvGeneration)}
    assert generated[f"{NS}job:{first}/result"] == f"{NS}job:{first}"
    original = by_id(document, ProvActivity, f"{NS}job:{first}")
    assert attr(original, "attempts") == 1
    agents = {ident(a, PROV_ATTR_ACTIVITY): ident(a, PROV_ATTR_AGENT) for a in records(document, ProvAssociation)
              if ident(a, PROV_ATTR_AGENT).startswith(f"{NS}host:")}
    assert set(agents) == {f"{NS}job:{first}"}  # the hit itself ran on no worker
    # both used the same inputs
    assert len({ident(u, PROV_ATTR_ENTITY) for u in records(document, ProvUsage)}) == 1
    assert client.get(f"/ogcapi/jobs/{hit['job_id']}/prov").get_json() == body


def test_an_upload_is_known_by_its_bytes(stacks):
    client = stacks("open").client
    square = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"COMID": 1}, "geometry": {
        "type": "Polygon", "coordinates": [[[-90, 35], [-89.875, 35], [-89.875, 35.125], [-90, 35.125], [-90, 35]]]}}]}
    content = json.dumps(square).encode()

    def upload(data: bytes) -> dict[str, Any]:
        answer = client.post("/hms/percent_area", content_type="multipart/form-data",
                             data={"grid": "nldas", "geometry": (io.BytesIO(data), "catch.geojson")})
        assert answer.status_code == 202, answer.get_json()
        return answer.get_json()

    first = upload(content)
    assert wait_for(client, first["job_id"])["status"] == "SUCCESS"
    document, _ = read_back(client, f"/jobs/{first['job_id']}/prov")
    digest = hashlib.sha256(content).hexdigest()
    uploaded = by_id(document, ProvEntity, f"urn:hash::sha256:{digest}")
    assert attr(uploaded, "field") == "geometry"
    [derivation] = records(document, ProvDerivation)  # the inputs were read out of the file
    assert ident(derivation, PROV_ATTR_USED_ENTITY) == uploaded.identifier.uri
    assert upload(content)["cached_from"] == first["job_id"]  # the same bytes: the same job
    respaced = upload(json.dumps(square, indent=2).encode())  # the same shape, other bytes
    assert "cached_from" not in respaced


def test_provenance_is_its_owners_alone(stacks, keyfile_path, tmp_path):
    path, keys = keyfile_path
    stack = stacks("owner", QED_API_KEYS_FILE=str(path))
    alice, bob = Authed(stack.client, keys["alice"]), Authed(stack.client, keys["bob"])
    job = wait_for(alice, post(alice, {"seconds": 0, "marker": str(tmp_path / "runs")})["job_id"])["job_id"]
    for url in (f"/jobs/{job}/prov", f"/ogcapi/jobs/{job}/prov"):
        assert alice.get(url).status_code == 200
        assert bob.get(url).status_code == 404
        assert stack.client.get(url).status_code == 401
        assert alice.get(url.replace(job, "0" * 36)).status_code == 404


def test_the_document_of_a_job_not_yet_run():
    record = {"job_id": "j1", "app": "pram", "model": "rice", "version": "1.0", "task": "pram.rice",
              "status": "PENDING", "created": "2026-01-01T00:00:00.000Z", "attempts": 0,
              "fingerprint": "ab" * 32, "uploads": {"geometry": "cd" * 32}}
    body = provenance.document(record)
    document = ProvDocument.deserialize(content=json.dumps(body), format="json")
    assert [u.identifier.uri for u in records(document, ProvEntity)
            if u.identifier.uri.endswith("cd" * 32)] == ["urn:hash::sha256:" + "cd" * 32]
    assert records(document, ProvGeneration) == [] and "wasGeneratedBy" not in body
    [run] = records(document, ProvActivity)
    assert not run.get_attribute(PROV_ATTR_STARTTIME) and attr(run, "status") == "PENDING"
