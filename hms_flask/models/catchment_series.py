"""Catchment series: the area-weighted series of a gridded variable over each catchment.

The grid is an uploaded NetCDF file (NetCDF-3 or NetCDF-4, CF longitude/latitude/time
coordinates, a regular grid) in the form field ``grid_file``, the variable is named
in ``variable``, and the catchments are GeoJSON as ``percent_area`` takes them. Each
catchment's cell weights are ``percent_area``'s own intersection areas on the
equal-area projection; see :mod:`hms_flask.science.catchment_series`.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ..science import MAX_CELLS
from . import percent_area

NAME = "catchment_series"
TITLE = "Catchment series of gridded data"
DESCRIPTION = ("The area-weighted time series of a variable of an uploaded NetCDF grid over each catchment, "
               "weighted by the catchment's area in each cell (percent_area's intersection, equal-area "
               "projection).")
VERSION = "1.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Catchment": ["geometry"],
    "Grid": ["grid_file", "variable"],
}
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Catchment": ["geometry"],
    "Data": ["variable", "grid_file"],
}
BATCH = False
UPLOAD_FIELD = "grid_file"
TIME_LIMIT = 300                 # s
COST_UNITS = "values (catchment grid cells x time steps)"


def science() -> ModuleType:
    """The NetCDF reader, imported on first use (it loads netCDF4, h5py, shapely and pyproj)."""
    from ..science import netcdf_grid
    return netcdf_grid


MAX_COST = 20_000_000            # netcdf_grid.MAX_VALUES_READ, without importing the reader


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] = Field(
        ..., description="Catchment(s) as GeoJSON (a Polygon/MultiPolygon geometry, a Feature or a "
                         "FeatureCollection, longitude/latitude, EPSG:4326), as percent_area takes them; "
                         "in a form, the GeoJSON text.",
        json_schema_extra={"units": "degrees (EPSG:4326 longitude, latitude)"})
    variable: str = Field(..., min_length=1, max_length=256,
                          description="Name of the NetCDF variable to average (time, latitude, longitude)",
                          json_schema_extra={"units": "-"})
    grid_file: dict[str, Any] = Field(
        ..., description="The NetCDF file (NetCDF-3 or NetCDF-4; a regular longitude/latitude grid with CF "
                         "coordinates), uploaded in the form field grid_file, or its bytes as base64 text",
        json_schema_extra={"units": "-", "format": "binary"})
    _steps: int = PrivateAttr(0)
    _cells: int = PrivateAttr(0)

    @field_validator("geometry", mode="before")
    @classmethod
    def _geojson(cls, value: Any) -> Any:
        """GeoJSON text (a form field) parsed; features and vertices counted before any geometry is built."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError("geometry is not valid GeoJSON text") from None
        return percent_area.bounded_geojson(cls.__name__, value)

    @field_validator("grid_file", mode="before")
    @classmethod
    def _netcdf(cls, value: Any) -> Any:
        """An upload (already read) or base64 text: recognised by its bytes and kept as base64."""
        nc = science()
        return nc.encode(nc.decode(value))  # digest and format computed here, never taken as given

    @model_validator(mode="after")
    def _check(self) -> "Inputs":
        from ..science import catchment_series as cs
        from ..science import percent_area as pa
        nc = science()
        dataset, variable = nc.open_variable(nc.decode(self.grid_file), self.variable)
        with dataset:
            catchments = cs.shifted(pa.parse_geojson(self.geometry), variable.lon_offset)
            self._cells = pa.check_catchments(catchments, variable.grid, MAX_CELLS)
            self._steps = len(variable.times)
        self.geometry = pa.stored_form(pa.parse_geojson(self.geometry))
        return self


# The form's prefill: three days of a made-up precipitation field on twelve NLDAS-aligned cells
# (values i + 10 j + 100 t at column i, row j, day t) over percent_area's example catchment.
EXAMPLE = {
    "variable": "prcp",
    "grid_file": base64.b64encode((Path(__file__).parent / "data" / "example_grid.nc").read_bytes()).decode(),
    "geometry": percent_area.EXAMPLE["geometry"],
}
EXAMPLE_SOURCE = "a synthetic grid (hms_flask/models/data/example_grid.nc, written by tests/hms/netcdf_files.py)"

OUTPUTS = {
    "columns": {"description": "Column names: DateTime, then the catchment ids", "units": "-"},
    "index": {"description": "Row numbers", "units": "-"},
    "data": {"description": "Rows of [DateTime 'YYYY-MM-DD HH:MM', value of each catchment]; null where no "
                            "cell of the catchment has a value at that step",
             "units": "the variable's units (metadata.units.value)"},
    "metadata": {"description": "Variable, units, grid, projection and each catchment's cell weights",
                 "units": "km2 (weights)"},
}


def estimate_cost(inputs: Inputs) -> int:
    return max(1, inputs._cells) * max(1, inputs._steps)


def read_upload(data: bytes, filename: str) -> dict[str, Any]:
    """The uploaded NetCDF file, checked and kept as base64 with its digest."""
    return science().encode(data)


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    from ..science import catchment_series as cs
    from ..science import percent_area as pa
    nc = science()
    dataset, variable = nc.open_variable(nc.decode(inputs.pop("grid_file")), inputs["variable"])
    with dataset:
        catchments = cs.shifted(pa.catchments_from(inputs.pop("geometry")), variable.lon_offset)
        result = cs.catchment_series(catchments, variable)
    return result
