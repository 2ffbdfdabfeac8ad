"""OGC exception documents: the error type of the OGC face and its handlers."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from ... import jsonutil
from ...errors import ApiError, BrokerUnavailable, is_broker_error, ogc_exception
from ...model import InputError
from ...stores import JobNotFound, StoreUnavailable
from ..errors import too_large_message

logger = logging.getLogger(__name__)
JSON = "application/json"


class OgcError(Exception):
    """An error answered as an OGC exception document."""

    def __init__(self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None,
                 errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail
        self.headers, self.errors = headers or {}, errors



def exception_response(status: int, kind: str, detail: str, errors: list[dict[str, Any]] | None = None,
                       headers: dict[str, str] | None = None) -> Response:
    """An exception document (:func:`~flask_qed.errors.ogc_exception`) as a response."""
    body = ogc_exception(status, kind, detail, errors)
    response = Response(jsonutil.dumps(body), status=status, mimetype=JSON)
    response.headers.update(headers or {})
    return response


def register_errors(app: Flask) -> None:
    @app.errorhandler(OgcError)
    def _ogc(exc: OgcError) -> Any:
        return exception_response(exc.status, exc.kind, exc.detail, exc.errors, exc.headers)

    @app.errorhandler(InputError)
    def _inputs(exc: InputError) -> Any:
        return exception_response(422, "invalid-input", f"invalid inputs: {exc}", exc.errors)

    @app.errorhandler(JobNotFound)
    def _no_job(exc: JobNotFound) -> Any:
        return exception_response(404, "no-such-job", f"no job {exc.args[0]!s} (unknown or expired)")

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Any:
        return exception_response(exc.code, "quota" if exc.code == 429 else "bad-request", exc.message,
                                  exc.errors, exc.headers)

    @app.errorhandler(StoreUnavailable)
    def _store(exc: StoreUnavailable) -> Any:
        logger.error("store unavailable: %s", exc)
        return exception_response(503, "unavailable", "the job store is unavailable, try again later")

    @app.errorhandler(BrokerUnavailable)
    def _broker(exc: BrokerUnavailable) -> Any:
        logger.error("broker unavailable: %s", exc)
        return exception_response(503, "unavailable", "the job queue is unavailable, try again later")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = exc.code or 500
        if code == 413:  # the limit and the setting that raises it, as the native face says
            return exception_response(413, "payload-too-large", too_large_message(app))
        headers = {}
        if code == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return exception_response(code, exc.name.lower().replace(" ", "-"), exc.description or exc.name,
                                  headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if is_broker_error(exc):
            return exception_response(503, "unavailable", "the job queue is unavailable, try again later")
        logger.exception("unhandled error")
        return exception_response(500, "internal", "internal error")
