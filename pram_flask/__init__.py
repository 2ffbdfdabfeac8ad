"""PRAM: EPA's ubertool pesticide risk models, served under /pram."""
from __future__ import annotations

from dataclasses import replace

from flask_qed import App, models_in_package

from .examples import EXAMPLES


def plugin() -> App:
    return App(name="pram", prefix="/pram", title="Pesticide risk assessment models (ubertool)",
               models=[replace(m, example=m.example or EXAMPLES.get(m.name))
                       for m in models_in_package("pram_flask.models")])
