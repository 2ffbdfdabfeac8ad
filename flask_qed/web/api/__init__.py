"""The native API face: the gateway's root routes, ``/jobs``, and every science app
under its prefix (declared models, or an app written the old way)."""
from __future__ import annotations

from typing import Any, Callable

from celery import Celery
from flask import Flask

from ...runtime import Runtime
from .jobs import add_job_routes
from .models import mount_app
from .root import add_root_routes


def add_routes(root: Flask, runtime: Runtime, celery: Celery,
               extra_paths: Callable[[], dict[str, Any]] = dict) -> dict[str, Any]:
    """Add the root and job routes to ``root``; the science apps to mount, by prefix."""
    add_root_routes(root, runtime, celery, extra_paths)
    add_job_routes(root, runtime, celery)
    return {app.prefix: mount_app(app, runtime, celery) for app in runtime.apps}
