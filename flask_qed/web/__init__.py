"""The gateway: the composition root of the web faces.

Every face is a sibling over the jobs service (:mod:`flask_qed.jobs`) and says
what it mounts; this module only puts them together, in two declared lists:

* ``FACES`` — what answers under which prefix: the native API (the root app,
  ``/jobs`` and every science app under its prefix), pram_flask's ``/rest``
  routes, OGC API – Processes at ``/ogcapi``, the workbench at ``/ui`` and the
  API documentation at ``/docs`` and ``/redoc``;
* ``LAYERS`` — the WSGI middleware around all of them, innermost first: the
  front door (keys, rate, security headers), a browser's ``GET /`` sent to the
  workbench, chunked bodies counted against the limit, the trusted proxies'
  ``X-Forwarded-*``, and the HTTP metrics outermost.
"""
from __future__ import annotations

from typing import Any, Callable

from celery import Celery
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import metrics
from ..runtime import Runtime, runtime_of
from ..tasks import create_celery
from . import api, docs, ogc, rest_compat, ui
from .body_limit import ChunkedBodyLimit
from .errors import error_response
from .flaskapp import new_app
from .security import FrontDoor

# Faces beside the root app: each maps a runtime and the Celery app to {prefix: WSGI app}.
FACES: list[Callable[[Runtime, Celery], dict[str, Any]]] = [rest_compat.mount, ogc.mount, ui.mount, docs.mount]


def _proxied(app: Any, runtime: Runtime, root: Flask) -> Any:
    """The client's address as the trusted proxies saw it (``QED_PROXY_COUNT``)."""
    n = runtime.settings.proxy_count
    return ProxyFix(app, x_for=n, x_proto=n, x_host=n, x_prefix=n) if n else app


# Middleware around every face, innermost first: (app, runtime, root Flask app) -> app.
LAYERS: list[Callable[[Any, Runtime, Flask], Any]] = [
    lambda app, runtime, root: FrontDoor(app, runtime.settings),  # one place for keys, rate, headers
    lambda app, runtime, root: ui.browser_home(app),             # a browser's GET / goes to /ui/
    lambda app, runtime, root: ChunkedBodyLimit(app, root.config),  # a chunked body counted as it comes
    _proxied,
    lambda app, runtime, root: metrics.HttpMetrics(app),
]


def create_gateway(celery: Celery | None = None, runtime: Runtime | None = None) -> Flask:
    """The WSGI app (a Flask app whose ``wsgi_app`` is the whole stack).

    Given a Celery app made by :func:`~flask_qed.tasks.create_celery`, its runtime is
    used; given a runtime alone, a Celery app is made for it; given both, they must
    belong together."""
    if celery is None:
        celery = create_celery(runtime)
    elif runtime is not None and runtime is not runtime_of(celery):
        raise ValueError("create_gateway: this runtime is not the one the Celery app was made with")
    runtime = runtime_of(celery)
    root = new_app("flask_qed", runtime)
    others: dict[str, Any] = {}
    for face in FACES:
        others.update(face(runtime, celery))
    mounts = api.add_routes(root, runtime, celery, lambda: rest_compat.openapi_paths(runtime.apps))
    stack: Any = DispatcherMiddleware(root.wsgi_app, {**mounts, **others})
    for layer in LAYERS:
        stack = layer(stack, runtime, root)
    root.wsgi_app = stack  # type: ignore[method-assign]
    root.extensions["qed"] = runtime
    return root


__all__ = ["create_gateway", "error_response"]
