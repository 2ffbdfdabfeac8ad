"""Uploaded GeoPackages, read with Python's sqlite3 and shapely instead of GDAL.

A GeoPackage is an SQLite database, and a database can hold more than rows:
views and virtual tables run code when read (GDAL's SQLite even offers a
virtual table that opens any file GDAL can read), triggers run code when
written. So the upload is opened as an in-memory copy (``deserialize``: no
file, no journal, no neighbouring database; on Python 3.10 a private
read-only, immutable file), read-only (``query_only``), with
``trusted_schema`` off and an authorizer that allows reading and nothing else;
its schema must be plain tables and indexes plus the few virtual tables and
triggers the GeoPackage standard and GDAL themselves create. Geometries are
GeoPackage binary (a short header, then WKB) and are decoded with shapely, once
their points, counted from the WKB, are within the vertex limit (:mod:`.limits`).
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import struct
import tempfile
import time
import urllib.parse
from typing import Any, Callable

import numpy as np
import shapely

from . import MAX_VERTICES
from .limits import count_wkb, too_many_features, too_many_vertices
from .upload_common import UploadRefused, feature_collection
from .upload_crs import crs_from_gpkg, to_lonlat

__all__ = ["is_geopackage", "read_geopackage"]

SQLITE_MAGIC = b"SQLite format 3\x00"
APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")   # header bytes 68..71
TIME_LIMIT = 20.0   # seconds of SQLite work for one upload
ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}

# The spatial index of the GeoPackage "rtree" extension; nothing else virtual.
RTREE = re.compile(r'CREATE VIRTUAL TABLE\s+"?rtree_[^"\s]+"?\s+USING\s+rtree\s*\(\s*id\s*,\s*minx\s*,'
                   r'\s*maxx\s*,\s*miny\s*,\s*maxy\s*\)\s*', re.I)
# Triggers that the standard (tile matrix, metadata, rtree index) and GDAL
# (feature counts) create. Triggers fire only on INSERT/UPDATE/DELETE and this
# reader never writes (the connection is query_only), so even these never run;
# any other trigger means the file was made for something else and is refused.
KNOWN_TRIGGERS = re.compile(r"rtree_.+_(insert|update\d*|delete)|trigger_(insert|delete)_feature_count_.+"
                            r"|gpkg_tile_matrix_.+_(insert|update)|gpkg_metadata(_reference)?_.+_(insert|update)")
# What the authorizer lets SQLite do on our behalf: read and select. Our own
# queries call no SQL function, so none is allowed: a generated column that
# calls one (the only way a plain table could) makes the read fail.
ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_PRAGMA}
ALLOWED_PRAGMAS = {"table_info", "query_only", "trusted_schema"}


def _refuse(why: str) -> UploadRefused:
    return UploadRefused(f"the GeoPackage {why}")


def is_geopackage(data: bytes) -> bool:
    """SQLite's header and the GeoPackage application id, from the bytes alone."""
    return data[:16] == SQLITE_MAGIC and data[68:72] in APPLICATION_IDS


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _authorize(action: int, arg1: Any, _arg2: Any, _db: Any, _trigger: Any) -> int:
    if action == sqlite3.SQLITE_PRAGMA:
        return sqlite3.SQLITE_OK if arg1 in ALLOWED_PRAGMAS else sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def _open(data: bytes) -> tuple[sqlite3.Connection, Callable[[], None]]:
    """A read-only connection to a copy of the upload, and what closes it."""
    image = bytearray(data)
    if image[18:20] == b"\x02\x02":
        image[18:20] = b"\x01\x01"   # WAL mode: the copy is read as a rollback-journal file
    folder = None
    try:
        if hasattr(sqlite3.Connection, "deserialize"):   # Python 3.11+: never touches a file
            con = sqlite3.connect(":memory:", isolation_level=None)
            con.deserialize(bytes(image))
        else:   # Python 3.10: a private file, opened read-only and immutable (no journal, no locks)
            folder = tempfile.mkdtemp(prefix="qed-upload-")
            path = os.path.join(folder, "upload.gpkg")
            with open(path, "wb") as fh:
                fh.write(image)
            con = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro&immutable=1", uri=True,
                                  isolation_level=None)
        con.execute("PRAGMA query_only = ON")
        con.execute("PRAGMA trusted_schema = OFF")
    except sqlite3.Error:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise _refuse("is damaged") from None
    deadline = time.monotonic() + TIME_LIMIT
    con.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    con.set_authorizer(_authorize)

    def close() -> None:
        con.close()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    return con, close


def _check_schema(con: sqlite3.Connection) -> dict[str, str]:
    """Every schema object must be harmless; returns {plain table name: its SQL}."""
    rows = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    tables = {name: sql or "" for kind, name, _, sql in rows
              if kind == "table" and not (sql or "").upper().startswith("CREATE VIRTUAL")}
    for kind, name, tbl_name, sql in rows:
        if kind == "view":
            raise _refuse("holds a view; only plain tables are accepted")
        if kind == "table" and name not in tables and not RTREE.fullmatch(sql or ""):
            raise _refuse("holds a virtual table other than a spatial index")
        if kind == "trigger" and not (KNOWN_TRIGGERS.fullmatch(name or "") and tbl_name in tables):
            raise _refuse("holds a trigger the GeoPackage standard does not define")
        if kind not in ("table", "index", "trigger"):
            raise _refuse("holds an unknown kind of schema object")
    for required in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_spatial_ref_sys"):
        if required not in tables:
            raise _refuse(f"has no {required} table")
    return tables


def read_geopackage(data: bytes, max_features: int, max_vertices: int = MAX_VERTICES) -> dict[str, Any]:
    """The first polygon feature layer (else the first feature layer) as a
    GeoJSON FeatureCollection in EPSG:4326, attributes as properties. More than
    ``max_features`` rows or ``max_vertices`` points are refused before any geometry
    is decoded."""
    con, close = _open(data)
    try:
        tables = _check_schema(con)
        layers = con.execute(
            "SELECT c.table_name, g.column_name, g.geometry_type_name, g.srs_id FROM gpkg_contents c "
            "JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
            "WHERE c.data_type = 'features' ORDER BY c.rowid").fetchall()
        layers = [row for row in layers if row[0] in tables]
        if not layers:
            raise _refuse("has no layer with geometries (an attribute table cannot be used)")
        polygon = [row for row in layers if "POLYGON" in str(row[2]).upper()]
        table, geom_col, _, srs_id = (polygon or layers)[0]
        srs = con.execute("SELECT organization, organization_coordsys_id, definition "
                          "FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)).fetchone()
        columns = con.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
        integer_keys = [c[1] for c in columns if c[5] and "INT" in str(c[2]).upper()]
        fid = integer_keys[0] if len(integer_keys) == 1 else None   # GDAL's feature id, not an attribute
        names = [c[1] for c in columns if c[1] not in (geom_col, fid)]
        select = ", ".join(_quote(n) for n in [geom_col, *names])
        rows = con.execute(f"SELECT {select} FROM {_quote(table)} LIMIT ?", (max_features + 1,)).fetchall()
    except sqlite3.Error:  # damaged pages, the time limit, a denied action
        raise _refuse("could not be read") from None
    finally:
        close()
    if not rows:
        raise _refuse("layer has no features")
    if len(rows) > max_features:
        raise too_many_features(max_features, max_features, "the GeoPackage layer has more than")
    if srs_id not in (0, -1) and srs is None:
        raise _refuse("names a coordinate reference system it does not define")
    crs = crs_from_gpkg(srs_id, *(srs or (None, None, None)))
    starts = [_wkb_start(row[0], i) for i, row in enumerate(rows)]
    vertices = sum(_points(row[0], start, i) for i, (row, start) in enumerate(zip(rows, starts)))
    if vertices > max_vertices:
        raise too_many_vertices(vertices, max_vertices, "the GeoPackage layer has")
    geoms = np.array([_geometry(row[0], start, i) for i, (row, start) in enumerate(zip(rows, starts))],
                     dtype=object)
    if crs is not None:
        geoms = to_lonlat(geoms, crs)
    return feature_collection(geoms, names, [[row[j + 1] for row in rows] for j in range(len(names))])


def _wkb_start(blob: Any, index: int) -> int | None:
    """Where the WKB of a GeoPackage binary geometry starts; None when absent or empty."""
    if blob is None:
        return None
    if not isinstance(blob, bytes) or len(blob) < 8 or blob[:2] != b"GP" or blob[2] != 0:
        raise _refuse(f"feature {index} has a geometry that is not GeoPackage binary")
    flags = blob[3]
    envelope = ENVELOPE_BYTES.get((flags >> 1) & 0x07)
    if flags & 0x20 or envelope is None:   # extended (non-standard) geometry types
        raise _refuse(f"feature {index} has a geometry of a type that is not supported")
    return None if flags & 0x10 else 8 + envelope


def _points(blob: bytes, start: int | None, index: int) -> int:
    if start is None:
        return 0
    try:
        return count_wkb(blob, start)
    except (ValueError, struct.error):
        raise _refuse(f"feature {index} has a geometry that cannot be read") from None


def _geometry(blob: bytes, start: int | None, index: int) -> Any:
    """GeoPackage binary -> shapely geometry (2-D), None when absent or empty."""
    if start is None:
        return None
    try:
        return shapely.force_2d(shapely.from_wkb(blob[start:]))
    except Exception:  # shapely's message quotes the bytes
        raise _refuse(f"feature {index} has a geometry that cannot be read") from None
