"""Uploaded vector files, read as data and never as instructions.

An upload is hostile until proven otherwise. GDAL, left to itself, opens
whatever a file claims to be: a VRT that reads ``/etc/passwd`` through the CSV
driver, a ``/vsicurl/`` URL that makes the server fetch from its own network,
a GeoPackage whose views reach into other files. This module therefore
accepts exactly three formats, each recognised by its content (never by the
filename), and reads each one through the narrowest path available:

* **GeoJSON** is parsed in Python (orjson); GDAL never sees it.
* **GeoPackage** is checked (SQLite header, GeoPackage application id, a schema
  of plain tables and the standard's own indexes and triggers only) and read
  with Python's sqlite3 from an in-memory copy, the geometries decoded with
  shapely (:mod:`.gpkg_upload`); GDAL never sees it either.
* **Zipped shapefile**: the archive is inspected with :mod:`zipfile` (no
  symlinks, no paths leaving the archive, no nested archives, no foreign
  members, size and compression-ratio caps on every member, read or not, from the
  archive's directory before anything is unpacked), the .shp/.shx/.dbf/.prj/.cpg
  files are checked by their magic bytes and copied into a new in-memory zip
  of fixed names, and only that is given to GDAL, with its network features
  turned down for the duration of the read.

Every format's features and vertices are counted before its geometries are built
(:mod:`.limits`): past ``MAX_FEATURES`` or ``QED_MAX_VERTICES`` the upload is refused.

Anything else is refused with :class:`UploadRefused` (a ValueError) whose
fixed text says what was wrong with the upload and never carries a server
path, a member name chosen by the uploader or GDAL's own wording.
"""
from __future__ import annotations

import io
import logging
import re
import stat
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import orjson
import shapely

from . import MAX_FEATURES, MAX_VERTICES
from .gpkg_upload import is_geopackage, read_geopackage
from .limits import count_number_arrays, count_shapefile, too_many_features, too_many_vertices
from .upload_common import UploadRefused, feature_collection
from .upload_crs import crs_from_epsg_name, crs_from_gdal, to_lonlat

__all__ = ["MAX_MEMBERS", "MAX_UNCOMPRESSED", "MAX_RATIO", "read_vector", "UploadRefused"]

MAX_MEMBERS = 64                      # members in an uploaded zip (a few shapefiles and their sidecars)
# Bytes, all members of one zip together. The members, the rebuilt zip and GDAL's
# in-memory copy each hold this much at worst: keep it a small multiple of the body limit.
MAX_UNCOMPRESSED = 128 * 1024 * 1024
MAX_RATIO = 100                       # uncompressed / compressed, for members above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024             # small members may compress well without being bombs

SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# Files that shapefile tools put beside a shapefile and that GDAL does not need:
# accepted in the archive, never read.
IGNORED = (".xml", ".sbn", ".sbx", ".qix", ".qmd", ".cst", ".fix", ".atx", ".aih", ".ain", ".shp.xml")
SHAPE_TYPES = {0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28, 31}
DBF_VERSIONS = {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xF5, 0xFB}
WKT_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*(PROJCS|GEOGCS|GEOCCS|COMPD_CS|LOCAL_CS|VERT_CS|PROJCRS|GEOGCRS|GEODCRS|"
                       rb"BOUNDCRS|COMPOUNDCRS|VERTCRS|ENGCRS)\s*\[", re.I)
CODEPAGE = re.compile(rb"\s*[A-Za-z0-9_. -]{0,40}\s*")

logger = logging.getLogger(__name__)
FORMATS = "a zipped shapefile, a GeoPackage or a GeoJSON file"


def read_vector(data: bytes, max_vertices: int = MAX_VERTICES,
                max_features: int = MAX_FEATURES) -> dict[str, Any]:
    """An uploaded vector file -> GeoJSON FeatureCollection in EPSG:4326.

    The format is decided from the bytes alone; the first polygon layer is
    read (else the first layer), attributes become properties. More than
    ``max_features`` features or ``max_vertices`` vertices are refused before
    any geometry is built.
    """
    try:
        return _read(data, max_vertices, max_features)
    except UploadRefused:
        raise
    except Exception:  # a library's ValueError or a reader bug: its text may quote a path
        logger.exception("an upload could not be read")
        raise UploadRefused(f"the upload could not be read as {FORMATS}") from None


def _read(data: bytes, max_vertices: int, max_features: int) -> dict[str, Any]:
    if not data:
        raise UploadRefused("the uploaded file is empty")
    head = data[:4]
    if head == b"PK\x03\x04":
        return _read_shapefile_zip(data, max_vertices, max_features)
    if is_geopackage(data):
        return read_geopackage(data, max_features, max_vertices)
    if head == b"\x00\x00\x27\x0a":
        raise UploadRefused("upload a shapefile as a .zip holding its .shp, .shx, .dbf and .prj")
    text = data[3:] if data.startswith(b"\xef\xbb\xbf") else data   # a UTF-8 byte order mark
    if text.lstrip()[:1] == b"{":
        return _read_geojson(text, max_vertices, max_features)
    raise UploadRefused(f"the upload is not {FORMATS}")


# --- GeoJSON ---------------------------------------------------------------------------

GEOMETRY_TYPES = {"Polygon", "MultiPolygon", "Point", "MultiPoint", "LineString", "MultiLineString",
                  "GeometryCollection"}


def _read_geojson(data: bytes, max_vertices: int, max_features: int) -> dict[str, Any]:
    """Parse GeoJSON in Python: no driver, no URL, no file is ever opened. Its positions
    are counted in the text first: a file past the limit is never parsed into objects."""
    positions, complete = count_number_arrays(data, max_vertices)
    if positions > max_vertices:
        raise too_many_vertices(positions if complete else max_vertices, max_vertices,
                                "the file has" if complete else "the file has more than")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UploadRefused(f"the upload is not {FORMATS} (not valid JSON)") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "FeatureCollection":
        raw = doc.get("features")
        if not isinstance(raw, list):
            raise UploadRefused("the GeoJSON FeatureCollection has no features list")
    elif kind == "Feature":
        raw = [doc]
    elif kind in GEOMETRY_TYPES:
        raw = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        raise UploadRefused(f"the upload is not {FORMATS} (JSON, but not GeoJSON)")
    if not raw:
        raise UploadRefused("the GeoJSON file has no features")
    if len(raw) > max_features:
        raise too_many_features(len(raw), max_features, "the file has")
    crs = crs_from_epsg_name(doc.get("crs"))
    features = []
    for i, feat in enumerate(raw):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise UploadRefused(f"feature {i} is not a GeoJSON Feature object")
        props = feat.get("properties")
        clean: dict[str, Any] = {"type": "Feature",
                                 "properties": props if isinstance(props, dict) else {},
                                 "geometry": feat.get("geometry")}
        if isinstance(feat.get("id"), (str, int)) and not isinstance(feat.get("id"), bool):
            clean["id"] = feat["id"]
        features.append(clean)
    if crs is not None:  # an old-style named CRS other than lon/lat: reproject
        _reproject_features(features, crs)
    return {"type": "FeatureCollection", "features": features}


def _reproject_features(features: list[dict[str, Any]], crs: Any) -> None:
    for i, feat in enumerate(features):
        if not isinstance(feat["geometry"], dict):
            continue
        try:
            geom = shapely.geometry.shape(feat["geometry"])
        except Exception:  # malformed coordinates: the model's validation words it
            raise UploadRefused(f"feature {i}: not a valid GeoJSON geometry") from None
        feat["geometry"] = shapely.geometry.mapping(to_lonlat(np.array([geom], dtype=object), crs)[0])


# --- zipped shapefile ------------------------------------------------------------------

def _read_shapefile_zip(data: bytes, max_vertices: int, max_features: int) -> dict[str, Any]:
    clean = _clean_shapefile_zip(data, max_vertices, max_features)
    from pyogrio import list_layers, raw  # GDAL is only needed for shapefiles

    try:
        with _gdal_locked_down(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layers = list_layers(clean)
            polygon_layers = [i for i, (_, kind) in enumerate(layers) if kind and "Polygon" in kind]
            layer = polygon_layers[0] if polygon_layers else 0
            meta, _, wkb, fields = raw.read(clean, layer=layer, datetime_as_string=True,
                                            max_features=max_features + 1)
    except Exception:  # GDAL's text names in-memory paths: say nothing of it
        raise UploadRefused("the shapefile in the zip archive could not be read") from None
    if len(wkb) == 0:
        raise UploadRefused("the shapefile has no features")
    if len(wkb) > max_features:   # the .shx was counted: this is a second line
        raise too_many_features(max_features, max_features, "the shapefile has more than")
    try:
        geoms = shapely.force_2d(shapely.from_wkb(wkb))
    except Exception:
        raise UploadRefused("the shapefile holds a geometry that cannot be read") from None
    crs = crs_from_gdal(meta.get("crs"))
    if crs is not None:
        geoms = to_lonlat(geoms, crs)
    return feature_collection(geoms, list(meta["fields"]), [c.tolist() for c in fields])


def _clean_shapefile_zip(data: bytes, max_vertices: int = MAX_VERTICES,
                         max_features: int = MAX_FEATURES) -> bytes:
    """The shapefiles of an uploaded zip, checked, in a new zip of fixed member names.

    The size and ratio caps apply to every member, also those that are skipped, from the
    sizes in the archive's central directory (nothing is decompressed to check them)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise UploadRefused("the zip archive is damaged") from None
    if not infos:
        raise UploadRefused("the zip archive is empty")
    if len(infos) > MAX_MEMBERS:
        raise UploadRefused(f"the zip archive has more than {MAX_MEMBERS} members")
    total = 0
    for info in infos:
        _check_member(info)
        total += info.file_size
        if total > MAX_UNCOMPRESSED:
            raise UploadRefused(f"the zip archive unpacks to more than {MAX_UNCOMPRESSED // 2**20} MiB")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UploadRefused("a member of the zip archive is compressed suspiciously well "
                                f"(more than {MAX_RATIO}:1)")
    layers: dict[str, dict[str, bytes]] = {}
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename.rsplit("/", 1)[-1]
        lower = name.lower()
        if info.filename.startswith("__MACOSX/") or name.startswith("._"):
            continue  # macOS resource forks: never read
        if lower.endswith(IGNORED):
            continue
        stem, dot, ext = lower.rpartition(".")
        if not dot or not stem or "." + ext not in SIDECARS:
            raise UploadRefused("the zip archive holds a file that is not part of a shapefile "
                                "(.shp, .shx, .dbf, .prj, .cpg)")
        parts = layers.setdefault(stem, {})
        if "." + ext in parts:
            raise UploadRefused("the zip archive holds the same shapefile member twice")
        parts["." + ext] = _member_bytes(archive, info)
    if not layers:
        raise UploadRefused("the zip archive holds no shapefile")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as clean:
        for n, (stem, parts) in enumerate(sorted(layers.items())):
            missing = [e for e in (".shp", ".shx", ".dbf") if e not in parts]
            if missing:
                raise UploadRefused("each shapefile in the zip archive needs its .shp, .shx and .dbf")
            for ext, content in parts.items():
                _check_sidecar(ext, content)
            # Before GDAL reads a geometry: the records the .shx points at, counted.
            count_shapefile(parts[".shp"], parts[".shx"], max_features, max_vertices)
            for ext, content in parts.items():
                clean.writestr(f"layer{n}{ext}", content)
    return out.getvalue()


def _check_member(info: zipfile.ZipInfo) -> None:
    """Refuse members that could reach outside the archive or hide something."""
    name = info.filename
    parts = name.rstrip("/").split("/")
    if (not name or len(name) > 255 or "\\" in name or "\x00" in name or name.startswith("/")
            or ":" in parts[0] or any(p in ("", ".", "..") for p in parts)):
        raise UploadRefused("the zip archive holds a member whose name leaves the archive")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UploadRefused("the zip archive holds a symbolic link")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UploadRefused("the zip archive holds a member that is not a plain file")
    if info.flag_bits & 0x1:
        raise UploadRefused("the zip archive is encrypted")
    if not info.is_dir() and info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UploadRefused("the zip archive uses a compression method other than deflate")


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than its declared size (which was capped)."""
    try:
        with archive.open(info) as member:
            content = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
        raise UploadRefused("the zip archive is damaged") from None
    if len(content) != info.file_size:
        raise UploadRefused("the zip archive is damaged")
    return content


def _check_sidecar(ext: str, content: bytes) -> None:
    """Each file must look like what its extension says: no archive or VRT in disguise."""
    if ext in (".shp", ".shx"):
        ok = (len(content) >= 100 and content[:4] == b"\x00\x00\x27\x0a"
              and int.from_bytes(content[28:32], "little") == 1000
              and int.from_bytes(content[32:36], "little") in SHAPE_TYPES)
    elif ext == ".dbf":
        header = int.from_bytes(content[8:10], "little") if len(content) >= 32 else 0
        ok = len(content) >= 32 and content[0] in DBF_VERSIONS and 33 <= header <= len(content)
    elif ext == ".prj":
        ok = len(content) <= 65536 and WKT_START.match(content) is not None
    else:  # .cpg: the name of a code page
        ok = CODEPAGE.fullmatch(content) is not None
    if not ok:
        raise UploadRefused(f"the {ext} file in the zip archive is not a valid shapefile {ext} file")


# GDAL's configuration while it reads a shapefile. The file it opens is our own
# rebuilt zip of checked members, so no driver but the shapefile one can claim
# it; these options are the second line, so that even a GDAL bug in that path
# cannot reach the network or the file system.
LOCKDOWN = {
    # /vsicurl/ and the cloud handlers built on it only request names ending in
    # one of these extensions: none does, so no request leaves the machine.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".refused-by-flask-qed",
    # Should anything still try HTTP: give up at once, never retry.
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    # Never rebuild a missing .shx by scanning (the .shx is required and checked).
    "SHAPE_RESTORE_SHX": "NO",
    # No side-car .aux.xml lookups (PAM) beside the in-memory file.
    "GDAL_PAM_ENABLED": "NO",
    # Debug output could echo in-memory paths into logs.
    "CPL_DEBUG": "OFF",
}
# Not set: GDAL_DISABLE_READDIR_ON_OPEN would hide the members of our own zip
# (pyogrio opens the archive as a directory); OGR_SKIP / GDAL_SKIP act only when
# drivers are registered, which pyogrio has done at import.


@contextmanager
def _gdal_locked_down() -> Iterator[None]:
    """Apply LOCKDOWN for one read and restore the previous values after it."""
    from pyogrio import get_gdal_config_option, set_gdal_config_options

    before = {k: get_gdal_config_option(k) for k in LOCKDOWN}
    set_gdal_config_options(LOCKDOWN)
    try:
        yield
    finally:
        set_gdal_config_options(before)  # None clears an option that was unset
