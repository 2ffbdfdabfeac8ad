"""HMS: hydrologic micro services (catchment grids, flow routing), served under /hms."""
from __future__ import annotations

from flask_qed import App, models_in_package


def plugin() -> App:
    return App(name="hms", prefix="/hms", title="Hydrologic micro services",
               models=models_in_package("hms_flask.models"))
