"""The gateway's two JSON error shapes, and the handlers that answer with them.

Everywhere but under ``/ogcapi/``: ``{"code", "status", "message", "errors"?}``.
Under ``/ogcapi/`` (the OGC API – Processes face): an OGC exception document
``{"type", "title", "status", "detail", "errors"?}``. Whoever answers (a view,
the front door, a middleware) picks the shape by path with :func:`error_body`,
so that a client of one face never meets the other face's shape. This module
imports no face and no middleware: each of them imports it.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .model import InputError
from .stores import JobNotFound, StoreUnavailable

logger = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The message broker cannot be reached."""


class ApiError(Exception):
    """An error with its HTTP status, raised by views."""

    def __init__(self, code: int, message: str, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.errors, self.headers = code, message, errors, headers or {}


TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict", 413: "Payload Too Large",
          414: "URI Too Long", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
          429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
          503: "Service Unavailable"}

OGC_PREFIX = "/ogcapi"
# The standard's exception types (OGC 18-062r2, 7.x); other cases get a urn of their own.
OGC_EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
OGC_KINDS = frozenset({"no-such-process", "no-such-job", "result-not-ready",
                       "invalid-query-parameter-value", "no-such-output"})
# The kind of an exception document made from a bare status (front door, middleware).
_KIND_OF = {401: "unauthorized", 413: "payload-too-large", 429: "rate-limit"}


def under_ogc(path: str) -> bool:
    """Whether a request path (``PATH_INFO`` from the gateway's root) is the OGC face's."""
    return path == OGC_PREFIX or path.startswith(OGC_PREFIX + "/")


def ogc_exception(status: int, kind: str, detail: str,
                  errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An OGC exception document; ``type`` is the standard's URI where it names the case."""
    body: dict[str, Any] = {"type": OGC_EXCEPTIONS + kind if kind in OGC_KINDS else f"urn:flask_qed:error:{kind}",
                            "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def error_body(code: int, message: str, errors: list[dict[str, Any]] | None = None,
               path: str = "", kind: str | None = None) -> dict[str, Any]:
    """The error document for a request ``path``: OGC's under ``/ogcapi``, else the native one."""
    if under_ogc(path):
        return ogc_exception(code, kind or _KIND_OF.get(code) or TITLES.get(code, "error").lower().replace(" ", "-"),
                             message, errors)
    body: dict[str, Any] = {"code": code, "status": TITLES.get(code, "Error"), "message": message}
    if errors:
        body["errors"] = errors
    return body


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
        from .metrics import STORE_ERRORS
        STORE_ERRORS.inc()
        logger.error("store unavailable: %s", exc)
        return error_response(503, "the job store is unavailable, try again later")

    @app.errorhandler(BrokerUnavailable)
    def _broker(exc: BrokerUnavailable) -> Any:
        from .metrics import BROKER_ERRORS
        BROKER_ERRORS.inc()
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


def is_broker_error(exc: BaseException) -> bool:
    """Whether an exception says the message broker cannot be reached."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeout
    return isinstance(exc, (OperationalError, RedisConnectionError, RedisTimeout, ConnectionError))
