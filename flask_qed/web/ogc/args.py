"""Query arguments of the OGC face, refused as OGC's invalid-query-parameter-value."""
from __future__ import annotations

from flask import request

from .exceptions import OgcError


def int_arg(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OgcError(400, "invalid-query-parameter-value", f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise OgcError(400, "invalid-query-parameter-value",
                       f"{name} must be {low}..{high if high is not None else ''}")
    return value


def multi(name: str) -> list[str]:
    """A query parameter given as a list: repeated and/or comma separated."""
    return [v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip()]
