"""Regular latitude/longitude grids of the HMS meteorological data sources.

Each grid is generated from its published definition (outer edges, cell size,
number of columns and rows); no grid file is downloaded. Rows count from the
south edge, columns from the west edge.

Cell polygons are built in an equal-area projection with their edges densified
on a lattice shared by neighbouring cells, so two cells that share an edge
share exactly the same projected vertices and the cells tile the plane.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from . import projcontext  # noqa: F401,E402 - holds the PROJ context (see its docstring)

__all__ = ["Grid", "GRIDS", "get_grid", "to_equal_area", "DENSIFY_DEG"]

# Largest spacing (degrees) of the vertices used to draw grid cell edges and
# catchment edges before projecting: an edge that is straight in lon/lat is a
# curve in an equal-area projection, and 1/64 degree keeps the chord error of a
# NLDAS cell area below about 1e-6 relative.
DENSIFY_DEG = 1.0 / 64.0


@dataclass(frozen=True)
class Grid:
    name: str
    title: str
    west: float          # outer west edge, degrees east
    south: float         # outer south edge, degrees north
    cell: float          # cell size, degrees
    ncols: int
    nrows: int
    crs: str             # equal-area CRS used for areas
    crs_reason: str
    source: str
    cell_y: float | None = None   # cell height, degrees, where it differs from the width

    @property
    def dy(self) -> float:
        """Cell height, degrees (the width, ``cell``, unless the cells are not square)."""
        return self.cell if self.cell_y is None else self.cell_y

    @property
    def east(self) -> float:
        return self.west + self.ncols * self.cell

    @property
    def north(self) -> float:
        return self.south + self.nrows * self.dy

    @property
    def subdivisions(self) -> int:
        """Vertices per cell edge when densifying (cell edge / DENSIFY_DEG)."""
        return max(1, math.ceil(max(self.cell, self.dy) / DENSIFY_DEG - 1e-9))

    def index_range(self, minx: float, miny: float, maxx: float, maxy: float
                    ) -> tuple[int, int, int, int] | None:
        """Columns c0..c1 and rows r0..r1 (inclusive) of the cells a bbox touches.

        A bbox edge lying exactly on a cell edge does not pull in the next cell.
        Returns None when the bbox misses the grid.
        """
        c0 = math.floor((minx - self.west) / self.cell)
        c1 = math.ceil((maxx - self.west) / self.cell) - 1
        r0 = math.floor((miny - self.south) / self.dy)
        r1 = math.ceil((maxy - self.south) / self.dy) - 1
        c0, r0 = max(c0, 0), max(r0, 0)
        c1, r1 = min(max(c1, c0), self.ncols - 1), min(max(r1, r0), self.nrows - 1)
        if c0 > self.ncols - 1 or r0 > self.nrows - 1 or maxx <= self.west or maxy <= self.south \
                or minx >= self.east or miny >= self.north:
            return None
        return c0, c1, r0, r1

    def centers(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude of cell centres."""
        return self.west + (cols + 0.5) * self.cell, self.south + (rows + 0.5) * self.dy

    def projected_cells(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Cell polygons in the grid's equal-area CRS (metres), densified edges."""
        k = self.subdivisions
        t = np.arange(k)
        # Lattice indices of one ring, counter-clockwise from the south-west corner.
        ring_x = np.concatenate([t, np.full(k, k), k - t, np.zeros(k, int), [0]])
        ring_y = np.concatenate([np.zeros(k, int), t, np.full(k, k), k - t, [0]])
        ix = (np.asarray(cols)[:, None] * k + ring_x[None, :]).ravel()
        iy = (np.asarray(rows)[:, None] * k + ring_y[None, :]).ravel()
        lon, lat = self.west + ix * (self.cell / k), self.south + iy * (self.dy / k)
        x, y = _transformer(self.crs).transform(lon, lat)
        coords = np.stack([x, y], axis=-1).reshape(len(rows), ring_x.size, 2)
        return shapely.polygons(coords)


@lru_cache(maxsize=8)
def _transformer(crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def to_equal_area(geoms: np.ndarray, grid: Grid) -> np.ndarray:
    """Densify lon/lat geometries to the grid's vertex spacing and project them."""
    dense = shapely.segmentize(geoms, min(grid.cell, grid.dy) / grid.subdivisions)
    transformer = _transformer(grid.crs)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(dense, project)


_CONUS_ALBERS = ("EPSG:5070 (NAD83 / Conus Albers) is equal-area and has low shape distortion "
                 "over the conterminous US, so densified edges stay close to their true curves.")

GRIDS: dict[str, Grid] = {
    # NLDAS-2: 0.125 degree, 464 x 224 cells, centres 124.9375W..67.0625W,
    # 25.0625N..52.9375N (NASA LDAS, NLDAS grid reference).
    "nldas": Grid("nldas", "NLDAS-2 0.125 degree grid", -125.0, 25.0, 0.125, 464, 224,
                  "EPSG:5070", _CONUS_ALBERS,
                  "https://ldas.gsfc.nasa.gov/nldas/specifications"),
    # GLDAS-2: 0.25 degree, 1440 x 600 cells covering 180W..180E, 60S..90N
    # (the GLDAS land domain; Antarctica is not modelled).
    "gldas": Grid("gldas", "GLDAS-2 0.25 degree grid", -180.0, -60.0, 0.25, 1440, 600,
                  "EPSG:6933",
                  "EPSG:6933 (WGS 84 / NSIDC EASE-Grid 2.0 Global) is a cylindrical equal-area "
                  "projection valid world-wide; GLDAS is global, so a CONUS Albers would not do.",
                  "https://ldas.gsfc.nasa.gov/gldas/specifications"),
    # PRISM 4 km (AN81/LT81 .bil headers): NCOLS 1405, NROWS 621,
    # ULXMAP -125.0, ULYMAP 49.9166666666687 (upper-left cell centre), XDIM = YDIM
    # = 0.04166666666667 (1/24 degree). Outer edges: 125.0208333W..66.4791667W,
    # 24.0625N..49.9375N (PRISM Climate Group, Oregon State University).
    "prism": Grid("prism", "PRISM 4 km (1/24 degree) grid", -125.0 - 1.0 / 48.0,
                  49.9375 - 621.0 / 24.0, 1.0 / 24.0, 1405, 621,
                  "EPSG:5070", _CONUS_ALBERS,
                  "https://prism.oregonstate.edu/documents/PRISM_datasets.pdf"),
}


def get_grid(name: str) -> Grid:
    try:
        return GRIDS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown grid {name!r}; choose one of {sorted(GRIDS)}") from None
