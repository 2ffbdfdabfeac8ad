"""gunicorn answers some requests itself, before the gateway sees them (a request
line or headers too large, a malformed request); its answers are HTML pages
and carry ``Server: gunicorn``. :func:`install` makes them the project's JSON
error shape and names no server software. Called from the gunicorn settings,
so it runs in the master before workers fork."""
from __future__ import annotations

from typing import Any

import orjson

SERVER_NAME = "flask_qed"


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    from gunicorn.util import write_nonblock
    body = orjson.dumps({"code": status_int, "status": reason,
                         "message": mesg or reason})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
            f"Cache-Control: no-store\r\nContent-Length: {len(body)}\r\n\r\n")
    write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    import gunicorn.http.wsgi
    import gunicorn.util
    gunicorn.util.write_error = _write_json_error
    gunicorn.http.wsgi.SERVER = SERVER_NAME
