"""A job's label: a short text the client gives a job to know it again (``"label"`` beside
``"inputs"``). It is kept with the job and shown in its record and in job listings, but
it is not an input: it never changes what runs, nor the job's fingerprint."""
from __future__ import annotations

import unicodedata
from typing import Any

from ..validation import InputError

MAX_LENGTH = 200  # characters


def check_label(value: Any) -> str | None:
    """The label to store (surrounding white space trimmed; ``None`` when not given or
    blank); :class:`InputError` (a 422 naming the field ``label``) when it is not plain
    text of at most :data:`MAX_LENGTH` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _refused(value, f"must be text (a JSON string) of at most {MAX_LENGTH} characters, "
                              f"not {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_LENGTH:
        raise _refused(text[:40] + "…", f"at most {MAX_LENGTH} characters (this one has {len(text)})")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        raise _refused(text[:80], "must be plain text on one line: no line breaks, tabs or control characters")
    return text or None


def _refused(value: Any, rule: str) -> InputError:
    shown = value if isinstance(value, (str, int, float, bool)) else repr(value)[:80]
    return InputError([{"run": None, "field": "label", "value": shown, "rule": rule}])
