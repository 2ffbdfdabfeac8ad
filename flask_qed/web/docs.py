"""API documentation pages: Swagger UI at ``/docs`` and ReDoc at ``/redoc``.

Both are served from copies vendored from their npm packages
(``static/vendor/swagger-ui``: swagger-ui-dist, ``static/vendor/redoc``: redoc;
each with its LICENSE and VERSION), so the pages work with no network. Each page
carries its own Content-Security-Policy allowing scripts, styles, images and
fetches from the gateway itself only (the security front door adds its stricter
default only to answers that have none).
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, send_from_directory
from werkzeug.exceptions import NotFound

from ..runtime import Runtime
from .errors import error_response, register_error_handlers
from .wsgi import empty_path_is_root

STATIC = Path(__file__).resolve().parent / "static"
# Styles from the gateway only, plus three exact inline ones the pinned bundles write
# (a hash allows that content and nothing else): the empty <style> elements that
# ReDoc's styled-components fills through the CSSOM, ReDoc's scrollbar styles, and
# the classes of Swagger UI's logo. A bundle upgrade that writes others shows up as
# a console error in tests/web/test_docs.py.
INLINE_STYLES = ("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",   # '' (styled-components)
                 "sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc=",   # ReDoc's .ps{...} scrollbar
                 "sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w=")   # Swagger UI's logo classes
CSP = ("default-src 'none'; script-src 'self'; "
       f"style-src 'self' {' '.join(repr(h).replace(chr(34), chr(39)) for h in INLINE_STYLES)}; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
FILES = {"vendor": STATIC / "vendor", "static": STATIC / "docs"}

SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flask_qed API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="{docs}/vendor/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="{docs}/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui" data-urls="{urls}"></div>
<script src="{docs}/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{docs}/vendor/swagger-ui/swagger-ui-standalone-preset.js"></script>
<script src="{docs}/static/swagger-init.js"></script></body></html>
"""

REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flask_qed API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="{docs}/vendor/swagger-ui/favicon-32x32.png"></head>
<body><div id="redoc" data-spec="{spec}"></div>
<script src="{docs}/vendor/redoc/redoc.standalone.js"></script>
<script src="{docs}/static/redoc-init.js"></script></body></html>
"""


def mount(runtime: Runtime, celery: Any = None) -> dict[str, Any]:
    """The WSGI apps to mount: ``/docs`` (Swagger UI and the vendored files) and ``/redoc``."""
    return {"/docs": _docs_app().wsgi_app, "/redoc": _redoc_app().wsgi_app}


def _page(text: str) -> Response:
    return Response(text, mimetype="text/html", headers={"Content-Security-Policy": CSP})


def _site() -> str:
    """The gateway's root path (non-empty behind a proxy prefix)."""
    return request.script_root.rsplit("/", 1)[0]


def _page_app(name: str) -> Flask:
    """A documentation app: no static folder of Flask's own, JSON errors (405 and the
    rest, not werkzeug's HTML pages), and ``/prefix`` routed as ``/prefix/``."""
    app = Flask(name, static_folder=None)
    app.url_map.strict_slashes = False
    register_error_handlers(app)

    @app.errorhandler(404)
    def _missing(exc: NotFound) -> Any:
        return error_response(404, "not found")

    return app


def _docs_app() -> Flask:
    app = _page_app("flask_qed.docs")

    @app.get("/")
    def swagger() -> Any:
        site = _site()
        urls = json.dumps([{"url": f"{site}/openapi.json", "name": "flask_qed (OpenAPI 3.1)"},
                           {"url": f"{site}/ogcapi/api", "name": "OGC API - Processes (OpenAPI 3.0)"}])
        return _page(SWAGGER.format(docs=html.escape(request.script_root), urls=html.escape(urls)))

    @app.get("/<any(vendor, static):kind>/<path:name>")
    def files(kind: str, name: str) -> Any:
        response = send_from_directory(FILES[kind], name, max_age=86400)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    app.wsgi_app = empty_path_is_root(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _redoc_app() -> Flask:
    app = _page_app("flask_qed.redoc")

    @app.get("/")
    def redoc() -> Any:
        site = _site()
        return _page(REDOC.format(docs=html.escape(f"{site}/docs"), spec=html.escape(f"{site}/openapi.json")))

    app.wsgi_app = empty_path_is_root(app.wsgi_app)  # type: ignore[method-assign]
    return app
