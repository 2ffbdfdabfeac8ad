"""PRAM: EPA's ubertool pesticide risk models, served under /pram."""
from __future__ import annotations

from flask_qed import App, models_in_package


def plugin() -> App:
    return App(name="pram", prefix="/pram", title="Pesticide risk assessment models (ubertool)",
               models=models_in_package("pram_flask.models"))
