"""The gateway's own routes: the index, the OpenAPI document, metrics, liveness and readiness."""
from __future__ import annotations

from typing import Any, Callable

from celery import Celery
from flask import Flask, Response, jsonify, request

from ... import metrics
from ...runtime import Runtime
from ..openapi import openapi_document
from ..security import is_admin


def add_root_routes(root: Flask, runtime: Runtime, celery: Celery,
                    extra_paths: Callable[[], dict[str, Any]] = dict) -> None:
    """``extra_paths``: the OpenAPI paths of the other faces this document describes."""
    @root.get("/")
    def index() -> Any:
        return {"name": "flask_qed", "apps": [
            {"name": a.name, "prefix": a.prefix + "/", "title": a.title or a.name,
             "models": [m.name for m in a.models]} for a in runtime.apps]}

    openapi: dict[str, Any] = {}

    @root.get("/openapi.json")
    def openapi_json() -> Any:
        if not openapi:  # built on first use: describing every model costs a little
            openapi.update(openapi_document(runtime.apps, extra_paths()))
        return openapi

    scrape = metrics.registry(celery)

    @root.get("/metrics")
    def prometheus() -> Any:
        body, content_type = metrics.exposition(scrape)
        return Response(body, content_type=content_type)

    @root.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @root.get("/readyz")
    def readyz() -> Any:
        checks = {"broker": _check(lambda: _ping_broker(celery)), "store": _check(runtime.store.ping)}
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "unavailable",
                                "checks": {k: "ok" if v == "ok" else "down" for k, v in checks.items()}}
        if is_admin(request.environ):  # hosts, paths and errors are for the operator only
            body["details"] = checks
        return jsonify(body), 200 if ready else 503


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as exc:  # readiness reports any failure, it never raises
        return f"down: {type(exc).__name__}: {exc}"[:300]
    return "ok"


def _ping_broker(celery: Celery) -> None:
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
