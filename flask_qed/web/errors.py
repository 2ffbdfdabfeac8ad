"""Errors answered as JSON: the handlers every Flask app of the gateway registers.

The shapes are :mod:`flask_qed.errors`' (native, or OGC's under ``/ogcapi/``).
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .. import metrics
from ..errors import ApiError, BrokerUnavailable, error_body, is_broker_error
from ..model import InputError
from ..stores import JobNotFound, StoreUnavailable

logger = logging.getLogger(__name__)


def error_response(code: int, message: str, errors: list[dict[str, Any]] | None = None) -> Any:
    """A native error answer (inside a Flask request)."""
    response = jsonify(error_body(code, message, errors))
    response.status_code = code
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if exc.code == 413:
            return error_response(413, too_large_message(app))
        response = error_response(exc.code or 500, exc.description or exc.name)
        if exc.code == 405 and exc.response is None and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Any:
        response = error_response(exc.code, exc.message, exc.errors)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(InputError)
    def _inputs(exc: InputError) -> Any:
        return error_response(422, f"invalid inputs: {exc}", exc.errors)

    @app.errorhandler(JobNotFound)
    def _not_found(exc: JobNotFound) -> Any:
        return error_response(404, f"no job {exc.args[0]!s} (unknown or expired)")

    @app.errorhandler(StoreUnavailable)
    def _store(exc: StoreUnavailable) -> Any:
        metrics.STORE_ERRORS.inc()
        logger.error("store unavailable: %s", exc)
        return error_response(503, "the job store is unavailable, try again later")

    @app.errorhandler(BrokerUnavailable)
    def _broker(exc: BrokerUnavailable) -> Any:
        metrics.BROKER_ERRORS.inc()
        logger.error("broker unavailable: %s", exc)
        return error_response(503, "the job queue is unavailable, try again later")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if is_broker_error(exc):  # e.g. an old-way app's apply_async with the broker down
            logger.error("broker unavailable: %s", exc)
            return error_response(503, "the job queue is unavailable, try again later")
        logger.exception("unhandled error")
        return error_response(500, "internal error")


def too_large_message(app: Flask | Mapping[str, Any]) -> str:
    """A 413's message: the body limit, the most runs a batch takes, and the setting
    (read from a Flask app's config, or from that config itself)."""
    config = app.config if isinstance(app, Flask) else app
    limit = config.get("MAX_CONTENT_LENGTH")
    rows = config.get("QED_MAX_ROWS")
    size = f"{limit:,} bytes ({limit / 1024 ** 2:.0f} MiB)" if limit else "the limit"
    runs = f"; a batch job takes at most max_rows = {rows:,} runs, which fit in it" if rows else ""
    return (f"the request body is larger than QED_MAX_CONTENT_LENGTH = {size}{runs}: "
            "send fewer runs per job, or raise QED_MAX_CONTENT_LENGTH")
