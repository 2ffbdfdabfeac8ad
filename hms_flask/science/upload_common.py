"""What the upload readers share: the refusal type and the GeoJSON they produce.

Kept apart so that the format readers (:mod:`.vector_upload`,
:mod:`.gpkg_upload`, :mod:`.upload_crs`) can share it without importing
one another.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

__all__ = ["UploadRefused", "feature_collection"]


class UploadRefused(ValueError):
    """An upload that is not one of the accepted formats, or breaks a rule.

    Its message is a fixed text written here: it never quotes the upload's
    member names, a server path or a library's own error text."""


def feature_collection(geoms: np.ndarray, names: list[str], columns: list[list[Any]]) -> dict[str, Any]:
    """Geometries and attribute columns -> a GeoJSON FeatureCollection (NaN and bytes -> null)."""
    columns = [[_plain(v) for v in col] for col in columns]
    features = []
    for i, geom in enumerate(geoms):
        features.append({"type": "Feature", "properties": {n: c[i] for n, c in zip(names, columns)},
                         "geometry": None if geom is None else shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None  # binary attributes have no JSON form and name no catchment
    return value
