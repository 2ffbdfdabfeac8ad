"""A Flask app as every face of the gateway makes it: orjson for JSON, the body
limit, tolerant trailing slashes, JSON error handlers, OPTIONS without a body and no
compressed request bodies."""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask, Response, request
from flask.json.provider import JSONProvider
from werkzeug.exceptions import UnsupportedMediaType

from .. import jsonutil
from ..runtime import Runtime
from .errors import register_error_handlers


class OrjsonProvider(JSONProvider):
    """Fast JSON for large batches; NaN and Infinity are written as null."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return jsonutil.dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return jsonutil.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(jsonutil.dumps(obj), mimetype="application/json")


def new_app(name: str, runtime: Runtime, errors: Callable[[Flask], None] = register_error_handlers,
            **flask_args: Any) -> Flask:
    """A face's Flask app; ``errors`` registers its error handlers (the native shape by default)."""
    app = Flask(name, **flask_args)
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_content_length
    app.config["QED_MAX_ROWS"] = max((m.max_rows for a in runtime.apps for m in a.models if m.batch),
                                     default=None)
    app.url_map.strict_slashes = False
    errors(app)
    options_answer_no_content(app)
    refuse_encoded_bodies(app)
    return app


def refuse_encoded_bodies(app: Flask) -> None:
    """A body sent with a ``Content-Encoding`` (gzip, br, …) is a 415 naming it: read as
    it is, a compressed body would be "not valid JSON", and a plain one mislabelled would
    be taken as if the header were not there."""
    @app.before_request
    def _encoded() -> None:
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if encoding and encoding != "identity" and request.method in ("POST", "PUT", "PATCH"):
            raise UnsupportedMediaType(f"Content-Encoding: {encoding[:40]} is not taken: send the body "
                                       "uncompressed")


def options_answer_no_content(app: Flask) -> None:
    """Flask answers OPTIONS itself with an empty text/html 200; answer 204 (with
    its Allow header) so that no answer claims to be an HTML page. No 204 of any route
    has a Content-Type (an OGC result sent by reference alone is one)."""
    @app.after_request
    def _options(response: Response) -> Response:
        if request.method == "OPTIONS" and response.status_code == 200 and not response.content_length:
            response.status_code = 204
        if response.status_code == 204:
            response.headers.pop("Content-Type", None)
        return response
