"""The body limit (``QED_MAX_CONTENT_LENGTH``) for bodies sent without a length.

A body with ``Content-Length`` is refused (413) by werkzeug before it is read.
A chunked body (``Transfer-Encoding: chunked``) has no length to check: werkzeug
reads it up to the limit and stops there silently, so the view sees the first
``limit`` bytes of a larger body (and answers "not valid JSON" after holding the
limit in memory). :class:`ChunkedBodyLimit` wraps ``wsgi.input`` of such a
request in a reader that counts what it hands out and, on reaching the limit,
looks one byte further: if the body goes on, the read raises werkzeug's
:class:`~werkzeug.exceptions.RequestEntityTooLarge`, which every face's error
handlers answer as a 413 in their own shape (an OGC exception document under
``/ogcapi/``). So at most the limit is ever read, and a body of exactly the
limit still passes. A body whose chunks the server cannot parse (a chunk size that is
not hexadecimal, a missing terminator, the connection closed mid-body) is a
:class:`~werkzeug.exceptions.BadRequest` (400), not the server's parse error.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping

from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from .errors import too_large_message

_PIECE = 64 * 1024  # bytes read at a time when a caller asks for everything


class CountedInput:
    """A WSGI input stream that hands out at most ``limit`` bytes and raises
    :class:`RequestEntityTooLarge` when the body is longer."""

    def __init__(self, stream: Any, limit: int, message: str = ""):
        self._stream, self._left, self._message = stream, limit, message
        self._ended = False
        self._broken: BadRequest | None = None  # the body could not be read: every later read says so

    def _read(self, read: Callable[[int], bytes], size: int) -> bytes:
        """``read(size)`` of the server's stream; its errors reading a malformed body are
        the client's (400)."""
        try:
            return read(size)
        except HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001 - the server's own (gunicorn: InvalidChunkSize, NoMoreData)
            self._broken = BadRequest(f"the request body could not be read: {type(exc).__name__}")
            raise self._broken from None

    def _counted(self, data: bytes) -> bytes:
        """``data`` as read (at most one byte past the limit), counted."""
        self._left -= len(data)
        if not data:
            self._ended = True
        elif self._left == 0:  # exactly at the limit: the body must end here
            if self._read(self._stream.read, 1):
                self._left = -1
            else:
                self._ended = True
        if self._left < 0:
            raise RequestEntityTooLarge(self._message or None)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if self._broken is not None:
            raise self._broken
        if self._left < 0:  # refused already: reading on would only consume a body no one wants
            raise RequestEntityTooLarge(self._message or None)
        if size is None or size < 0:  # everything: in pieces, so that the count stops it in time
            return b"".join(iter(lambda: self.read(_PIECE), b""))
        if self._ended or size == 0:
            return b""
        return self._counted(self._read(self._stream.read, min(size, self._left + 1)))

    def readline(self, size: int | None = -1) -> bytes:
        if self._broken is not None:
            raise self._broken
        if self._left < 0:
            raise RequestEntityTooLarge(self._message or None)
        if self._ended:
            return b""
        most = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        return self._counted(self._read(self._stream.readline, most))

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


class ChunkedBodyLimit:
    """WSGI middleware: a request without ``Content-Length`` reads its body through
    :class:`CountedInput` (the limit and the 413's message from a Flask config)."""

    def __init__(self, app: Callable[..., Any], config: Mapping[str, Any]):
        self.app = app
        self.limit: int | None = config.get("MAX_CONTENT_LENGTH")
        self.message = too_large_message(config) if self.limit else ""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.limit and not environ.get("CONTENT_LENGTH") and "wsgi.input" in environ:
            environ["wsgi.input"] = CountedInput(environ["wsgi.input"], self.limit, self.message)
        return self.app(environ, start_response)
