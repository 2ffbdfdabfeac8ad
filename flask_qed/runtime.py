"""What one process knows: its settings, its apps and its store (opened lazily)."""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from .config import Settings, load_settings
from .plugins import App, discover
from .stores import JobStore, open_store


@dataclass
class Runtime:
    settings: Settings
    apps: list[App] = field(default_factory=list)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, settings: Settings | None = None) -> "Runtime":
        settings = settings or load_settings(env)
        return cls(settings=settings, apps=discover(settings.extra_apps))

    @cached_property
    def store(self) -> JobStore:
        return open_store(self.settings.store_url, self.settings.result_ttl)

    def app(self, name: str) -> App | None:
        return next((a for a in self.apps if a.name == name), None)


# The runtime each Celery app was made with: kept here, beside the Celery app rather
# than on it, so that tasks, signal handlers and the gateway find it by the app they hold.
_RUNTIMES: "weakref.WeakKeyDictionary[Any, Runtime]" = weakref.WeakKeyDictionary()


def bind(celery: Any, runtime: Runtime) -> None:
    """Record that ``celery`` runs jobs with ``runtime`` (done by create_celery)."""
    _RUNTIMES[celery] = runtime


def runtime_of(celery: Any) -> Runtime:
    """The runtime ``celery`` was made with; a Celery app made elsewhere has none."""
    try:
        return _RUNTIMES[celery]
    except KeyError:
        raise LookupError("this Celery app was not made by flask_qed.create_celery") from None
