"""The area-weighted series of a gridded variable over each catchment.

Each catchment's weights are the areas of its intersection with the grid's cells,
computed by :func:`.percent_area.percent_area` itself (cells and catchment on the
equal-area projection it chooses for the grid's extent). At each time step the
catchment's value is the mean of its cells' values weighted by those areas, over
the cells that have a value at that step (a missing value drops its cell from that
step, and the step's coverage says how much of the catchment was left); a step with
no cell valued is null.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from .netcdf_grid import GridVariable
from .percent_area import Catchment, percent_area


def shifted(catchments: list[Catchment], lon_offset: float) -> list[Catchment]:
    """Catchments moved into a 0..360 grid's longitudes (west of Greenwich: +360)."""
    if not lon_offset:
        return catchments
    out = []
    for c in catchments:
        minx, _, maxx, _ = shapely.bounds(c.geometry)
        if minx < 0 < maxx:
            raise ValueError(f"feature {c.id} crosses the prime meridian, where a 0..360 grid is cut; "
                             "give the grid in -180..180 degrees east")
        geom = shapely.transform(c.geometry, lambda xy: xy + [lon_offset, 0.0]) if maxx <= 0 else c.geometry
        out.append(Catchment(c.id, geom))
    return out


def catchment_series(catchments: list[Catchment], variable: GridVariable) -> dict[str, Any]:
    grid = variable.grid
    areas = percent_area(catchments, grid)
    columns: dict[str, np.ndarray] = {}
    weights: dict[str, Any] = {}
    for c in catchments:
        points = areas["geometry"][c.id]["points"]
        lat = np.array([p["latitude"] for p in points], dtype=np.float64)
        lon = np.array([p["longitude"] for p in points], dtype=np.float64)
        area = np.array([p["containedArea"] for p in points], dtype=np.float64)
        rows = np.rint((lat - grid.south) / grid.dy - 0.5).astype(np.int64)
        cols = np.rint((lon - grid.west) / grid.cell - 0.5).astype(np.int64)
        values = variable.read(rows, cols)                      # [time, cell]
        valued = np.isfinite(values)
        covered = valued @ area                                  # km2 with a value, per step
        total = np.where(valued, values, 0.0) @ area
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[c.id] = np.where(covered > 0, total / covered, np.nan)
        catchment_km2 = areas["metadata"]["catchment areas (km2)"][c.id]
        weights[c.id] = {
            "cells": len(points),
            "catchment area (km2)": catchment_km2,
            "percent of catchment inside the grid": areas["metadata"]["percent of catchment inside the grid"][c.id],
            "least coverage (%)": float(100.0 * covered.min() / catchment_km2) if len(covered) and catchment_km2 else 0.0,
            "cell weights": [{"latitude": float(la), "longitude": float(lo - variable.lon_offset if lo > 180 else lo),
                              "containedArea": float(a)} for la, lo, a in zip(lat, lon, area)],
        }
    ids = [c.id for c in catchments]
    table = np.column_stack([columns[i] for i in ids]) if ids else np.empty((len(variable.times), 0))
    data = [[t, *(None if not np.isfinite(v) else float(v) for v in row)]
            for t, row in zip(variable.times, table)]
    return {
        "columns": ["DateTime", *ids],
        "index": list(range(len(data))),
        "data": data,
        "metadata": {
            "variable": variable.name, "long_name": variable.long_name,
            "units": {"value": variable.units or "-", "cell weights": "km2"},
            "grid": {"cell width (degrees)": grid.cell, "cell height (degrees)": grid.dy,
                     "extent": [grid.west, grid.south, grid.west + grid.ncols * grid.cell, grid.north],
                     "columns": grid.ncols, "rows": grid.nrows,
                     "projection": grid.crs, "projection reason": grid.crs_reason},
            "steps": len(data),
            "weights": weights,
        },
    }
