"""JSON out: fast (orjson), NaN and Infinity written as null, numpy values welcome."""
from __future__ import annotations

import json
from typing import Any

import orjson

from .model import json_safe

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        # orjson refuses integers beyond 64 bits; the standard library does not.
        return json.dumps(json_safe(value), separators=(",", ":"), allow_nan=False,
                          default=str).encode()


loads = orjson.loads
