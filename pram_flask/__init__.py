"""PRAM: EPA's ubertool pesticide risk models, served under /pram.

Layout (see docs/adding-an-app.md): one declaration a model in ``pram_flask/models/<name>.py``
(its inputs, outputs, ``EXAMPLE`` and ``compute``). Science shared by several models lives in
``pram_flask/science/``; most models still keep their own equations beside their declaration.
"""
from __future__ import annotations

from flask_qed import App, models_in_package


def plugin() -> App:
    return App(name="pram", prefix="/pram", title="Pesticide risk assessment models (ubertool)",
               models=models_in_package("pram_flask.models"))
