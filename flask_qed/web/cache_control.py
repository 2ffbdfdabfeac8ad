"""Whether a request lets the result cache answer it: ``"cache": false`` beside
``inputs`` in a JSON body, or ``Cache-Control: no-cache`` (or ``no-store``), opts out
(see :mod:`flask_qed.jobs.cache`). Every face that submits asks here."""
from __future__ import annotations

from typing import Any, Iterable

from ..errors import ApiError

OPT_OUT = frozenset({"no-cache", "no-store"})


def cache_allowed(body: Any, cache_control: Iterable[str]) -> bool:
    """False when the body says ``"cache": false`` or a Cache-Control header says
    ``no-cache``; a ``cache`` that is not true or false is a 400."""
    if isinstance(body, dict) and "cache" in body:
        wanted = body["cache"]
        if not isinstance(wanted, bool):
            raise ApiError(400, '"cache" must be true or false (false: run again, never answered from '
                                'an identical job)')
        if not wanted:
            return False
    directives = {d.split("=")[0].strip().lower() for header in cache_control for d in header.split(",")}
    return not directives & OPT_OUT
