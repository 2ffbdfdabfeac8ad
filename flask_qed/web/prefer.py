"""RFC 7240 ``Prefer`` headers, as the faces read them (``respond-async``, ``wait=N``)."""
from __future__ import annotations

from typing import Mapping


def preferences(headers: list[str]) -> dict[str, str]:
    """The preferences of the Prefer header(s): name → value ('' when none)."""
    found: dict[str, str] = {}
    for header in headers:
        for token in header.split(","):
            name, _, value = token.split(";")[0].strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found


def wait_seconds(prefer: Mapping[str, str], cap: float) -> float | None:
    """``wait=N`` (seconds, whole, ASCII digits) capped by ``cap``; None when no wait is
    asked for, or not as RFC 7240 writes it (``wait=²`` is no wait)."""
    raw = prefer.get("wait", "")
    return min(cap, float(raw)) if raw.isascii() and raw.isdigit() else None
