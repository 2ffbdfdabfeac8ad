"""HMS science: pure functions (numpy, shapely, pyproj, pyogrio), no web framework.

* :mod:`.grids` – the NLDAS, GLDAS and PRISM grids, generated from their
  published definitions (no download).
* :mod:`.percent_area` – the share of each grid cell covered by a catchment.
* :mod:`.routing` – flow routing through a chain of river segments.
* :mod:`.limits` – how much geometry one request may hold, counted before any is built.
"""
from __future__ import annotations

import os
from typing import Mapping

MAX_CELLS = 50_000  # most (catchment, grid cell) pairs one percent-area request may ask for
# Most features one percent-area request may hold. Every accepted feature covers at least
# one cell, so MAX_CELLS bounds them already; counting them while a file is read refuses a
# larger one before its geometries are built.
MAX_FEATURES = MAX_CELLS
# Most vertices (coordinate positions) one percent-area request may hold. Each costs about
# 150 bytes as parsed JSON and more again as geometry, in the gateway and in the worker:
# at 1,000,000 neither process passes 512 MB (benchmarks/bench_memory.py --percent-area).
DEFAULT_MAX_VERTICES = 1_000_000
VERTICES_SETTING = "QED_MAX_VERTICES"


def max_vertices_from(env: Mapping[str, str]) -> int:
    """QED_MAX_VERTICES: a positive whole number, else DEFAULT_MAX_VERTICES when unset."""
    raw = (env.get(VERTICES_SETTING) or "").strip()
    if not raw:
        return DEFAULT_MAX_VERTICES
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{VERTICES_SETTING} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{VERTICES_SETTING} must be positive, got {value}")
    return value


# Read once, when the HMS app is loaded. QED_MAX_VERTICES is declared, with this default, in
# flask_qed.config.VARIABLES; the science imports no framework, so it reads the variable
# itself, and tests/test_config.py holds this reading to that declaration.
MAX_VERTICES = max_vertices_from(os.environ)
