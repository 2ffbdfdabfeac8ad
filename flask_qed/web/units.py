"""Units as a reader writes them: the ASCII unit strings of the model declarations
(``m3/s``, ``ug/L``, ``km2``, ``degC``) shown with their symbols (m³/s, µg/L, km², °C)."""
from __future__ import annotations

import re

_POWERS = str.maketrans("23", "²³")
_WORDS = {"-": "", "degC": "°C", "degF": "°F", "deg": "°", "degrees": "°", "degree": "°",
          "degrees north": "° N", "degrees east": "° E"}


def display(units: str | None) -> str:
    """``units`` with proper symbols; the empty string for dimensionless (``-``)."""
    text = (units or "").strip()
    if text in _WORDS:
        return _WORDS[text]
    text = re.sub(r"\bug\b", "µg", text)
    text = re.sub(r"\bdegC\b", "°C", text)
    text = re.sub(r"\b(km|cm|mm|m|ft|in)([23])\b", lambda m: m.group(1) + m.group(2).translate(_POWERS), text)
    return text


__all__ = ["display"]
