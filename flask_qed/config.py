"""Settings, read once at start-up from the environment (or a mapping in tests)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEFAULT_TTL = 86_400  # seconds a job and its result are kept


@dataclass(frozen=True)
class Settings:
    broker_url: str
    store_url: str
    result_ttl: int = DEFAULT_TTL
    instance_path: str = "instance"
    max_content_length: int = 64 * 1024 * 1024
    task_soft_time_limit: int = 3_300
    task_time_limit: int = 3_600
    # Redis re-delivers an unacknowledged job after this long when the whole
    # worker died (a killed pool child is re-queued at once). Longer than the
    # time limit, so a job that is still running is not handed out again.
    visibility_timeout: int = 4_200
    # A running job renews its claim every job_lease/4 s; a claim not renewed
    # for job_lease s belongs to a dead worker and may be taken over.
    job_lease: int = 60
    broker_timeout: float = 5.0
    extra_apps: tuple[str, ...] = ()


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def broker_url_from(env: Mapping[str, str]) -> str:
    """QED_BROKER_URL, else the original REDIS_HOSTNAME/REDIS_PORT, else local Redis."""
    if env.get("QED_BROKER_URL"):
        return env["QED_BROKER_URL"]
    host = env.get("REDIS_HOSTNAME", "localhost")
    port = env.get("REDIS_PORT", "6379")
    return f"redis://{host}:{port}/0"


def store_url_from(env: Mapping[str, str], instance_path: str) -> str:
    """QED_STORE_URL, else MONGO_SERVER (original name), else the embedded SQLite file."""
    if env.get("QED_STORE_URL"):
        return env["QED_STORE_URL"]
    if env.get("MONGO_SERVER"):
        server = env["MONGO_SERVER"]
        return server if server.startswith("mongodb") else f"mongodb://{server}:27017/flask_qed"
    return f"sqlite:///{Path(instance_path).resolve() / 'jobs.sqlite3'}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    instance = env.get("QED_INSTANCE_PATH") or str(Path.cwd() / "instance")
    return Settings(
        broker_url=broker_url_from(env),
        store_url=store_url_from(env, instance),
        result_ttl=_int(env, "QED_RESULT_TTL", DEFAULT_TTL),
        instance_path=instance,
        max_content_length=_int(env, "QED_MAX_CONTENT_LENGTH", 64 * 1024 * 1024),
        task_soft_time_limit=_int(env, "QED_TASK_SOFT_TIME_LIMIT", 3_300),
        task_time_limit=_int(env, "QED_TASK_TIME_LIMIT", 3_600),
        visibility_timeout=_int(env, "QED_VISIBILITY_TIMEOUT",
                                _int(env, "QED_TASK_TIME_LIMIT", 3_600) + 600),
        job_lease=_int(env, "QED_JOB_LEASE", 60),
        broker_timeout=_int(env, "QED_BROKER_TIMEOUT", 5),
        extra_apps=tuple(a for a in env.get("QED_APPS", "").replace(",", " ").split() if a),
    )
