"""Percent of grid cells covered by catchments (HMS "percent area").

For every catchment polygon and every grid cell it intersects: the cell area,
the area of the catchment inside the cell, the percent of the cell inside the
catchment and the percent of the catchment inside the cell. Areas are computed
in the grid's equal-area projection (see :mod:`.grids`) after densifying edges,
so they are true ellipsoidal areas to about 1e-6, in km².

Everything is vectorised with shapely 2 array functions over all
(catchment, candidate cell) pairs: candidates come from each catchment's
bounding box; cells strictly inside a catchment are recognised with a prepared
``contains_properly`` test and only boundary cells are intersected.
"""
from __future__ import annotations

import base64
import itertools
import json
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from . import MAX_CELLS
from .grids import Grid, get_grid, to_equal_area
from .vector_upload import read_vector

__all__ = ["MAX_CELLS", "Catchment", "parse_geojson", "stored_form", "catchments_from", "check_catchments",
           "estimate_cells",
           "percent_area", "read_vector_file"]

# Attributes that name a catchment, in order of preference; matched ignoring case.
ID_FIELDS = ("comid", "featureid", "nhdplusid", "huc12", "huc10", "huc8", "gridcode", "id")
# Pieces smaller than this share of their cell are floating-point slivers left
# where a catchment edge coincides with a cell edge; they are not reported.
SLIVER = 1e-9


@dataclass(frozen=True)
class Catchment:
    id: str
    geometry: Any  # shapely Polygon or MultiPolygon, lon/lat degrees


def _id_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_geojson(value: Any) -> list[Catchment]:
    """GeoJSON geometry, Feature or FeatureCollection -> catchments (lon/lat)."""
    if not isinstance(value, dict) or "type" not in value:
        raise ValueError("geometry must be a GeoJSON object (geometry, Feature or FeatureCollection)")
    kind = value["type"]
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or not features:
            raise ValueError("the FeatureCollection has no features")
    elif kind == "Feature":
        features = [value]
    else:
        features = [{"type": "Feature", "id": "0", "geometry": value, "properties": {}}]
    out: list[Catchment] = []
    seen: set[str] = set()
    for i, feat in enumerate(features):
        if not isinstance(feat, dict):
            raise ValueError(f"feature {i} is not a GeoJSON Feature object")
        props = feat.get("properties") or {}
        by_name = {str(k).lower(): v for k, v in props.items() if v is not None} \
            if isinstance(props, dict) else {}
        key = next((by_name[f] for f in ID_FIELDS if f in by_name), feat.get("id"))
        fid = _id_text(key) if key is not None else str(i)
        if fid in seen:
            raise ValueError(f"feature id {fid!r} appears more than once")
        seen.add(fid)
        out.append(Catchment(fid, _shape(feat.get("geometry"), fid)))
    return out


# Checked catchments as a job stores them: ids and base64 WKB, about 22 bytes a vertex and
# one string a catchment, where GeoJSON parsed into Python lists takes about 150 bytes a
# vertex (and copying it for the store as much again). Never accepted from a client:
# parse_geojson refuses it (it has no GeoJSON "type").
STORED_FORMAT = "hms-catchments-wkb-1"


def stored_form(catchments: list[Catchment]) -> dict[str, Any]:
    """Checked catchments -> the compact JSON a job's inputs keep (see :func:`catchments_from`)."""
    wkb = shapely.to_wkb(np.array([c.geometry for c in catchments], dtype=object))
    return {"format": STORED_FORMAT, "ids": [c.id for c in catchments],
            "wkb": [base64.b64encode(w).decode("ascii") for w in wkb]}


def catchments_from(value: Any) -> list[Catchment]:
    """A job's stored geometry: the compact form of :func:`stored_form`, or GeoJSON (as
    jobs stored before it keep it)."""
    if isinstance(value, dict) and value.get("format") == STORED_FORMAT:
        geoms = shapely.from_wkb([base64.b64decode(w) for w in value["wkb"]])
        return [Catchment(str(fid), geom) for fid, geom in zip(value["ids"], geoms)]
    return parse_geojson(value)


def _shape(geom: Any, fid: str) -> Any:
    if not isinstance(geom, dict):
        raise ValueError(f"feature {fid}: has no geometry")
    try:
        shp = shapely.geometry.shape(_rings_as_arrays(geom))
    except Exception as exc:  # malformed coordinates, unknown type
        raise ValueError(f"feature {fid}: not a valid GeoJSON geometry ({exc})") from None
    if shp.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"feature {fid}: a catchment must be a Polygon or MultiPolygon, "
                         f"not a {shp.geom_type}")
    minx, miny, maxx, maxy = shp.bounds
    if not shp.is_empty and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        # Longitudes past 180 (a catchment drawn across the antimeridian) would be
        # measured wrongly: ask for the RFC 7946 form, split at +/-180 degrees.
        raise ValueError(f"feature {fid}: coordinates must be longitude -180..180 and latitude "
                         "-90..90 degrees (EPSG:4326); split a catchment that crosses the "
                         "antimeridian into a MultiPolygon at 180 degrees")
    return shp


def _rings_as_arrays(geom: dict[str, Any]) -> dict[str, Any]:
    """A Polygon's or MultiPolygon's rings as float arrays, converted by numpy in one step
    each: shapely would first copy every position into a new list of new floats (about
    150 bytes a vertex at once); the result and the errors are shapely's own."""
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon") or not isinstance(coords, (list, tuple)):
        return geom   # an uploaded file's GeoJSON (shapely's mapping) has tuples
    try:
        if kind == "Polygon":
            coords = [_ring(ring) for ring in coords]
        else:
            coords = [[_ring(ring) for ring in part] if isinstance(part, (list, tuple)) else part
                      for part in coords]
    except NotNumbers:
        raise
    except (ValueError, TypeError):
        return geom   # shapely words the error
    return {"type": kind, "coordinates": coords}


class NotNumbers(ValueError):
    """A position holding something other than numbers (``true``, ``"1"``), which numpy
    and shapely would read as a number: GeoJSON's positions are numbers (RFC 7946, 3.1.1)."""


def _number(kind: type) -> bool:
    return issubclass(kind, numbers.Real) and not issubclass(kind, (bool, np.bool_))


def _ring(ring: Any) -> Any:
    if not isinstance(ring, (list, tuple)) or not ring:
        return ring
    kinds = set(map(type, itertools.chain.from_iterable(p for p in ring if isinstance(p, (list, tuple)))))
    if not all(map(_number, kinds)):  # one pass in C over the ring's values, then their few types
        odd = next(v for p in ring if isinstance(p, (list, tuple)) for v in p if not _number(type(v)))
        raise NotNumbers(f"coordinates must be numbers, not {json.dumps(odd, default=str)[:40]}")
    array = np.asarray(ring, dtype=float)
    if array.ndim != 2 or not np.isfinite(array).all():   # None reads as NaN here, not in shapely
        raise ValueError("not a ring of positions")
    return array


def _cells(catchment: Catchment, grid: Grid) -> np.ndarray:
    """Flat indices (row * 100000 + col) of the cells in the bounding boxes of each
    polygon part: a catchment split at the antimeridian is not one world-wide box."""
    found = []
    for b in shapely.bounds(shapely.get_parts(catchment.geometry)):
        rng = grid.index_range(*b)
        if rng is None:
            continue
        c0, c1, r0, r1 = rng
        rr, cc = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij")
        found.append((rr * 100_000 + cc).ravel())
    return np.unique(np.concatenate(found)) if found else np.empty(0, int)


def _pairs(catchments: list[Catchment], grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(catchment index, row, col) of every candidate cell."""
    cells = [_cells(c, grid) for c in catchments]
    if not any(len(c) for c in cells):
        return (np.empty(0, int),) * 3
    flat = np.concatenate(cells)
    feats = np.concatenate([np.full(len(c), i) for i, c in enumerate(cells)])
    return feats, flat // 100_000, flat % 100_000


PAIR_CHUNK = 4096   # (catchment, cell) pairs whose cells are built and intersected at once


def _groups(feat_idx: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Consecutive catchments [lo, hi) with about PAIR_CHUNK candidate pairs together (a
    catchment with more is a group of its own); ``feat_idx`` is sorted, as _pairs gives it."""
    ends = np.searchsorted(feat_idx, np.arange(1, count + 1))   # pairs before catchment i + 1
    groups, lo = [], 0
    while lo < count:
        base = ends[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + PAIR_CHUNK, side="right")))
        groups.append((lo, min(hi, count)))
        lo = hi
    return groups


def estimate_cells(catchments: list[Catchment], grid: Grid) -> int:
    """Number of candidate (catchment, cell) pairs, from the parts' bounding boxes."""
    total = 0
    for c in catchments:
        for b in shapely.bounds(shapely.get_parts(c.geometry)):
            rng = grid.index_range(*b)
            if rng is not None:
                total += (rng[1] - rng[0] + 1) * (rng[3] - rng[2] + 1)
    return total


def check_catchments(catchments: list[Catchment], grid: Grid, max_cells: int = MAX_CELLS) -> int:
    """Raise ValueError for empty, invalid, off-grid or too large input; return the estimate."""
    geoms = np.array([c.geometry for c in catchments], dtype=object)
    for c, empty, valid in zip(catchments, shapely.is_empty(geoms), shapely.is_valid(geoms)):
        if empty:
            raise ValueError(f"feature {c.id}: the geometry is empty")
        if not valid:
            raise ValueError(f"feature {c.id}: invalid geometry ({shapely.is_valid_reason(c.geometry)})")
    extent = shapely.box(grid.west, grid.south, grid.east, grid.north)
    hits = shapely.intersects(geoms, extent) & ~shapely.touches(geoms, extent)
    if not hits.all():
        bad = [c.id for c, h in zip(catchments, hits) if not h]
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        hint = "" if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90 else \
            " (coordinates are not longitude/latitude degrees; GeoJSON must be EPSG:4326)"
        raise ValueError(f"feature(s) {', '.join(bad[:5])} lie outside the {grid.name} grid "
                         f"({grid.west:g}..{grid.east:g} E, {grid.south:g}..{grid.north:g} N){hint}")
    estimate = estimate_cells(catchments, grid)
    if estimate > max_cells:
        raise ValueError(f"the catchments cover about {estimate} {grid.name} cells; "
                         f"at most {max_cells} per request")
    return estimate


def percent_area(catchments: list[Catchment], grid: Grid | str) -> dict[str, Any]:
    """The cells of ``grid`` each catchment intersects, with areas and percents."""
    grid = get_grid(grid) if isinstance(grid, str) else grid
    feat_idx, rows, cols = _pairs(catchments, grid)
    contained = np.zeros(len(feat_idx))
    pair_cell_area = np.zeros(len(feat_idx))
    feat_area = np.zeros(len(catchments))
    geoms = np.array([c.geometry for c in catchments], dtype=object)
    # A group of catchments at a time, and their cells PAIR_CHUNK at a time: the projected
    # cells and intersections of 50,000 pairs at once would take about 300 MB.
    for lo, hi in _groups(feat_idx, len(catchments)):
        feats = to_equal_area(geoms[lo:hi], grid)
        broken = ~shapely.is_valid(feats)   # projection can pinch near-touching rings
        if broken.any():
            feats[broken] = shapely.make_valid(feats[broken])
        shapely.prepare(feats)
        feat_area[lo:hi] = shapely.area(feats)
        first, last = np.searchsorted(feat_idx, [lo, hi])
        for start in range(first, last, PAIR_CHUNK):
            part = slice(start, min(start + PAIR_CHUNK, last))
            keys = rows[part] * grid.ncols + cols[part]
            uniq, inv = np.unique(keys, return_inverse=True)
            cells = grid.projected_cells(uniq // grid.ncols, uniq % grid.ncols)
            cell_area = shapely.area(cells)
            pair_feat, pair_cell = feats[feat_idx[part] - lo], cells[inv]
            found = np.zeros(len(inv))
            inside = shapely.contains_properly(pair_feat, pair_cell)
            found[inside] = cell_area[inv[inside]]
            edge = ~inside & shapely.intersects(pair_feat, pair_cell)
            found[edge] = shapely.area(shapely.intersection(pair_feat[edge], pair_cell[edge]))
            contained[part], pair_cell_area[part] = found, cell_area[inv]
    # Relative to the smaller of cell and catchment, so a tiny catchment is kept whole.
    keep = contained > SLIVER * np.minimum(pair_cell_area, feat_area[feat_idx])

    feat_idx, rows, cols, contained, pair_cell_area = (
        a[keep] for a in (feat_idx, rows, cols, contained, pair_cell_area))
    lon, lat = grid.centers(rows, cols)
    cell_km2 = pair_cell_area / 1e6
    out: dict[str, Any] = {c.id: {"points": []} for c in catchments}
    order = np.lexsort((cols, rows, feat_idx))
    columns = {
        "latitude": lat, "longitude": lon, "cellArea": cell_km2,
        "containedArea": contained / 1e6,
        "percentArea": 100.0 * contained / pair_cell_area,
        "percentCatchment": 100.0 * contained / feat_area[feat_idx],
    }
    values = {k: v[order].tolist() for k, v in columns.items()}
    for j, f in enumerate(feat_idx[order].tolist()):
        out[catchments[f].id]["points"].append({k: values[k][j] for k in columns})
    return {
        "geometry": out,
        "metadata": {
            "grid": grid.name, "grid title": grid.title, "grid source": grid.source,
            "cell size (degrees)": grid.cell,
            "grid extent": [grid.west, grid.south, grid.east, grid.north],
            "projection": grid.crs, "projection reason": grid.crs_reason,
            "units": {"latitude": "degrees north", "longitude": "degrees east",
                      "cellArea": "km2", "containedArea": "km2",
                      "percentArea": "% of the cell", "percentCatchment": "% of the catchment"},
            "number of features": len(catchments), "number of points": int(keep.sum()),
            "catchment areas (km2)": {c.id: float(a) / 1e6 for c, a in zip(catchments, feat_area)},
            # Below 100 where a catchment reaches past the edge of the grid.
            "percent of catchment inside the grid": {
                c.id: float(p) for c, p in zip(catchments, 100.0 * np.bincount(
                    feat_idx, weights=contained, minlength=len(catchments)) / feat_area)},
        },
    }


def read_vector_file(data: bytes, filename: str = "") -> dict[str, Any]:
    """An uploaded vector file (zipped shapefile, GeoPackage, GeoJSON) as a GeoJSON
    FeatureCollection in EPSG:4326. The format is recognised from the bytes; the
    filename is not trusted and not used. See :mod:`.vector_upload` for what is
    refused and why."""
    return read_vector(data)
