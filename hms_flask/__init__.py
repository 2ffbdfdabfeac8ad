"""HMS: hydrologic micro services (catchment grids, flow routing), served under /hms.

Layout (see docs/adding-an-app.md): one declaration a model in ``hms_flask/models/<name>.py``
(its inputs, outputs, ``EXAMPLE`` and a ``compute`` that calls the science), and the science
as pure functions in ``hms_flask/science/``.
"""
from __future__ import annotations

from flask_qed import App, models_in_package


def plugin() -> App:
    return App(name="hms", prefix="/hms", title="Hydrologic micro services",
               models=models_in_package("hms_flask.models"))
