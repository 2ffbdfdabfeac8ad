"""What one process knows: its settings, its apps and its store (opened lazily)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

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
