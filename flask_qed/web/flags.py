"""Yes or no given as text, in a query parameter or a form field: ``true``, ``1`` or
``yes``; ``false``, ``0`` or ``no`` (any case, spaces around ignored). Every such
option of the API reads it here, so they all take the same words."""
from __future__ import annotations

_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def yes_or_no(value: str | None) -> bool | None:
    """True or False; None when not given or blank. Raises ValueError for other text."""
    if value is None or not value.strip():
        return None
    answer = _WORDS.get(value.strip().lower())
    if answer is None:
        raise ValueError(value)
    return answer
