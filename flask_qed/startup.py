"""Mistakes in the configuration stop a process at start with one line that names
them, never a traceback: a setting that cannot be read or contradicts another, a
``QED_APPS`` entry that names nothing (the line lists the installed apps), two apps
with one name or prefix, a plugin that fails to load.

gunicorn's settings module, the Celery entry point (``celery_cgi``) and ``qed`` check
here, before they start anything.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping

from .config import VARIABLES, ConfigError, Settings, load_settings
from .plugins import App, PluginError, discover

MISTAKES = (ConfigError, PluginError)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a plugin's error may span several)."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def check_variables(*roles: str, env: Mapping[str, str] | None = None) -> None:
    """Read every declared variable that matters to one of ``roles`` ("gateway", "worker",
    "gunicorn"; none named: to any), those read outside the settings too, so that a bad value
    stops the process at start rather than its first request or job. Raises ConfigError."""
    import os
    env = os.environ if env is None else env
    for variable in VARIABLES:
        if not roles or any(role in variable.used_by for role in roles):
            variable.read(env)


def check(*roles: str, env: Mapping[str, str] | None = None) -> tuple[Settings, list[App]]:
    """:func:`check_variables`, then the settings and the apps as the gateway and the workers
    load them. Raises ConfigError or PluginError."""
    check_variables(*roles, env=env)
    settings = load_settings(env)
    return settings, discover(settings.extra_apps)


@contextmanager
def stop_on_mistakes(who: str = "flask_qed cannot start") -> Iterator[None]:
    """Turn a configuration mistake raised inside into ``SystemExit("<who>: <the mistake>")``:
    Python prints that one line on stderr and exits with status 1."""
    try:
        yield
    except MISTAKES as exc:
        raise SystemExit(f"{who}: {one_line(exc)}") from None


def check_or_exit(*roles: str) -> None:
    """:func:`check` for ``roles``, stopping the process with one line on a mistake."""
    with stop_on_mistakes():
        check(*roles)
