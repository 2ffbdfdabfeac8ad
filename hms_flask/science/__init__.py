"""HMS science: pure functions (numpy, shapely, pyproj, pyogrio), no web framework.

* :mod:`.grids` – the NLDAS, GLDAS and PRISM grids, generated from their
  published definitions (no download).
* :mod:`.percent_area` – the share of each grid cell covered by a catchment.
* :mod:`.routing` – flow routing through a chain of river segments.
"""

MAX_CELLS = 50_000  # most (catchment, grid cell) pairs one percent-area request may ask for
