"""HMS: hydrologic micro services (catchment grids, flow routing), served under /hms."""
from __future__ import annotations

from dataclasses import replace

from flask_qed import App, models_in_package

from .examples import EXAMPLES


def plugin() -> App:
    return App(name="hms", prefix="/hms", title="Hydrologic micro services",
               models=[replace(m, example=m.example or EXAMPLES.get(m.name))
                       for m in models_in_package("hms_flask.models")])
