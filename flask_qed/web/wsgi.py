"""Small WSGI helpers shared by the gateway's faces (native API, OGC API, docs)."""
from __future__ import annotations

from typing import Any


def empty_path_is_root(wsgi: Any) -> Any:
    """An app mounted at ``/prefix`` is reached with an empty path for ``/prefix``
    itself; route it as ``/`` (werkzeug would otherwise answer a POST there 404
    instead of 405)."""
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("PATH_INFO"):
            environ["PATH_INFO"] = "/"
        return wsgi(environ, start_response)
    return app
