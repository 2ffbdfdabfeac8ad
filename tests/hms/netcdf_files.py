"""Synthetic NetCDF grids for the catchment_series tests (written with netCDF4)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_grid(path: Path, lon: np.ndarray, lat: np.ndarray, values: np.ndarray, *,
               fmt: str = "NETCDF4", variable: str = "prcp", units: str = "mm",
               time_units: str = "days since 2020-06-01 00:00:00", fill: float | None = None,
               order: tuple[str, str, str] = ("time", "lat", "lon")) -> bytes:
    """A CF file of ``values`` [time, lat, lon] on 1-D ``lon``/``lat`` centres; its bytes."""
    import netCDF4
    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.Conventions = "CF-1.8"
        ds.createDimension("time", values.shape[0])
        ds.createDimension("lat", len(lat))
        ds.createDimension("lon", len(lon))
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar, t.standard_name = time_units, "standard", "time"
        t[:] = np.arange(values.shape[0], dtype=float)
        y = ds.createVariable("lat", "f8", ("lat",))
        y.units, y.standard_name = "degrees_north", "latitude"
        y[:] = lat
        x = ds.createVariable("lon", "f8", ("lon",))
        x.units, x.standard_name = "degrees_east", "longitude"
        x[:] = lon
        v = ds.createVariable(variable, "f4", order, fill_value=fill)
        v.units, v.long_name = units, "precipitation"
        axes = {"time": 0, "lat": 1, "lon": 2}
        v[:] = np.transpose(values, [axes[d] for d in order])
    return Path(path).read_bytes()
