"""Whether a request lets the result cache answer it: ``"cache": false`` beside
``inputs`` in a JSON body (``cache=false`` in the query of a CSV body or a form's
fields: :func:`cache_text`), or ``Cache-Control: no-cache`` (or ``no-store``), opts out
(see :mod:`flask_qed.jobs.cache`). Every face that submits asks here."""
from __future__ import annotations

from typing import Any, Iterable

from ..errors import ApiError
from ..validation import InputError, short_value
from .flags import yes_or_no

OPT_OUT = frozenset({"no-cache", "no-store"})
_RULE = "(false: run again, never answered from an identical job)"


def cache_text(value: str | None) -> dict[str, bool]:
    """``cache`` given as text (a query parameter, a form field) as a JSON body gives it:
    ``{"cache": false}`` for false, 0 or no; nothing when it is not given or blank; a 400
    for anything but those and true, 1, yes."""
    try:
        wanted = yes_or_no(value)
    except ValueError:
        raise ApiError(400, f"cache: {str(value)[:40]!r} is neither true nor false {_RULE}") from None
    return {} if wanted is None else {"cache": wanted}


def cache_allowed(body: Any, cache_control: Iterable[str]) -> bool:
    """False when the body says ``"cache": false`` or a Cache-Control header says
    ``no-cache``; a ``cache`` that is not true or false is a 422 naming it."""
    if isinstance(body, dict) and "cache" in body:
        wanted = body["cache"]
        if not isinstance(wanted, bool):  # a member of the body, as label and on_invalid are: 422
            raise InputError([{"run": None, "field": "cache", "value": short_value(wanted),
                               "rule": f"must be true or false {_RULE}"}])
        if not wanted:
            return False
    directives = {d.split("=")[0].strip().lower() for header in cache_control for d in header.split(",")}
    return not directives & OPT_OUT
