"""Percent area: the share of each NLDAS/GLDAS/PRISM grid cell covered by catchments.

The catchments are GeoJSON (geometry, Feature or FeatureCollection, EPSG:4326)
in ``geometry``, or an uploaded zipped shapefile / GeoPackage / GeoJSON file.
Each feature is keyed by its COMID, FEATUREID, featureid, comid or id attribute
(or the Feature id; a lone geometry is "0"). At most MAX_FEATURES features and
MAX_VERTICES vertices (``QED_MAX_VERTICES``), counted before any geometry is built.
"""
from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator,
                      model_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from flask_qed import FieldError

from ..science import MAX_CELLS, MAX_FEATURES, MAX_VERTICES

if TYPE_CHECKING:  # for the type hint only: importing it at run time loads shapely and pyproj
    from ..science.grids import Grid


# The science imports shapely and pyproj (about 14 MB a process). The gateway and every
# worker import this declaration at start-up, so the science is imported here on first
# use instead: a process that never checks or runs a percent-area job never loads them.
# (After the first call the import is a dictionary look-up in sys.modules.)
def science() -> ModuleType:
    """:mod:`hms_flask.science.percent_area`, imported on first use."""
    from ..science import percent_area
    return percent_area


def bounded_geojson(owner: str, value: Any) -> Any:
    """GeoJSON whose features and vertices were counted from the parsed JSON's array lengths,
    before shapely builds anything; past a limit, a validation error whose value is the count
    (``owner``: the model's inputs class, for the error)."""
    from ..science.limits import GeometryTooLarge, count_geojson
    try:
        count_geojson(value, MAX_FEATURES, MAX_VERTICES)
    except GeometryTooLarge as exc:
        raise ValidationError.from_exception_data(owner, [InitErrorDetails(
            type=PydanticCustomError("geometry_too_large", str(exc)), loc=(), input=exc.count)]) from None
    return value


def grid(name: str) -> "Grid":
    """The grid called ``name`` (nldas, gldas, prism), imported on first use."""
    from ..science.grids import GRIDS
    return GRIDS[name]


NAME = "percent_area"
TITLE = "Percent area of grid cells in catchments"
DESCRIPTION = ("For each catchment, every NLDAS, GLDAS or PRISM grid cell it intersects, with the "
               "cell area, the catchment area inside the cell and both percentages "
               "(areas on an equal-area projection, km2).")
VERSION = "2.0"
# the form's sections, in order, with the inputs each holds
SECTIONS = {
    "Catchment": ["geometry"],
    "Grid": ["grid"],
}
BATCH = False
ALIASES = ("gis/percentage",)
UPLOAD_FIELD = "geometry"
MAX_COST = MAX_CELLS     # cost: candidate (catchment, grid cell) pairs
COST_UNITS = "catchment grid cells"
TIME_LIMIT = 300         # s


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] = Field(
        ..., description="Catchment(s) as GeoJSON: a Polygon/MultiPolygon geometry, a Feature or a "
                         "FeatureCollection, longitude/latitude (EPSG:4326). An uploaded vector file "
                         "(zipped shapefile, GeoPackage, GeoJSON) may be sent instead.",
        json_schema_extra={"units": "degrees (EPSG:4326 longitude, latitude)"})
    grid: Literal["nldas", "gldas", "prism"] = Field(
        "nldas", description="Grid: nldas (0.125 deg CONUS), gldas (0.25 deg global, 60S-90N) "
                             "or prism (1/24 deg, 4 km CONUS)",
        json_schema_extra={"units": "-"})
    _catchments: Any = PrivateAttr(None)   # built once by the checks, counted by estimate_cost

    @field_validator("geometry", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return bounded_geojson(cls.__name__, value)

    @model_validator(mode="after")
    def _check_geometry(self) -> "Inputs":
        """The catchments built and checked; the job keeps them as WKB (see
        ``stored_form``), not as the GeoJSON's Python lists."""
        pa = science()
        try:
            catchments = pa.parse_geojson(self.geometry)
            pa.check_catchments(catchments, grid(self.grid), MAX_CELLS)
        except FieldError:
            raise
        except ValueError as exc:  # the geometry's fault, whatever the check
            raise FieldError("geometry", str(exc)) from None
        self._catchments = catchments
        self.geometry = pa.stored_form(catchments)
        return self


OUTPUTS = {
    "geometry": {"description": "Per feature id: points, one per intersecting cell, with latitude, "
                                "longitude (cell centre), cellArea, containedArea, percentArea and "
                                "percentCatchment", "units": "degrees, km2, %"},
    "metadata": {"description": "Grid, projection, units and counts", "units": "-"},
}
# The form's prefill: a small catchment south-west of Athens, Georgia (a few NLDAS cells).
EXAMPLE = {
    "grid": "nldas",
    "geometry": {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"COMID": 2088123},
        "geometry": {"type": "Polygon", "coordinates": [[
            [-83.62, 33.81], [-83.49, 33.86], [-83.36, 33.83], [-83.29, 33.74],
            [-83.33, 33.63], [-83.46, 33.58], [-83.58, 33.62], [-83.65, 33.71],
            [-83.62, 33.81]]]}}]},
}


def estimate_cost(inputs: Inputs) -> int:
    pa = science()
    catchments = inputs._catchments or pa.catchments_from(inputs.geometry)
    return pa.estimate_cells(catchments, grid(inputs.grid))


def read_upload(data: bytes, filename: str) -> dict[str, Any]:
    """An uploaded vector file -> GeoJSON FeatureCollection (EPSG:4326)."""
    return science().read_vector_file(data, filename)


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    """The areas. The geometry is taken out of ``inputs`` (the worker's own copy of the stored
    inputs): once the catchments are built it is freed before the areas are computed, not
    held beside them (GeoJSON stored by an earlier version: about 150 bytes a vertex)."""
    pa = science()
    catchments = pa.catchments_from(inputs.pop("geometry"))
    return pa.percent_area(catchments, inputs.get("grid") or "nldas")
