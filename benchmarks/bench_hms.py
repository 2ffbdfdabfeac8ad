"""Benchmark of the HMS models: percent area of a HUC-8 sized catchment and a
year of hourly routing through 100 segments. Prints the median of a few runs.

    .venv/bin/python benchmarks/bench_hms.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_qed.model import Model  # noqa: E402
from hms_flask.models import changing_volume, constant_volume, kinematic_wave, percent_area  # noqa: E402


def huc8_like(lon0: float = -85.0, lat0: float = 35.0, n: int = 4000) -> dict:
    """A lobed, ragged outline about 7.5 x 5 degrees (~2,000 NLDAS cells), n vertices."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rng = np.random.default_rng(8)
    r = 1 + 0.2 * np.sin(3 * t) + 0.1 * np.cos(5 * t + 1) + 0.01 * rng.standard_normal(n)
    ring = np.column_stack([lon0 + 3.8 * r * np.cos(t), lat0 + 2.4 * r * np.sin(t)])
    return shapely.geometry.mapping(shapely.Polygon(ring))


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_percent_area() -> None:
    model = Model.from_module(percent_area)
    inputs = {"geometry": huc8_like(), "grid": "nldas"}
    validated = model.validate(inputs)
    t_val, _ = median_time(lambda: model.validate(inputs), 5)
    t_run, result = median_time(lambda: model.run(validated), 5)
    points = result["metadata"]["number of points"]
    area = sum(result["metadata"]["catchment areas (km2)"].values())
    print(f"percent_area  nldas, {points} cells, {area:,.0f} km2, 4000 vertices: "
          f"validate {t_val:.3f} s, run {t_run:.3f} s (median of 5)")


def bench_many_catchments() -> None:
    """900 small irregular catchments (a HUC-8's NHDPlus catchments) in one request."""
    model = Model.from_module(percent_area)
    features = []
    for i in range(30):
        for j in range(30):
            lon, lat = -86.0 + 0.06 * i, 34.0 + 0.05 * j
            t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
            r = 0.024 * (1 + 0.2 * np.sin(3 * t + i) + 0.1 * np.cos(5 * t + j))
            ring = np.column_stack([lon + r * np.cos(t), lat + 0.8 * r * np.sin(t)])
            features.append({"type": "Feature", "properties": {"COMID": 1000 * i + j},
                             "geometry": shapely.geometry.mapping(shapely.Polygon(ring))})
    inputs = {"geometry": {"type": "FeatureCollection", "features": features}, "grid": "nldas"}
    validated = model.validate(inputs)
    t_val, _ = median_time(lambda: model.validate(inputs), 3)
    t_run, result = median_time(lambda: model.run(validated), 3)
    print(f"percent_area  nldas, 900 catchments, {result['metadata']['number of points']} "
          f"catchment-cell pairs: validate {t_val:.3f} s, run {t_run:.3f} s (median of 3)")


def bench_routing() -> None:
    hours = np.arange(8761)
    inflow = (20 + 15 * np.sin(2 * np.pi * hours / 8760) + 80 * np.exp(-((hours % 720 - 100) / 20.0) ** 2))
    channel = {"start_date": "2019-01-01", "end_date": "2020-01-01", "timestep": 3600,
               "boundary_flow": inflow.tolist(), "segments": 100, "length": 2000.0,
               "width": 25.0, "slope": 0.0008, "mannings_n": 0.035}
    cases = [
        (constant_volume, {"startDate": "2019-01-01", "endDate": "2020-01-01", "timestep": 3600,
                           "boundary_flow": 20.0, "segments": 100}),
        (changing_volume, channel),
        (kinematic_wave, channel),
    ]
    for module, inputs in cases:
        model = Model.from_module(module)
        validated = model.validate(inputs)
        t_compute, out = median_time(lambda: module.compute(validated), 3)
        t_run, _ = median_time(lambda: model.run(validated), 3)
        steps = len(out.get("dates", out.get("index")))
        extra = ""
        if "metadata" in out and "mass balance (m3)" in out["metadata"]:
            extra = f", mass balance error {out['metadata']['mass balance (m3)']['relative error']:.1e}"
        print(f"{module.NAME:16s} 100 segments x {steps} times: compute {t_compute:.3f} s, "
              f"run incl. JSON conversion {t_run:.3f} s (median of 3){extra}")


if __name__ == "__main__":
    start = time.perf_counter()
    bench_percent_area()
    bench_many_catchments()
    bench_routing()
    print(f"total {time.perf_counter() - start:.1f} s")
