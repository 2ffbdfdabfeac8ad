"""The gateway's errors and its two JSON error shapes (no web framework here: the
jobs service raises these errors, and flask_qed.web.errors answers them).

Everywhere but under ``/ogcapi/``: ``{"code", "status", "message", "errors"?}``.
Under ``/ogcapi/`` (the OGC API – Processes face): an OGC exception document
``{"type", "title", "status", "detail", "errors"?}``. Whoever answers (a view,
the front door, a middleware) picks the shape by path with :func:`error_body`,
so that a client of one face never meets the other face's shape. This module
imports no face and no middleware: each of them imports it.
"""
from __future__ import annotations

from typing import Any


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


def is_broker_error(exc: BaseException) -> bool:
    """Whether an exception says the message broker cannot be reached."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeout
    return isinstance(exc, (OperationalError, RedisConnectionError, RedisTimeout, ConnectionError))
