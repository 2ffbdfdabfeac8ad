"""Schemathesis over the gateway's own ``/openapi.json``: every documented operation,
fed generated and malformed inputs, answers JSON and never 500 (bounded run); and
every route fed hostile bodies (nested past the recursion limit, double-encoded,
out of every range) answers a 4xx JSON error in its face's shape."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from flask_qed.embedded import start_redis
from tests.conftest import make_env, stop

@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The in-process gateway on its own Redis and store; no worker, so generated
    jobs stay queued and cost nothing."""
    from flask_qed.runtime import Runtime
    from flask_qed.tasks import create_celery
    from flask_qed.web import create_gateway
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    redis, url = start_redis(tmp / "redis")
    env = make_env(url, f"sqlite:///{tmp / 'jobs.sqlite3'}", tmp, QED_SYNC_WAIT="0", QED_REST_WAIT="0")
    app = create_gateway(create_celery(Runtime.load(env)))
    yield schemathesis.openapi.from_wsgi("/openapi.json", app)
    stop(redis)


def check(case) -> None:
    response = case.call()
    where = (case.method, case.formatted_path, response.status_code, response.text[:300])
    assert response.status_code != 500, where
    assert response.status_code < 500 or response.status_code == 503, where
    headers = {k.lower(): v for k, v in response.headers.items()}
    content_type = headers.get("content-type", "")
    if isinstance(content_type, list):
        content_type = content_type[0]
    assert content_type.startswith("application/json"), where
    assert "<html" not in response.text[:200].lower()


def test_no_operation_answers_500_or_html(api_schema):
    # schemathesis' strategies driven by hypothesis directly: its pytest decorator
    # does not run under this pytest version.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20  # every model's run and description, and the gateway's routes
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run(operation, mode)


def run(operation, mode, examples: int = 25) -> None:
    """Valid inputs (POSITIVE) and inputs that break the schema (NEGATIVE)."""
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case) -> None:
        check(case)
    try:
        fuzz()
    except Unsatisfiable:
        # An operation with nothing to break (no parameters, no body) has no negative case.
        assert mode is GenerationMode.NEGATIVE, operation.label


PATHS = ["/", "/pram/", "/pram/rice", "/pram/trex", "/pram/data", "/hms/percent_area",
         "/hms/gis/percentage/", "/hms/hydrodynamic/constant_volume/", "/jobs/x", "/jobs/",
         "/readyz", "/openapi.json", "/testing/sleepy", "/nope", "/pram/data/extra", "/%ff", "/jobs/%00",
         "/ogcapi", "/ogcapi/processes/pram.rice/execution", "/ogcapi/processes/hms.percent_area/execution",
         "/ogcapi/jobs", "/ogcapi/jobs/x", "/ogcapi/jobs/x/results", "/ogcapi/processes/x", "/ogcapi/%ff"]


def test_any_method_path_type_and_body_answers_json_never_500(api_schema):
    """Beyond the documented operations: arbitrary methods, paths, content types,
    headers and bodies, sent raw to the WSGI app."""
    from hypothesis import strategies as st
    client = api_schema.app.test_client()
    bodies = st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                       st.sampled_from([b'{"inputs": {}}', b'{"inputs": []}', b'{"inputs": [{}]}',
                                        b'{"inputs": null}', b'[]', b'"x"', b'{"inputs": {"a": {"0": 1}}}',
                                        b'{"inputs": {"geometry": {"type": "Point"}}}', b"\xff\xfe"]))

    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
           path=st.one_of(st.sampled_from(PATHS), st.text(max_size=40).map(lambda t: "/" + t.replace("?", "%3F").replace("#", "%23"))),
           query=st.sampled_from(["", "job_id=", "job_id=x", "task_id=%00", "job_id=" + "a" * 500]),
           content_type=st.sampled_from(["application/json", "multipart/form-data; boundary=x",
                                         "text/plain", "", "application/json; charset=latin-1",
                                         "application/x-www-form-urlencoded"]),
           body=bodies)
    def fuzz(method: str, path: str, query: str, content_type: str, body: bytes) -> None:
        response = client.open(path, method=method, query_string=query, data=body,
                               headers={"Content-Type": content_type} if content_type else {})
        assert response.status_code != 500, (method, path, response.data[:300])
        if method != "HEAD" and response.status_code != 204:
            assert response.mimetype == "application/json", (method, path, response.status_code)
            assert b"<html" not in response.data[:200].lower()
    fuzz()


def test_ogc_operations_answer_json_never_500(api_schema):
    """The same over the OGC API's own OpenAPI 3.0 document (/ogcapi/api)."""
    ogc = schemathesis.openapi.from_wsgi("/ogcapi/api", api_schema.app)
    operations = [result.ok() for result in ogc.get_all_operations()]
    assert len(operations) > 15  # the OGC routes and one execution per process
    for operation in operations:
        # the models' inputs are fuzzed through the native API above; here the OGC layer
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run(operation, mode, examples=6)


# -- hostile bodies on every route -------------------------------------------------------
def _nested(depth: int) -> dict[str, str]:
    """Bodies nested ``depth`` levels deep, where each route reads JSON."""
    array, obj = "[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth
    return {
        f"array {depth}": array, f"object {depth}": obj,
        f"inputs {depth}": '{"inputs": %s}' % array,
        f"input {depth}": '{"inputs": {"mai": %s, "seconds": %s}}' % (array, obj),
        f"column {depth}": '{"inputs": {"mai": {"0": %s}}}' % obj,
        f"qualified {depth}": '{"inputs": {"mai": {"value": %s}}}' % array,
        f"geometry {depth}": '{"inputs": {"geometry": {"type": "Polygon", "coordinates": %s}}}' % array,
        f"beside {depth}": '{"inputs": {"seconds": "x"}, "outputs": %s, "run_type": %s}' % (obj, array),
        f"double {depth}": json.dumps('{"inputs": %s}' % obj),
        f"double bare {depth}": json.dumps(array),
    }


HOSTILE: dict[str, bytes] = {name: text.encode() for depth in (64, 990, 5000, 100_000)
                             for name, text in _nested(depth).items()}
HOSTILE.update({
    "triple": json.dumps(json.dumps(json.dumps({"inputs": {"mai": {"0": "1"}}}))).encode(),
    "double invalid": json.dumps("{").encode(), "double number": json.dumps("1").encode(),
    "long integer": b'{"inputs": {"mai": ' + b"9" * 5000 + b', "seconds": ' + b"9" * 5000 + b"}}",
    "huge exponent": b'{"inputs": {"mai": {"0": 1e999999}, "seconds": -1e999999}}',
    "nan": b'{"inputs": {"mai": NaN, "seconds": Infinity}}',
    "lone surrogate": b'{"inputs": {"mai": "\\ud800", "seconds": "\\udfff"}}',
    "invalid utf-8": b'{"inputs": {"mai": "\xff\xfe", "seconds": "\xc0"}}',
    "nul": b'{"inputs": {"mai": "\\u0000", "\\u0000": 1}}',
    "bom": b'\xef\xbb\xbf{"inputs": {}}',
    "duplicate keys": b'{"inputs": {}, "inputs": [], "inputs": "x"}',
    "long key": b'{"' + b"k" * 100_000 + b'": 1}',
    "many keys": b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(50_000)) + b"}",
    "many runs": b'{"inputs": [' + b",".join([b"{}"] * 50_000) + b"]}",
    "unclosed": b'{"inputs": {"mai": [1, 2', "empty": b"", "blank": b" \n\t ", "null": b"null",
    "string": b'"inputs"', "array": b"[]", "truncated double": b'"{\\"inputs\\": {',
})


def _routes(client) -> list[str]:
    """Every route of the gateway: the documented ones of both API descriptions (path
    parameters filled in), the workbench, the documentation pages and the aliases."""
    fill = {"{model}": "rice", "{jobId}": "20260101000000000000", "{job_id}": "x",
            "{processID}": "pram.rice", "{jobID}": "x"}
    routes = {"/", "/ui/", "/ui/pram/rice", "/ui/pram/rice/template.csv", "/ui/jobs", "/ui/jobs/x",
              "/docs/", "/redoc/", "/metrics", "/hms/gis/percentage/", "/rest/pram/nope/1"}
    for doc, prefix in (("/openapi.json", ""), ("/ogcapi/api", "/ogcapi")):
        for path in client.get(doc).get_json()["paths"]:
            for name, value in fill.items():
                path = path.replace(name, value)
            routes.add(prefix + path)
    return sorted(routes)


def _check_error(path: str, method: str, name: str, response) -> None:
    where = (method, path, name, response.status_code, response.data[:200])
    assert response.status_code < 500, where
    assert 400 <= response.status_code, where  # hostile: never taken as a job or a page
    assert response.mimetype == "application/json", where
    body = json.loads(response.data)
    if path.startswith("/ogcapi/"):
        assert body["status"] == response.status_code and body["type"] and body["detail"], where
    else:
        assert body["code"] == response.status_code and body["message"], where


def test_every_route_refuses_hostile_bodies_with_a_json_error(api_schema):
    """Deeply nested JSON (past Python's recursion limit, also inside a JSON string as
    pram_app double-encodes), numbers past every range, broken text: 4xx with the error
    shape of the route's face, on every route, never a 5xx."""
    client = api_schema.app.test_client()
    routes = _routes(client)
    assert len(routes) > 80 and "/rest/pram/rice/20260101000000000000" in routes
    for path in routes:
        for name, body in HOSTILE.items():
            response = client.post(path, data=body, content_type="application/json")
            _check_error(path, "POST", name, response)
        for method in ("PUT", "PATCH", "DELETE"):
            for name in ("array 100000", "double 990", "long integer"):
                response = client.open(path, method=method, data=HOSTILE[name],
                                        content_type="application/json")
                if method == "DELETE" and response.status_code < 400:  # DELETE takes no body
                    continue
                _check_error(path, method, name, response)
