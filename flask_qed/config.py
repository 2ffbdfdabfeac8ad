"""Settings, read once at start-up from the environment (or a mapping in tests)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEFAULT_TTL = 86_400  # seconds a job and its result are kept
# Largest request body: room for max_rows (100,000) runs of the widest PRAM model (kabam,
# 130 inputs: about 170 MB of column-form JSON, 200 MB written with spaces); the gateway
# reads a batch a column at a time, so a body this size stays far below 1 GB of memory.
DEFAULT_MAX_CONTENT_LENGTH = 256 * 1024 * 1024
DEFAULT_RATE_LIMIT = "50/second"  # requests per client; QED_RATE_LIMIT=off removes it


@dataclass(frozen=True)
class Settings:
    broker_url: str
    store_url: str
    result_ttl: int = DEFAULT_TTL
    instance_path: str = "instance"
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
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
    # Security and fair use (see flask_qed.security): no key file = an open API.
    api_keys_file: str | None = None
    rate_limit: str = DEFAULT_RATE_LIMIT
    cors_origins: tuple[str, ...] = ()
    max_active_jobs: int = 50
    max_active_rows: int = 1_000_000
    proxy_count: int = 0  # trusted reverse proxies in front (their X-Forwarded-For is believed)
    max_waiters: int = 2  # requests a process lets wait for a job at once (flask_qed.jobs.waiting); gevent: 100
    # OGC API - Processes: seconds an execution without Prefer waits for its result;
    # callback hosts (names, addresses, networks) a job may notify (none by default).
    sync_wait: float = 10.0
    # pram_flask's route (POST /rest/pram/<model>/<jobId>): seconds it waits for its job.
    rest_wait: float = 30.0
    callback_allowlist: tuple[str, ...] = ()
    # The reconciler (flask_qed.reconciler) publishes again every sweep_interval s
    # the jobs PENDING for longer than pending_grace s since they were last queued,
    # and the STARTED ones whose lease lapsed: a lost message or a dead worker costs
    # at most pending_grace + sweep_interval (+ job_lease), not the visibility timeout.
    pending_grace: int = 30
    sweep_interval: int = 10
    # A cancelled running job gets SIGTERM, then SIGKILL after this many seconds.
    cancel_grace: int = 3
    log_format: str = "text"  # "json": one JSON object per log line (QED_LOG_FORMAT)

    def __post_init__(self) -> None:
        check_settings(self)


BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp", "sentinel", "memory")
STORE_SCHEMES = ("sqlite://", "mongodb://", "mongodb+srv://", "mongomock://")


class ConfigError(ValueError):
    """Settings that contradict each other; the message says which and how to fix it."""


def check_settings(s: "Settings") -> None:
    """Refuse contradictory settings at start-up, naming the variables."""
    problems = []
    if s.job_lease >= s.result_ttl:
        problems.append(f"QED_JOB_LEASE ({s.job_lease} s) must be shorter than QED_RESULT_TTL "
                        f"({s.result_ttl} s)")
    if s.task_soft_time_limit > s.task_time_limit:
        problems.append(f"QED_TASK_SOFT_TIME_LIMIT ({s.task_soft_time_limit} s) must not exceed "
                        f"QED_TASK_TIME_LIMIT ({s.task_time_limit} s)")
    if s.visibility_timeout <= s.task_time_limit:
        problems.append(f"QED_VISIBILITY_TIMEOUT ({s.visibility_timeout} s) must be longer than "
                        f"QED_TASK_TIME_LIMIT ({s.task_time_limit} s), e.g. {s.task_time_limit + 600}: "
                        "otherwise Redis hands a job that is still running to a second worker")
    broker_scheme = s.broker_url.split("://", 1)[0] if "://" in s.broker_url else ""
    if broker_scheme not in BROKER_SCHEMES:
        problems.append(f"QED_BROKER_URL: unsupported scheme {broker_scheme or '(none)'!r}; "
                        "use redis://host:6379/0 (or amqp://)")
    if not s.store_url.startswith(STORE_SCHEMES):
        problems.append(f"QED_STORE_URL: unsupported scheme in {s.store_url.split('://')[0]!r}; "
                        "use sqlite:///path or mongodb://host/db")
    if s.log_format not in ("text", "json"):
        problems.append(f"QED_LOG_FORMAT must be text or json, got {s.log_format!r}")
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))


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


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    try:
        value = default if raw in (None, "") else float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value <= 3600:
        raise ValueError(f"{name} must be 0..3600 seconds, got {value}")
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
        max_content_length=_int(env, "QED_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        task_soft_time_limit=_int(env, "QED_TASK_SOFT_TIME_LIMIT", 3_300),
        task_time_limit=_int(env, "QED_TASK_TIME_LIMIT", 3_600),
        visibility_timeout=_int(env, "QED_VISIBILITY_TIMEOUT",
                                _int(env, "QED_TASK_TIME_LIMIT", 3_600) + 600),
        job_lease=_int(env, "QED_JOB_LEASE", 60),
        broker_timeout=_int(env, "QED_BROKER_TIMEOUT", 5),
        extra_apps=tuple(a for a in env.get("QED_APPS", "").replace(",", " ").split() if a),
        api_keys_file=env.get("QED_API_KEYS_FILE") or None,
        rate_limit=_rate_limit(env.get("QED_RATE_LIMIT")),
        cors_origins=tuple(o.rstrip("/") for o in env.get("QED_CORS_ORIGINS", "").replace(",", " ").split()),
        max_active_jobs=_int(env, "QED_MAX_ACTIVE_JOBS", 50),
        max_active_rows=_int(env, "QED_MAX_ACTIVE_ROWS", 1_000_000),
        proxy_count=int(env.get("QED_PROXY_COUNT") or 0),
        sync_wait=_seconds(env, "QED_SYNC_WAIT", 10.0),
        rest_wait=_seconds(env, "QED_REST_WAIT", 30.0),
        max_waiters=_int(env, "QED_MAX_WAITERS", 100 if env.get("GUNICORN_WORKER_CLASS", "gevent") == "gevent" else 2),
        callback_allowlist=tuple(h.lower() for h in env.get("QED_CALLBACK_ALLOWLIST", "").replace(",", " ").split()),
        pending_grace=_int(env, "QED_PENDING_GRACE", 30),
        sweep_interval=_int(env, "QED_SWEEP_INTERVAL", 10),
        cancel_grace=_int(env, "QED_CANCEL_GRACE", 3),
        log_format=(env.get("QED_LOG_FORMAT") or "text").strip().lower(),
    )


def _rate_limit(raw: str | None) -> str:
    """QED_RATE_LIMIT: '50/second', '1000/minute;50/second' ..., or 'off'."""
    if raw is None or not raw.strip():
        return DEFAULT_RATE_LIMIT
    if raw.strip().lower() in ("off", "none", "0"):
        return ""
    from limits import parse_many
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError(f"QED_RATE_LIMIT must look like '50/second' or '1000/minute;50/second', "
                         f"got {raw!r}") from None
    return raw.strip()
