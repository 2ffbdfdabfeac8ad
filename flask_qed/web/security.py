"""The gateway's front door: who is calling, how often, and the headers every answer carries.

:class:`FrontDoor` wraps the whole WSGI gateway (every mounted app included):

* **Identity.** With an API key file (``QED_API_KEYS_FILE``) every request but
  ``/healthz`` needs ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``;
  without one it is a 401 with ``WWW-Authenticate``. The client's name goes to
  ``environ["qed.client"]``; views use it to make jobs their owner's alone.
  Without a key file the API is open and a client is its remote address.
* **Request rate.** A per-client limit (``QED_RATE_LIMIT``, e.g. ``50/second``)
  counted in Redis by the ``limits`` library (in memory when the broker is not
  Redis); past it, 429 with ``Retry-After``. If the counter store fails, the
  request goes through: the limit protects the service, it must not stop it.
* **Headers.** ``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``
  (job data is private and changes), a strict CSP, no framing; CORS only for
  the origins in ``QED_CORS_ORIGINS``.

Its refusals (401, 429) are JSON in the error shape of the face asked
(:func:`flask_qed.errors.error_body`): OGC exception documents under ``/ogcapi/``.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Iterable

import orjson

from ..config import Settings
from ..errors import error_body
from ..jobs.access import Caller
from ..keys import ADMIN, KeyRing

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/healthz"})
# Pages that hold no job data and that a browser opens without a way to add a
# key header: the workbench's shells and the API documentation (with the API
# descriptions they render). Their scripts read job data through the API, with
# the key. Rate limits still apply.
PUBLIC_PREFIXES = ("/ui/", "/docs", "/redoc")
PUBLIC_PATHS = frozenset({"/ui", "/openapi.json", "/ogcapi/api"})
CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CORS_HEADERS = "Authorization, Content-Type, X-API-Key, Prefer, Cache-Control"
CORS_METHODS = "GET, POST, DELETE, OPTIONS"

StartResponse = Callable[..., Any]


def client_of(environ: dict[str, Any]) -> str | None:
    """The calling client's name (a key's owner, or ``addr:<ip>`` without keys)."""
    return environ.get("qed.client")


def is_admin(environ: dict[str, Any]) -> bool:
    return bool(environ.get("qed.admin"))


def caller_of(environ: dict[str, Any]) -> Caller:
    """The calling client as the jobs service knows it (see :class:`~flask_qed.jobs.access.Caller`)."""
    return Caller(environ.get("qed.client"), bool(environ.get("qed.admin")), bool(environ.get("qed.keys")))


def json_error(code: int, reason: str, message: str, headers: Iterable[tuple[str, str]] = (),
               path: str = "") -> tuple:
    """A WSGI answer (status, headers, body) with the error shape of ``path``'s face: an
    OGC exception document under ``/ogcapi``, the native shape elsewhere."""
    body = orjson.dumps(error_body(code, message, path=path))
    return (f"{code} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers], body)


PAUSE = 5.0  # seconds the rate limit is not applied after its counters' store failed


class RateLimit:
    """Requests per client and window, counted by the ``limits`` library."""

    def __init__(self, spec: str, storage_url: str):
        from limits import parse_many
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter
        self.items = parse_many(spec)
        if storage_url.startswith(("redis://", "rediss://")):
            storage = storage_from_string(storage_url, socket_timeout=1, socket_connect_timeout=1)
        else:
            storage = storage_from_string("memory://")
        self.limiter = FixedWindowRateLimiter(storage)
        self._failing_since = 0.0
        self._failed_at = -PAUSE  # time.monotonic() of the last failure

    def retry_after(self, client: str) -> int | None:
        """None when the request may go on, else the seconds to wait. After a failure of
        the counters' store the limit is not applied for ``PAUSE`` seconds, without asking
        it: a Redis that does not answer (one beside RabbitMQ can be down while jobs still
        flow) would otherwise hold every request for its connect timeout."""
        if time.monotonic() - self._failed_at < PAUSE:
            return None
        try:
            for item in self.items:
                if not self.limiter.hit(item, "qed", client):
                    reset = self.limiter.get_window_stats(item, "qed", client).reset_time
                    return max(1, math.ceil(reset - time.time()))
        except Exception as exc:  # noqa: BLE001 - any storage failure: fail open, say so once a minute
            self._failed_at = time.monotonic()
            if time.monotonic() - self._failing_since > 60:
                logger.warning("rate limit not applied, its counter store failed: %s", exc)
                self._failing_since = time.monotonic()
        return None


class FrontDoor:
    """WSGI middleware: identity, rate limit, CORS and security headers (see module doc)."""

    def __init__(self, app: Callable[..., Any], settings: Settings):
        self.app = app
        self.keys = KeyRing(settings.api_keys_file) if settings.api_keys_file else None
        self.rate = RateLimit(settings.rate_limit, settings.redis_url or "") if settings.rate_limit else None
        self.origins = frozenset(settings.cors_origins)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        origin = environ.get("HTTP_ORIGIN")
        cors = origin if origin and (origin in self.origins or "*" in self.origins) else None
        if cors and environ.get("REQUEST_METHOD") == "OPTIONS" \
                and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            return self._send(start_response, ("204 No Content", [
                ("Access-Control-Allow-Methods", CORS_METHODS),
                ("Access-Control-Allow-Headers", CORS_HEADERS),
                ("Access-Control-Max-Age", "600")], b""), cors)
        environ["qed.keys"] = self.keys is not None
        if self.keys is not None:
            client = self.keys.client(_presented_key(environ))
            environ["qed.client"], environ["qed.admin"] = client, client == ADMIN
        else:
            environ["qed.client"], environ["qed.admin"] = f"addr:{_remote(environ)}", False
        # The rate is counted before the key is checked: guessing keys costs requests too.
        if self.rate is not None and path not in OPEN_PATHS:
            wait = self.rate.retry_after(environ["qed.client"] or f"addr:{_remote(environ)}")
            if wait is not None:
                return self._send(start_response, json_error(
                    429, "Too Many Requests", f"too many requests; try again in {wait} s "
                                              "(QED_RATE_LIMIT)", [("Retry-After", str(wait))], path), cors)
        if self.keys is not None and environ["qed.client"] is None \
                and path not in OPEN_PATHS and not _public(path):
            return self._send(start_response, json_error(
                401, "Unauthorized", "an API key is required: send 'Authorization: Bearer <key>' "
                                     "or 'X-API-Key: <key>'",
                [("WWW-Authenticate", 'Bearer realm="flask_qed"')], path), cors)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, _secure(headers, cors), exc_info)
        return self.app(environ, start)

    @staticmethod
    def _send(start_response: StartResponse, answer: tuple, cors: str | None) -> list[bytes]:
        status, headers, body = answer
        start_response(status, _secure(list(headers), cors))
        return [body]


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _presented_key(environ: dict[str, Any]) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return environ.get("HTTP_X_API_KEY") or None


def _remote(environ: dict[str, Any]) -> str:
    return environ.get("REMOTE_ADDR") or "unknown"


def _secure(headers: list[tuple[str, str]], cors: str | None) -> list[tuple[str, str]]:
    """The answer's headers with the security defaults added where the app set none."""
    present = {name.lower() for name, _ in headers}
    defaults = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store"),
                ("Content-Security-Policy", CSP)]
    extra = [(name, value) for name, value in defaults if name.lower() not in present]
    if cors:
        extra += [("Access-Control-Allow-Origin", cors), ("Vary", "Origin"),
                  ("Access-Control-Expose-Headers",
                   "Location, Retry-After, Preference-Applied, Skipped-Runs, Link, Content-Location")]
    return [h for h in headers if h[0].lower() != "server"] + extra
