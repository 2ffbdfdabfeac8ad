"""An uploaded NetCDF file of gridded data: recognised, checked and read.

The file is recognised by its first bytes (NetCDF-3 classic, 64-bit offset or
64-bit data: ``CDF\\x01``/``\\x02``/``\\x05``; NetCDF-4: the HDF5 signature), never by
its name, and read from memory (nothing is written to disk). Refused with a
:class:`~.upload_common.UploadRefused` (a 422 at the gateway):

* anything else, or a file past ``MAX_GRID_BYTES``;
* a NetCDF-4 (HDF5) file holding an external link, a dataset stored in external
  files, or a virtual dataset: each would make the reader open another file of the
  machine it runs on;
* a variable that is not (time, latitude, longitude) on one-dimensional CF
  coordinates (``standard_name``, ``units`` ``degrees_north``/``degrees_east`` or
  ``axis``), evenly spaced, with at most ``MAX_GRID_CELLS`` cells a step and
  ``MAX_TIME_STEPS`` steps, and a time coordinate CF can decode.

Names of the file's variables are quoted back (at most 64 characters each), since
choosing one is the client's task; no library's error text is.

Values are read only over the cells a catchment's bounding box covers; the fill
value, ``missing_value``, ``valid_range`` and scale/offset are applied as CF says
(netCDF4's masking and scaling), so a missing value is NaN.
"""
from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .grids import Grid
from .upload_common import UploadRefused

MAX_GRID_BYTES = 64 << 20        # an uploaded grid file
MAX_GRID_CELLS = 4_000_000       # cells of one time step (2,000 x 2,000)
MAX_TIME_STEPS = 200_000         # about 23 years of hourly steps
MAX_VALUES_READ = 20_000_000     # time steps x cells read for the catchments (160 MB as float64)

_SIGNATURES = {b"CDF\x01": "NetCDF-3 classic", b"CDF\x02": "NetCDF-3 64-bit offset",
               b"CDF\x05": "NetCDF-3 64-bit data", b"\x89HDF\r\n\x1a\n": "NetCDF-4 (HDF5)"}


def recognise(data: bytes) -> str:
    """The file's format from its first bytes; refused unless it is NetCDF."""
    if len(data) > MAX_GRID_BYTES:
        raise UploadRefused(f"the grid file is {len(data)} bytes; at most {MAX_GRID_BYTES} are taken")
    for signature, name in _SIGNATURES.items():
        if data.startswith(signature):
            if name.startswith("NetCDF-4"):
                _refuse_external(data)
            return name
    raise UploadRefused("the grid file is not NetCDF (NetCDF-3 or NetCDF-4): its first bytes say otherwise")


def _refuse_external(data: bytes) -> None:
    """Walk every HDF5 object: no external links, external storage or virtual datasets."""
    import h5py
    try:
        handle = h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError):
        raise UploadRefused("the grid file is not a readable NetCDF-4 (HDF5) file") from None
    with handle:
        seen: set[Any] = set()

        def walk(group: Any) -> Iterator[str]:
            for name in group:
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    yield "an external link to another file"
                    continue
                if isinstance(link, h5py.SoftLink):
                    continue  # points inside this file, at an object walked under its own name
                item = group[name]
                key = item.id.__hash__()
                if key in seen:
                    continue
                seen.add(key)
                if isinstance(item, h5py.Dataset):
                    if item.external:
                        yield "a dataset stored in other files"
                    elif item.is_virtual:
                        yield "a virtual dataset made of other files"
                elif isinstance(item, h5py.Group):
                    yield from walk(item)

        found = next(walk(handle), None)
    if found is not None:
        raise UploadRefused(f"the grid file refers to other files, which are not read: {found}")


def encode(data: bytes) -> dict[str, Any]:
    """What a job keeps of an uploaded grid file: its bytes (base64), size, digest and format."""
    return {"format": recognise(data), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "base64": base64.b64encode(data).decode("ascii")}


def decode(value: Any) -> bytes:
    """The file's bytes from :func:`encode`'s form, or from base64 text alone."""
    text = value.get("base64") if isinstance(value, dict) else value
    if not isinstance(text, str):
        raise UploadRefused("give the grid file as an upload, or as base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise UploadRefused("the grid file's base64 text is not valid base64") from None


@dataclass
class GridVariable:
    """One variable of an open file on a regular longitude/latitude grid."""
    name: str
    units: str
    long_name: str
    grid: Grid                    # south-up, west-to-east; cells as the file's centres say
    times: list[str]              # "YYYY-MM-DD HH:MM", one per step
    _var: Any
    _axes: tuple[int, int, int]   # positions of (time, lat, lon) in the variable's dimensions
    _lat_flipped: bool            # the file's latitudes run north to south
    _lon_offset: float            # added to a catchment's longitudes (0..360 grids)

    def read(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Values at (row, col) of the grid for every time step: float64 [time, cell], NaN missing."""
        if len(rows) == 0:
            return np.empty((len(self.times), 0))
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
        if len(self.times) * (r1 - r0 + 1) * (c1 - c0 + 1) > MAX_VALUES_READ:
            raise UploadRefused(f"the catchments span {(r1 - r0 + 1) * (c1 - c0 + 1)} cells over "
                                f"{len(self.times)} steps; at most {MAX_VALUES_READ} values are read")
        nrows = self.grid.nrows
        file_rows = (nrows - 1 - r1, nrows - r0) if self._lat_flipped else (r0, r1 + 1)
        index: list[Any] = [slice(None)] * 3
        index[self._axes[0]] = slice(None)
        index[self._axes[1]] = slice(*file_rows)
        index[self._axes[2]] = slice(c0, c1 + 1)
        block = np.ma.filled(np.ma.asarray(self._var[tuple(index)], dtype=np.float64), np.nan)
        block = np.moveaxis(block, self._axes, (0, 1, 2))
        if self._lat_flipped:
            block = block[:, ::-1, :]
        return block[:, rows - r0, cols - c0]

    @property
    def lon_offset(self) -> float:
        return self._lon_offset


def open_variable(data: bytes, variable: str) -> tuple[Any, GridVariable]:
    """The open dataset (close it when done) and ``variable`` on its grid."""
    import netCDF4
    recognise(data)
    try:
        dataset = netCDF4.Dataset("upload.nc", mode="r", memory=data)
    except OSError:
        raise UploadRefused("the grid file cannot be read as NetCDF") from None
    try:
        return dataset, _variable(dataset, variable)
    except BaseException:
        dataset.close()
        raise


def variables_of(dataset: Any) -> list[str]:
    """Names of the variables with three or more dimensions: the candidates."""
    return [name for name, var in dataset.variables.items() if len(var.dimensions) >= 3]


def _variable(dataset: Any, name: str) -> GridVariable:
    if name not in dataset.variables:
        names = variables_of(dataset) or list(dataset.variables)
        raise UploadRefused(f"the grid file has no variable {_short(name)!r}; it has: "
                            + ", ".join(_short(n) for n in names[:20]) + (", …" if len(names) > 20 else ""))
    var = dataset.variables[name]
    kinds = [_kind(dataset, dim) for dim in var.dimensions]
    if sorted(kinds) != ["lat", "lon", "time"]:
        raise UploadRefused(f"variable {_short(name)!r} has {len(kinds)} dimensions: it must have exactly a "
                            "time, a latitude and a longitude dimension, each with its CF coordinate variable")
    axes = (kinds.index("time"), kinds.index("lat"), kinds.index("lon"))
    lat = _coordinate(dataset, var.dimensions[axes[1]], "latitude")
    lon = _coordinate(dataset, var.dimensions[axes[2]], "longitude")
    if len(lat) * len(lon) > MAX_GRID_CELLS:
        raise UploadRefused(f"the grid has {len(lat) * len(lon)} cells a step; at most {MAX_GRID_CELLS}")
    time_var = dataset.variables[var.dimensions[axes[0]]]
    if len(time_var) > MAX_TIME_STEPS:
        raise UploadRefused(f"the grid has {len(time_var)} time steps; at most {MAX_TIME_STEPS}")
    dlat, dlon = _spacing(lat, "latitude"), _spacing(lon, "longitude")
    flipped = dlat < 0
    lat = lat[::-1] if flipped else lat
    dlat, dlon = abs(dlat), dlon
    west, south = float(lon[0]) - dlon / 2, float(lat[0]) - dlat / 2
    if south < -90 - 1e-9 or south + len(lat) * dlat > 90 + 1e-9:
        raise UploadRefused("the grid's latitudes reach past the poles")
    if west < -180 - 1e-9 or west + len(lon) * dlon > 360 + 1e-9 or len(lon) * dlon > 360 + 1e-9:
        raise UploadRefused("the grid's longitudes must lie within -180..180 or 0..360 degrees east")
    offset = 360.0 if west + len(lon) * dlon > 180 else 0.0
    crs, reason = _equal_area(west - offset, south, west - offset + len(lon) * dlon, south + len(lat) * dlat)
    grid = Grid("upload", f"the uploaded grid of {_short(name)!r}", west, south, float(dlon), len(lon), len(lat),
                crs, reason, "uploaded NetCDF file", cell_y=float(dlat))
    return GridVariable(name, str(getattr(var, "units", "")), str(getattr(var, "long_name", name)), grid,
                        _times(time_var), var, axes, flipped, offset)


def _short(text: str) -> str:
    """A name from the file, as quoted back: at most 64 characters."""
    return text if len(text) <= 64 else text[:63] + "…"


def _kind(dataset: Any, dim: str) -> str:
    """"time", "lat", "lon" or "other" for a dimension, from its coordinate variable's CF attributes."""
    var = dataset.variables.get(dim)
    if var is None or len(var.dimensions) != 1:
        return "other"
    attr = {k: str(getattr(var, k, "")).strip().lower() for k in ("standard_name", "units", "axis")}
    if attr["standard_name"] == "time" or attr["axis"] == "t" or " since " in attr["units"]:
        return "time"
    if attr["standard_name"] == "latitude" or attr["units"] in ("degrees_north", "degree_north", "degrees_n") \
            or (attr["axis"] == "y" and attr["units"].startswith("degree")):
        return "lat"
    if attr["standard_name"] == "longitude" or attr["units"] in ("degrees_east", "degree_east", "degrees_e") \
            or (attr["axis"] == "x" and attr["units"].startswith("degree")):
        return "lon"
    return "other"


def _coordinate(dataset: Any, dim: str, what: str) -> np.ndarray:
    values = np.ma.filled(np.ma.asarray(dataset.variables[dim][:], dtype=np.float64), np.nan)
    if values.size < 1 or not np.isfinite(values).all():
        raise UploadRefused(f"the {what} coordinate {dim!r} is empty or has missing values")
    return values


def _spacing(values: np.ndarray, what: str) -> float:
    """The even step of a coordinate (negative when it decreases); refused if uneven."""
    if values.size == 1:
        raise UploadRefused(f"the {what} coordinate has a single value: the cell size cannot be known")
    steps = np.diff(values)
    step = float(np.median(steps))
    if step == 0 or not np.allclose(steps, step, rtol=1e-4, atol=1e-9 * abs(step)):
        raise UploadRefused(f"the {what} coordinate is not evenly spaced: only regular "
                            "longitude/latitude grids are taken")
    if what == "longitude" and step < 0:
        raise UploadRefused("the longitude coordinate must increase west to east")
    return step


def _equal_area(west: float, south: float, east: float, north: float) -> tuple[str, str]:
    """The equal-area projection percent_area uses for a grid of this extent."""
    if -130 <= west and east <= -60 and 20 <= south and north <= 55:
        return "EPSG:5070", ("EPSG:5070 (NAD83 / Conus Albers) is equal-area with low distortion over the "
                             "conterminous US, where this grid lies (as percent_area uses it for NLDAS and PRISM).")
    return "EPSG:6933", ("EPSG:6933 (WGS 84 / NSIDC EASE-Grid 2.0 Global) is a cylindrical equal-area "
                         "projection valid world-wide (as percent_area uses it for GLDAS).")


def _times(time_var: Any) -> list[str]:
    import cftime
    units = str(getattr(time_var, "units", ""))
    calendar = str(getattr(time_var, "calendar", "standard"))
    values = np.ma.filled(np.ma.asarray(time_var[:], dtype=np.float64), np.nan)
    if not np.isfinite(values).all():
        raise UploadRefused("the time coordinate has missing values")
    try:
        stamps = cftime.num2date(values, units, calendar=calendar)
    except (ValueError, TypeError):
        raise UploadRefused(f"the time coordinate cannot be decoded as CF time (units {_short(units)!r}, "
                            f"calendar {_short(calendar)!r})") from None
    return [t.strftime("%Y-%m-%d %H:%M") for t in np.atleast_1d(stamps)]
