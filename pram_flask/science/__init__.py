"""PRAM science shared by several models: pure functions on numbers and numpy arrays.

Nothing here imports pydantic, flask, celery, a database driver or a model declaration;
the declarations in ``pram_flask/models`` import from here, never the other way round.

* :mod:`.dietary` – dietary exposure on EPA's Kenaga nomogram (T-REX and T-HERPS).
"""
