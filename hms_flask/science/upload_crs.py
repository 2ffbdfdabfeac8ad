"""Coordinate reference systems named by uploaded files, taken as data.

A CRS description can carry more than numbers: WKT2 may name grid files
(PARAMETERFILE, GEOIDMODEL), PROJ strings may name init files or grids, and a
GeoJSON ``crs`` member may be a link to fetch. PROJ would go looking for those
files, on disk or (with networking on) on the web. So an uploaded CRS is only
ever an EPSG code or a WKT text without such references; PROJ strings are
never parsed. Every failure is an :class:`UploadRefused` with a fixed message.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer

from . import projcontext  # noqa: F401,E402 - holds the PROJ context (see its docstring)
from pyproj.exceptions import CRSError

from .upload_common import UploadRefused

__all__ = ["crs_from_epsg_name", "crs_from_gdal", "crs_from_gpkg", "to_lonlat"]

LONLAT = CRS.from_epsg(4326)
# Words that make PROJ open a file (or a URL) while building a CRS or a transformation.
FILE_WORDS = ("PARAMETERFILE", "GEOIDMODEL", "NADGRIDS", "GEOIDGRIDS", "+INIT", "HGRIDSHIFT", "VGRIDSHIFT",
              "HTTP:", "HTTPS:", "FILE:", "/VSI")
EPSG_NAME = re.compile(r"(?:urn:ogc:def:crs:)?EPSG:(?:[0-9.]*:)?:?(\d{4,6})"
                       r"|https?://www\.opengis\.net/def/crs/EPSG/0/(\d{4,6})", re.I)
CRS84_NAME = re.compile(r"(?:urn:ogc:def:crs:)?OGC:(?:1\.3:)?CRS84|CRS84"
                        r"|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84", re.I)


def _refuse(what: str) -> UploadRefused:
    return UploadRefused(f"the file's coordinate reference system {what}")


def _checked(crs: CRS) -> CRS | None:
    """None for longitude/latitude (nothing to do), else the CRS."""
    return None if crs.equals(LONLAT, ignore_axis_order=True) else crs


def crs_from_epsg(code: Any) -> CRS | None:
    try:
        return _checked(CRS.from_epsg(int(code)))
    except (CRSError, ValueError, TypeError, OverflowError):
        raise _refuse("is not a known EPSG code") from None


def crs_from_wkt(text: str) -> CRS | None:
    """A WKT CRS that names no file, grid or URL."""
    if not isinstance(text, str) or len(text) > 65536:
        raise _refuse("could not be read")
    if any(word in text.upper() for word in FILE_WORDS):
        raise _refuse("refers to an outside file, which is not accepted")
    try:
        crs = CRS.from_wkt(text)
    except (CRSError, ValueError, TypeError):
        raise _refuse("could not be read") from None
    # pyproj may have completed the definition from its database: check again.
    if any(word in crs.to_wkt().upper() for word in FILE_WORDS):
        raise _refuse("refers to an outside file, which is not accepted")
    return _checked(crs)


def crs_from_gdal(text: Any) -> CRS | None:
    """The CRS pyogrio reports for a layer: ``EPSG:n`` or WKT."""
    if not text:
        return None
    match = re.fullmatch(r"EPSG:(\d{1,6})", str(text))
    return crs_from_epsg(match.group(1)) if match else crs_from_wkt(str(text))


def crs_from_gpkg(srs_id: Any, organization: Any, code: Any, definition: Any) -> CRS | None:
    """A GeoPackage gpkg_spatial_ref_sys row. Ids 0 and -1 are the standard's
    "undefined" systems: taken as longitude/latitude, as a file without a CRS."""
    if srs_id in (0, -1):
        return None
    if isinstance(organization, str) and organization.upper() == "EPSG":
        return crs_from_epsg(code)
    return crs_from_wkt(definition)


def crs_from_epsg_name(member: Any) -> CRS | None:
    """The (pre-RFC 7946) ``crs`` member of a GeoJSON object: a named EPSG CRS only."""
    if member is None:
        return None
    if (not isinstance(member, dict) or member.get("type") != "name"
            or not isinstance(member.get("properties"), dict)
            or not isinstance(member["properties"].get("name"), str)):
        raise _refuse("must be absent (longitude/latitude) or named by an EPSG code; "
                      "links are not followed")
    name = member["properties"]["name"].strip()
    if CRS84_NAME.fullmatch(name):
        return None
    match = EPSG_NAME.fullmatch(name)
    if not match:
        raise _refuse("must be absent (longitude/latitude) or named by an EPSG code")
    return crs_from_epsg(match.group(1) or match.group(2))


def to_lonlat(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Reproject shapely geometries from ``crs`` to longitude/latitude (EPSG:4326)."""
    try:
        transformer = Transformer.from_crs(crs, LONLAT, always_xy=True)
        return shapely.transform(
            geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    except Exception:  # PROJ's message could name its search paths
        raise _refuse("could not be converted to longitude/latitude") from None
