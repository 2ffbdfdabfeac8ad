"""flask_qed: serve scientific models over HTTP as jobs run by Celery workers."""
from __future__ import annotations

from .model import InputError, Model
from .plugins import App, PluginError, models_in_package
from .validation import FieldError

from .version import __version__


def create_celery(runtime=None):  # noqa: ANN001, ANN201 - thin re-export, imports Celery lazily
    from .tasks import create_celery as _create
    return _create(runtime)


def create_gateway(celery=None, runtime=None):  # noqa: ANN001, ANN201
    from .web import create_gateway as _create
    return _create(celery, runtime)


__all__ = ["App", "FieldError", "InputError", "Model", "PluginError", "create_celery", "create_gateway",
           "models_in_package", "__version__"]
