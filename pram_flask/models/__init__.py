"""PRAM model declarations: ubertool's pesticide risk models, one module a model.

Each public module here declares one model (see ``flask_qed.model``): ``NAME``,
``TITLE``, ``DESCRIPTION``, ``VERSION``, ``Inputs`` (a pydantic model of one run),
``OUTPUTS``, ``EXAMPLE`` and ``compute(columns) -> outputs`` (pure and vectorised).
Science shared by several models is in ``pram_flask.science``; most models still keep
their own equations here, beside their declaration (docs/adding-an-app.md says which).
The ``_`` modules hold input schemas and helpers several models share. Nothing here
imports flask, celery or a database driver.
"""
