"""A job's fingerprint: what makes two runs identical, as one SHA-256.

The fingerprint is the SHA-256 of the canonical JSON text of::

    {"app", "model", "model_version", "project_version", "result_format", "inputs"[, "uploads"]}

with ``inputs`` as validation left them. Canonical means: keys sorted; no
spaces; a number spelled one way whatever way the client wrote it (``0.50``,
``0.5`` and ``5e-1`` are all ``0.5``; a float with no fraction is written as the
integer it equals, so ``2`` and ``2.0`` agree; NaN and infinities are null);
text trimmed of surrounding white space; a blank (``""`` or null) inside an
object is an input not given, as validation itself treats it, and is left out.
A batch's validated inputs are already one canonical JSON text (written by the
validator, a chunk at a time, compressed): its SHA-256 is read through the
compressed stream a piece at a time and stands in for them. An uploaded file is
known by the SHA-256 of its bytes (``uploads``: form field → digest), not by
what was read out of it. ``result_format`` (:data:`RESULT_FORMAT`) changes when the
results written for the same inputs change (integer inputs given back as integers, 2), so
that a result written before is not served for a job run after.
"""
from __future__ import annotations

import hashlib
import json
import math
import zlib
from typing import Any, Mapping

from ..jsonutil import Packed

PIECE = 1 << 20  # bytes of compressed input decompressed at a time
RESULT_FORMAT = 2  # 2: a run's integer inputs given back as integers (were floats)


def canonical(value: Any) -> Any:
    """``value`` with numbers, text and blanks normalised (see the module doc)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2 ** 63 else value
    if isinstance(value, str):
        text = value.strip()
        return text if text else None
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            item = canonical(item)
            if item is not None:
                out[str(key).strip()] = item
        return out
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if hasattr(value, "tolist"):  # a numpy value
        return canonical(value.tolist())
    return canonical(str(value))


def canonical_json(value: Any) -> bytes:
    """The canonical JSON text of ``value``: sorted keys, no spaces, UTF-8; a float in
    Python's shortest spelling that reads back as the same number."""
    return json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def packed_sha256(packed: bytes) -> str:
    """The SHA-256 of the JSON text inside a packed (zlib-compressed) value, read a piece at a time."""
    digest, inflate = hashlib.sha256(), zlib.decompressobj()
    for start in range(0, len(packed), PIECE):
        digest.update(inflate.decompress(packed[start:start + PIECE]))
    digest.update(inflate.flush())
    return digest.hexdigest()


def fingerprint(app: str, model: str | None, model_version: str | None, project_version: str,
                inputs: Any, uploads: Mapping[str, str] | None = None) -> str:
    """The job's fingerprint (64 hex digits)."""
    if isinstance(inputs, Packed):
        shown: Any = {"packed_sha256": packed_sha256(inputs)}
    elif uploads and isinstance(inputs, Mapping):
        shown = {k: v for k, v in inputs.items() if k not in uploads}  # known by their digest
    else:
        shown = inputs
    material = {"app": app, "model": model, "model_version": model_version,
                "project_version": project_version, "result_format": RESULT_FORMAT, "inputs": shown}
    if uploads:
        material["uploads"] = dict(uploads)
    return hashlib.sha256(canonical_json(material)).hexdigest()
