"""PRAM science: ubertool's pesticide risk models as pure, vectorised functions.

Each module here is one model and declares it (see ``flask_qed.model``):
``NAME``, ``TITLE``, ``DESCRIPTION``, ``VERSION``, ``Inputs`` (a pydantic
model of one run), ``OUTPUTS`` and ``compute(columns) -> outputs``. Nothing
here imports flask, celery or a database driver.
"""
