"""Keeps this process's PROJ context alive for as long as the process lives.

pyproj 3.7 gives each operating-system thread one PROJ context, found through
thread-specific storage, and destroys it when the thread's ``threading.local``
holding its manager is collected. Under gevent (the gateway's default worker)
``threading.local`` is per greenlet: the context made while one request imported
pyproj was destroyed when that request ended, and the next request on the same
thread used the freed context (a segmentation fault of the gateway process;
``tests/hms/test_projcontext.py``). Importing this module before pyproj is used
holds the manager of the context of the thread that imported it; other real
threads keep their own, as pyproj manages them.
"""
from __future__ import annotations

from typing import Any

from pyproj._context import _set_context_data_dir, get_context_manager

_HELD: list[Any] = []


def hold() -> None:
    """Make (if needed) and hold the current thread's PROJ context."""
    _set_context_data_dir()
    manager = get_context_manager()
    if manager is not None and all(manager is not held for held in _HELD):
        _HELD.append(manager)


hold()
