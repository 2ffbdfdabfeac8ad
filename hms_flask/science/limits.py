"""How much geometry one percent-area request may hold, counted before any is built.

A vertex costs about 150 bytes once JSON is parsed into Python lists and floats,
and again as GEOS geometry and numpy arrays while areas are computed, in the
gateway and in the worker alike. So the vertices (coordinate positions) and
features of a request are counted from what is cheapest to read, and a request
past :data:`~hms_flask.science.MAX_VERTICES` (``QED_MAX_VERTICES``) or
:data:`~hms_flask.science.MAX_FEATURES` is refused before shapely builds
anything:

* GeoJSON already parsed (a JSON body): the lengths of the coordinate arrays,
  never each position (:func:`count_geojson`);
* GeoJSON text (an uploaded file): its arrays of numbers other than bboxes, counted
  in the bytes before they are parsed (:func:`count_number_arrays`, an upper bound);
* GeoPackage geometries: the point counts in their WKB (:func:`count_wkb`);
* shapefiles: the point counts in the .shp record headers that the .shx
  locates (:func:`count_shapefile`), the very records GDAL reads.
"""
from __future__ import annotations

import re
import struct
from typing import Any

import numpy as np

from . import MAX_FEATURES, MAX_VERTICES, VERTICES_SETTING
from .upload_common import UploadRefused

__all__ = ["GeometryTooLarge", "too_many_vertices", "too_many_features", "count_geojson",
           "count_number_arrays", "count_wkb", "count_shapefile"]


class GeometryTooLarge(UploadRefused):
    """More vertices or features than one request may hold; ``count`` is how many."""

    def __init__(self, message: str, count: int):
        super().__init__(message)
        self.count = count


def too_many_vertices(count: int, limit: int, what: str = "the geometry has") -> GeometryTooLarge:
    return GeometryTooLarge(f"{what} {count:,} vertices; at most {VERTICES_SETTING} = {limit:,} "
                            "per request", count)


def too_many_features(count: int, limit: int, what: str = "the geometry has") -> GeometryTooLarge:
    return GeometryTooLarge(f"{what} {count:,} features; at most MAX_FEATURES = {limit:,} per request "
                            "(each catchment covers at least one of the MAX_CELLS grid cells)", count)


# --- GeoJSON, parsed -------------------------------------------------------------------------

_POSITIONS = {"Point": 0, "MultiPoint": 1, "LineString": 1, "Polygon": 2, "MultiLineString": 2,
              "MultiPolygon": 3}   # how deep the positions lie in "coordinates"


def count_geojson(value: Any, max_features: int = MAX_FEATURES, max_vertices: int = MAX_VERTICES) -> int:
    """Vertices of a GeoJSON geometry, Feature or FeatureCollection (Python objects);
    raises :class:`GeometryTooLarge` past either limit. Only array lengths are read, so
    this costs a step per ring, not per vertex. What is not GeoJSON counts nothing: the
    parser that follows words that refusal."""
    if not isinstance(value, dict):
        return 0
    if value.get("type") == "FeatureCollection":
        features = value.get("features")
        features = features if isinstance(features, list) else []
    else:
        features = [value]
    if len(features) > max_features:
        raise too_many_features(len(features), max_features)
    geometries = [f.get("geometry") if isinstance(f, dict) and f.get("type") == "Feature" else f
                  for f in features]
    total = 0
    while geometries:   # a stack, not recursion: collections may nest deeply
        geom = geometries.pop()
        if not isinstance(geom, dict):
            continue
        kind = geom.get("type")
        if kind == "GeometryCollection":
            members = geom.get("geometries")
            geometries.extend(members if isinstance(members, (list, tuple)) else ())
            continue
        depth = _POSITIONS.get(kind)  # type: ignore[arg-type]
        if depth is not None:
            total += _positions(geom.get("coordinates"), depth)
    if total > max_vertices:
        raise too_many_vertices(total, max_vertices)
    return total


def _positions(coords: Any, depth: int) -> int:
    if not isinstance(coords, (list, tuple)):
        return 0
    if depth == 0:
        return 1
    if depth == 1:
        return len(coords)
    return sum(_positions(part, depth - 1) for part in coords)


# --- GeoJSON, as text ------------------------------------------------------------------------

# An array whose first element is a number. Every GeoJSON position is one (after "[" or ","
# in a coordinates array, after ":" for a Point); so are a bbox and a numeric property.
_NUMBER_ARRAY = re.compile(rb"[\[,:]\s*\[\s*-?[0-9]")


def count_number_arrays(data: bytes, limit: int) -> tuple[int, bool]:
    """An upper bound on the positions in GeoJSON text, without parsing it: the arrays of
    numbers but the bbox members (exact when no property is one), and whether that is all.

    C-speed counts come first: the '[' (enough when they are few), then the arrays that open
    directly on a number (as json.dumps and orjson write them). Text written with space after
    '[' is counted a match at a time, and no further than past ``limit`` (then not complete).
    A member written ``"bbox":[`` cannot lie inside a string (its quotes would be escaped)."""
    bboxes = data.count(b'"bbox":[') + data.count(b'"bbox": [')
    brackets = data.count(b"[") - bboxes
    if brackets <= limit:
        return max(brackets, 0), True
    tight = sum(data.count(b"[" + start) for start in _NUMBER_STARTS) - bboxes
    if tight > limit:
        return tight, True
    found = 0
    for found, _ in enumerate(_NUMBER_ARRAY.finditer(data), 1):
        if found - bboxes > limit:
            return found - bboxes, False
    return max(found - bboxes, 0), True


_NUMBER_STARTS = [b"-", *(str(d).encode() for d in range(10))]


# --- WKB (GeoPackage geometries) ---------------------------------------------------------------

_LINEAR = {1: 0, 2: 1, 8: 1, 3: 2}           # Point, LineString, CircularString, Polygon: depth
_COLLECTIONS = {4, 5, 6, 7, 9, 10, 11, 12}     # Multi*, GeometryCollection and the curved ones


def count_wkb(blob: bytes, start: int = 0) -> int:
    """The points of the (ISO or extended) WKB geometry at ``blob[start:]``, read from its
    counts alone. Raises ValueError for a type it does not know or a count past the end."""
    total, pos, pending = 0, start, 1   # pending: geometries still to read at pos
    end = len(blob)
    while pending:
        pending -= 1
        if pos + 5 > end:
            raise ValueError("truncated WKB")
        order = "<" if blob[pos] == 1 else ">"
        (code,) = struct.unpack_from(order + "I", blob, pos + 1)
        pos += 5
        if code & 0x20000000:   # extended WKB: an SRID follows the type
            pos += 4
        dims = 2 + bool(code & 0x80000000) + bool(code & 0x40000000)
        code &= 0x0FFFFFFF
        base, iso = code % 1000, code // 1000
        if iso > 3:
            raise ValueError("unknown WKB type")
        dims += {0: 0, 1: 1, 2: 1, 3: 2}[iso]
        size = 8 * dims
        if base in _COLLECTIONS:
            pending += _count(blob, pos, order, end)
            pos += 4
        elif base in _LINEAR:
            depth = _LINEAR[base]
            if depth == 0:
                points = 1
            elif depth == 1:
                points = _count(blob, pos, order, end)
                pos += 4
            else:
                rings = _count(blob, pos, order, end)
                pos += 4
                points = 0
                for _ in range(rings):
                    n = _count(blob, pos, order, end)
                    pos += 4 + n * size
                    points += n
            if depth < 2:
                pos += points * size
            total += points
            if pos > end:
                raise ValueError("truncated WKB")
        else:
            raise ValueError("unknown WKB type")
    return total


def _count(blob: bytes, pos: int, order: str, end: int) -> int:
    if pos + 4 > end:
        raise ValueError("truncated WKB")
    return struct.unpack_from(order + "I", blob, pos)[0]


# --- shapefiles ----------------------------------------------------------------------------------

_POINT_TYPES = (1, 11, 21)
_MULTIPOINT_TYPES = (8, 18, 28)                      # numPoints after type and bounding box
_PARTS_TYPES = (3, 5, 13, 15, 23, 25, 31)            # numParts, then numPoints


def count_shapefile(shp: bytes, shx: bytes, max_features: int = MAX_FEATURES,
                    max_vertices: int = MAX_VERTICES) -> int:
    """The points of a shapefile's records, from the record headers at the offsets its .shx
    gives (those GDAL reads); raises :class:`GeometryTooLarge` past either limit and
    :class:`UploadRefused` for an offset outside the .shp."""
    records = max(0, (len(shx) - 100) // 8)
    if records > max_features:
        raise too_many_features(records, max_features, "the shapefile has")
    if records == 0:
        return 0
    index = np.frombuffer(shx, dtype=">i4", count=2 * records, offset=100).reshape(-1, 2)
    start = index[:, 0].astype(np.int64) * 2 + 8   # each record's content, after its 8-byte header
    data = np.frombuffer(shp, dtype=np.uint8)
    if (start.min() < 108 or start.max() + 4 > len(data)):
        raise UploadRefused("the shapefile in the zip archive could not be read")

    def le32(pos: np.ndarray) -> np.ndarray:
        safe = np.minimum(pos, max(len(data) - 4, 0))   # a record too short counts 0 below
        word = sum(data[safe + i].astype(np.int64) << (8 * i) for i in range(4))
        return np.where(pos + 4 <= len(data), word, 0)

    kind = le32(start)
    points = np.where(np.isin(kind, _POINT_TYPES), 1, 0)
    points = np.where(np.isin(kind, _MULTIPOINT_TYPES), le32(start + 36), points)
    points = np.where(np.isin(kind, _PARTS_TYPES), le32(start + 40), points)
    total = int(points.sum())
    if total > max_vertices:
        raise too_many_vertices(total, max_vertices, "the shapefile has")
    return total
