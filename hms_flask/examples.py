"""Example inputs for the HMS forms, read by the plugin (hms_flask.plugin) into each
model's ``example``; the workbench prefills its forms with them."""
from __future__ import annotations

from typing import Any

# A flood wave over a day of hourly steps: base flow 5 m3/s, peak 50 m3/s at 06:00.
_FLOOD = [5.0, 10.0, 20.0, 30.0, 40.0, 45.0, 50.0, 45.0, 40.0, 34.0, 28.0, 23.0, 19.0,
          16.0, 13.0, 11.0, 9.5, 8.5, 7.5, 6.5, 6.0, 5.5, 5.2, 5.0, 5.0]
_RIVER = {"startDate": "2020-06-01T00:00:00", "endDate": "2020-06-02T00:00:00", "timestep": 3600,
          "boundary_flow": _FLOOD, "segments": 3, "length": [2000.0, 2000.0, 2000.0],
          "width": 15.0, "slope": 0.0005, "mannings_n": 0.035}

EXAMPLES: dict[str, dict[str, Any]] = {
    "constant_volume": {"startDate": "2020-06-01", "endDate": "2020-06-03", "timestep": 21600,
                        "boundary_flow": 12.5, "segments": 3},
    # the original interface: the same run with its time step in days
    "constant_volume_days": {"startDate": "2020-06-01", "endDate": "2020-06-03", "timestep": 0.25,
                             "boundary_flow": 12.5, "segments": 3},
    "changing_volume": {**_RIVER, "side_slope": 1.0},
    "kinematic_wave": {**_RIVER, "subreaches": 4},
    # A small catchment south-west of Athens, Georgia (a few NLDAS cells).
    "percent_area": {
        "grid": "nldas",
        "geometry": {"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"COMID": 2088123},
            "geometry": {"type": "Polygon", "coordinates": [[
                [-83.62, 33.81], [-83.49, 33.86], [-83.36, 33.83], [-83.29, 33.74],
                [-83.33, 33.63], [-83.46, 33.58], [-83.58, 33.62], [-83.65, 33.71],
                [-83.62, 33.81]]]}}]},
    },
}
