"""Science apps as plugins, found through the entry-point group ``flask_qed.apps``.

An entry point names an :class:`App` (or a function returning one)::

    [project.entry-points."flask_qed.apps"]
    pram = "pram_flask:plugin"

``QED_APPS`` adds ``module:attr`` specs for apps that are not installed as
packages (a git submodule on the path). A plugin that fails to load stops
start-up with an error naming it.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Sequence

from .model import Model

logger = logging.getLogger(__name__)

GROUP = "flask_qed.apps"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginError(RuntimeError):
    """A science app could not be loaded or clashes with another."""


@dataclass(frozen=True)
class App:
    """A science app: declared models, or a Flask app written the old way, or both.

    ``factory`` builds a plain Flask app (e.g. flask-restful resources that call
    ``.apply_async`` on tasks of the shared Celery app); ``task_modules`` are the
    modules holding those tasks, imported by every worker. ``title`` is what people
    read (the workbench's headings); an app that gives none is titled by its name.
    """

    name: str
    prefix: str = ""
    title: str = ""
    models: Sequence[Model] = ()
    factory: Callable[[], Any] | str | None = None
    task_modules: Sequence[str] = ()
    task_prefixes: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise PluginError(f"app name {self.name!r} must be lower-case letters, digits or _")
        object.__setattr__(self, "prefix", "/" + (self.prefix or self.name).strip("/"))
        object.__setattr__(self, "title", (self.title or "").strip() or self.name)
        names = [m.name for m in self.models]
        if len(names) != len(set(names)):
            raise PluginError(f"app {self.name}: duplicate model names in {names}")

    def model(self, name: str) -> Model | None:
        return next((m for m in self.models if m.name == name), None)

    def task_name(self, model: Model) -> str:
        """Namespaced task name: ``pram.rice``."""
        return f"{self.name}.{model.name}"

    def owns_task(self, task_name: str) -> bool:
        prefixes = tuple(self.task_prefixes) or tuple(f"{m}." for m in self.task_modules)
        return bool(prefixes) and task_name.startswith(prefixes)

    def build_flask_app(self) -> Any:
        factory = _resolve(self.factory) if isinstance(self.factory, str) else self.factory
        if factory is None:
            raise PluginError(f"app {self.name} has no factory")
        return factory()


def models_in_package(package: str) -> list[Model]:
    """Every model module (public, with ``NAME``) of a package, in name order."""
    pkg = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "compute"):
            found.append(Model.from_module(module))
    return found


def _resolve(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def _as_app(label: str, obj: Any) -> App:
    if callable(obj) and not isinstance(obj, App):
        obj = obj()
    if not isinstance(obj, App):
        raise PluginError(f"plugin {label}: expected a flask_qed.App, got {type(obj).__name__}")
    return obj


def discover(extra: Iterable[str] = ()) -> list[App]:
    """Load every app from the entry points and ``extra`` specs; check they do not clash."""
    loaded: list[tuple[str, App]] = []
    for ep in entry_points(group=GROUP):
        _add(loaded, f"entry point {ep.name} ({ep.value})", ep.load)
    installed = [app for _label, app in loaded]
    for spec in extra:
        _add(loaded, f"QED_APPS {spec}", lambda spec=spec: _load_extra(spec, installed))
    return [app for _label, app in loaded]


def _load_extra(spec: str, installed: Sequence[App]) -> Any:
    """The object a ``QED_APPS`` entry names; a PluginError naming the installed apps when
    the entry is not ``module:attr`` or names a module or attribute that does not exist."""
    module, colon, attr = spec.partition(":")
    known = "installed apps: " + (", ".join(f"{a.name} ({a.prefix})" for a in installed) or "none")
    if not (colon and module and attr):
        raise PluginError(f"QED_APPS entry {spec!r} is not module:attr (e.g. my_app:plugin); QED_APPS adds "
                          f"apps that are not installed; {known}")
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
            raise  # the module exists, but an import inside it fails
        raise PluginError(f"QED_APPS names {spec!r}, but there is no module {module!r}; {known}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise PluginError(f"QED_APPS names {spec!r}, but module {module} has no {attr!r}; {known}")
        obj = getattr(obj, part)
    return obj


def _add(loaded: list[tuple[str, App]], label: str, load: Callable[[], Any]) -> None:
    try:
        app = _as_app(label, load())
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(f"plugin {label} failed to load: {type(exc).__name__}: {exc}") from exc
    for other_label, other in loaded:
        if other.name == app.name:
            installed_twice = label.startswith("QED_APPS") and other_label.startswith("entry point")
            raise PluginError(f"plugin {label}: app {app.name} is loaded already, from {other_label}; " + (
                "an installed app needs no QED_APPS entry" if installed_twice else "app names must be unique"))
        if other.prefix == app.prefix:
            raise PluginError(f"plugin {label}: app {app.name}'s prefix {app.prefix} is taken by app "
                              f"{other.name}, from {other_label}; prefixes must be unique")
    loaded.append((label, app))
    logger.info("loaded app %s at %s (%d models)", app.name, app.prefix, len(app.models))


def task_routes(apps: Sequence[App]) -> dict[str, tuple[App, Model]]:
    return {app.task_name(m): (app, m) for app in apps for m in app.models}


__all__ = ["App", "PluginError", "discover", "models_in_package", "task_routes"]
