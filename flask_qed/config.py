"""Settings, read once at start-up from the environment (or a mapping in tests).

Every environment variable the project reads is declared once, in :data:`VARIABLES`:
its name, type, default, meaning and the part that uses it. :func:`load_settings`
fills :class:`Settings` from that table, and the few readers that run outside the
settings (gunicorn's own settings module, ``qed keys``, the metrics' shared folder)
read through :func:`read`, so that they take the same default and the same checks.
The science layer of the HMS app imports no framework and reads ``QED_MAX_VERTICES``
itself; tests/test_config.py holds it to this table. docs/configuration.md shows the
table as ``python -m flask_qed.config --write docs/configuration.md`` writes it.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

DEFAULT_TTL = 86_400  # seconds a job and its result are kept
# Largest request body: room for max_rows (100,000) runs of the widest PRAM model (kabam,
# 130 inputs: about 170 MB of column-form JSON, 200 MB written with spaces); the gateway
# reads a batch a column at a time, so a body this size stays far below 1 GB of memory.
DEFAULT_MAX_CONTENT_LENGTH = 256 * 1024 * 1024
DEFAULT_RATE_LIMIT = "50/second"  # requests per client; QED_RATE_LIMIT=off removes it


class ConfigError(ValueError):
    """A setting that cannot be read, or contradicts another; the message says which and how."""


def _integer(low: int, rule: str) -> Callable[[str, str], int]:
    """A parser of whole numbers of at least ``low`` (``rule`` says so in its refusal)."""
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {raw!r}") from None
        if value < low:
            raise ValueError(f"{name} must {rule}, got {value}")
        return value
    return parse


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value <= 3600:
        raise ValueError(f"{name} must be 0..3600 seconds, got {value}")
    return value


def _words(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(raw.replace(",", " ").split())


def _rate_limit(name: str, raw: str) -> str:
    """'50/second', '1000/minute;50/second' ..., or 'off' (no limit: the empty string)."""
    if raw.strip().lower() in ("off", "none", "0"):
        return ""
    from limits import parse_many
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError(f"{name} must look like '50/second' or '1000/minute;50/second', "
                         f"got {raw!r}") from None
    return raw.strip()


def _switch(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"{name} must be on or off, got {raw!r}")
    return word in ("on", "true", "1", "yes")


# A type as the documentation names it, and how a value of it is read.
TYPES: dict[str, Callable[[str, str], Any]] = {
    "integer > 0": _integer(1, "be positive"),
    "integer ≥ 0": _integer(0, "not be negative"),
    "seconds": _seconds,  # a number, 0..3600
    "text": lambda _name, raw: raw.strip(),
    "word": lambda _name, raw: raw.strip().lower(),
    "URL": lambda _name, raw: raw.strip(),
    "path": lambda _name, raw: raw,
    "words": _words,  # separated by spaces or commas
    "origins": lambda name, raw: tuple(o.rstrip("/") for o in _words(name, raw)),
    "hosts": lambda name, raw: tuple(h.lower() for h in _words(name, raw)),
    "rate": _rate_limit,
    "on/off": _switch,
}


@dataclass(frozen=True)
class Variable:
    """One environment variable. Unset or blank, it takes ``default`` (a value, or a
    function of the environment for a default that follows other variables)."""
    name: str
    type: str  # a key of TYPES
    default: Any
    meaning: str  # one line, as docs/configuration.md shows it
    used_by: str  # the processes it matters to
    field: str | None = None  # the Settings attribute it fills; None: read elsewhere
    reader: str = "flask_qed.config"  # the module that reads it from the environment
    shown: str | None = None  # the default as the documentation writes it, when not the value

    def text(self, env: Mapping[str, str]) -> str | None:
        """The variable's text in ``env``; None when unset or blank."""
        raw = env.get(self.name)
        return raw if raw is not None and raw.strip() else None

    def read(self, env: Mapping[str, str]) -> Any:
        raw = self.text(env)
        if raw is None:
            return self.default(env) if callable(self.default) else self.default
        try:
            return TYPES[self.type](self.name, raw)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    @property
    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default in (None, ()):
            return "—"
        value = self.default
        return f"`{int(value) if isinstance(value, float) and value.is_integer() else value}`"


def _broker_url(env: Mapping[str, str]) -> str:
    return f"redis://{read('REDIS_HOSTNAME', env)}:{read('REDIS_PORT', env)}/0"


def _redis_url(env: Mapping[str, str]) -> str | None:
    broker = read("QED_BROKER_URL", env)
    return broker if broker.startswith(REDIS_SCHEMES) else None


def _store_url(env: Mapping[str, str]) -> str:
    server = read("MONGO_SERVER", env)
    if server:
        return server if server.startswith("mongodb") else f"mongodb://{server}:27017/flask_qed"
    return f"sqlite:///{Path(read('QED_INSTANCE_PATH', env)).resolve() / 'jobs.sqlite3'}"


def _max_waiters(env: Mapping[str, str]) -> int:
    # A waiting request costs a greenlet under gevent, a whole thread under gthread.
    return 100 if read("GUNICORN_WORKER_CLASS", env) == "gevent" else 2


V = Variable
_GW, _WK, _BOTH, _GUNICORN = "gateway", "worker", "gateway, worker", "gunicorn"
VARIABLES: tuple[Variable, ...] = (
    V("QED_BROKER_URL", "URL", _broker_url, "Celery broker: `redis://…`, or `amqp://…` for RabbitMQ (a durable "
      "quorum queue; see [Scaling](scaling.md)); `qed up` starts an embedded Redis when it is not set "
      "(beside RabbitMQ, one for `QED_REDIS_URL` when that is not set)",
      _BOTH + ", qed up", "broker_url",
      shown="`redis://$REDIS_HOSTNAME:$REDIS_PORT/0`"),
    V("QED_REDIS_URL", "URL", _redis_url, "the Redis that carries what every process must share "
      "beside the queue: the rate limit's counters, finished-job notices (a waiting request is woken "
      "at once) and the reconciler's lock (one worker sweeps at a time); with a RabbitMQ broker and "
      "none set, counters are per gateway process, waits read the store and every worker sweeps "
      "([Scaling](scaling.md))", _BOTH, "redis_url", shown="the broker's, when it is Redis"),
    V("QED_QUEUE", "text", "flask_qed", "the broker's job queue (with RabbitMQ a durable quorum queue behind "
      "a topic exchange of the same name); gateway and workers of one deployment name the same",
      _BOTH, "queue"),
    V("QED_STORE_URL", "URL", _store_url, "job store: `sqlite:///relative`, `sqlite:////absolute` or "
      "`mongodb://…/dbname`", _BOTH, "store_url",
      shown="`mongodb://$MONGO_SERVER:27017/flask_qed` if `MONGO_SERVER` is set, "
            "else `sqlite:///$QED_INSTANCE_PATH/jobs.sqlite3`"),
    V("QED_RESULT_TTL", "integer > 0", DEFAULT_TTL, "seconds a job and its result are kept after it "
      "finished (queued and running jobs never expire)", _BOTH, "result_ttl"),
    V("QED_INSTANCE_PATH", "path", lambda env: str(Path.cwd() / "instance"), "where the SQLite store and "
      "`qed up`'s Redis files and metrics live", _BOTH + ", qed up", "instance_path", shown="`./instance`"),
    V("QED_APPS", "words", (), "extra science apps as `module:attr` (space or comma separated), for apps "
      "not installed as packages", _BOTH, "extra_apps"),
    V("QED_MAX_CONTENT_LENGTH", "integer > 0", DEFAULT_MAX_CONTENT_LENGTH, "largest request body in bytes "
      "(413 above, naming it and the model's `max_rows`); enough for 100,000 runs of the widest model "
      "(kabam); a chunked body is counted as it arrives and refused with the same 413 once past it",
      _GW, "max_content_length", shown=f"`{DEFAULT_MAX_CONTENT_LENGTH}` (256 MiB)"),
    V("QED_TASK_SOFT_TIME_LIMIT", "integer > 0", 3_300, "seconds before a running job is asked to stop "
      "(it then fails with a clear message)", _WK, "task_soft_time_limit"),
    V("QED_TASK_TIME_LIMIT", "integer > 0", 3_600, "seconds before a running job is killed",
      _WK, "task_time_limit"),
    # Redis re-delivers an unacknowledged job after this long when the whole worker died
    # (a killed pool child is re-queued at once). Longer than the time limit, so that a job
    # still running is not handed out again.
    V("QED_VISIBILITY_TIMEOUT", "integer > 0", lambda env: read("QED_TASK_TIME_LIMIT", env) + 600,
      "seconds after which Redis hands a job whose worker vanished to another worker (longer than "
      "`QED_TASK_TIME_LIMIT`)", _BOTH, "visibility_timeout", shown="`QED_TASK_TIME_LIMIT` + 600"),
    V("QED_JOB_LEASE", "integer > 0", 60, "seconds a running job's claim lasts without renewal (renewed "
      "every `min(lease/4, 5)` s, and always within half of it, by one thread per worker process); a "
      "claim not renewed belongs to a dead worker and may be taken over", _WK, "job_lease"),
    V("QED_BROKER_TIMEOUT", "integer > 0", 5, "seconds to wait on the broker (name resolution included) "
      "before a submit answers 503", _BOTH, "broker_timeout"),
    # The reconciler (flask_qed.reconciler): a lost message or a dead worker costs at most
    # pending_grace + sweep_interval (+ job_lease), not the visibility timeout.
    V("QED_PENDING_GRACE", "integer > 0", 30, "seconds a job may stay queued (since it was last "
      "published) before the reconciler publishes it again", _WK, "pending_grace"),
    V("QED_SWEEP_INTERVAL", "integer > 0", 10, "seconds between the reconciler's sweeps (jobs queued "
      "past the grace, running ones whose lease lapsed; the embedded store's expired jobs purged, at "
      "most once a minute)", _WK, "sweep_interval"),
    V("QED_CANCEL_GRACE", "integer > 0", 3, "seconds between SIGTERM and SIGKILL when a running job is "
      "cancelled", _WK, "cancel_grace"),
    V("QED_STARTUP_TIMEOUT", "seconds", 30.0, "seconds gateway and worker wait at start for the store and "
      "broker before they stop with a message", _BOTH, "startup_timeout"),
    V("QED_PUBLISH", "word", "direct", "how the gateway queues a job: `direct` builds Celery's message and "
      "writes it on a pooled channel of the Redis broker (a quarter of `send_task`'s CPU, the same message); "
      "`send_task`: Celery's own path (always used for other brokers and routed tasks)", _GW, "publish"),
    V("QED_LOG_FORMAT", "word", "text", "`json`: one JSON object per log line; job events carry `job_id` "
      "and `event`", _BOTH, "log_format"),
    V("QED_REST_WAIT", "seconds", 30.0, "seconds a `POST /rest/pram/<model>/<jobId>` waits for its job "
      "before answering 202 (at once when `QED_MAX_WAITERS` requests of the process wait already)",
      _GW, "rest_wait"),
    V("QED_SYNC_WAIT", "seconds", 10.0, "seconds an OGC execution without `Prefer: respond-async` waits "
      "for its result before answering `201`", _GW, "sync_wait"),
    V("QED_MAX_WAITERS", "integer > 0", _max_waiters, "requests of one gateway process that may wait for "
      "their job at once (`POST /rest/pram/…`, OGC executions without `Prefer: respond-async`); past "
      "it such a request is answered at once as a job (`202` on `/rest/pram`, `201` statusInfo on OGC)",
      _GW, "max_waiters", shown="`100` under gunicorn's gevent worker (the default), `2` under threads"),
    V("QED_API_KEYS_FILE", "path", None, "the API key file; when set, every route but `/healthz` needs a "
      "key (see [Security](security.md)); also the file `qed keys` edits", _GW + ", qed keys",
      "api_keys_file", shown="— (open API)"),
    V("QED_RATE_LIMIT", "rate", DEFAULT_RATE_LIMIT, "requests per client and window "
      "(`1000/minute;50/second` combines windows; `off` removes it)", _GW, "rate_limit"),
    V("QED_MAX_ACTIVE_JOBS", "integer > 0", 50, "jobs one client may have queued or running at once "
      "(429 above)", _GW, "max_active_jobs"),
    V("QED_MAX_ACTIVE_ROWS", "integer > 0", 1_000_000, "runs of batch jobs one client may have queued or "
      "running at once (429 above; a model chain whose steps make more fails)", _BOTH, "max_active_rows"),
    V("QED_CORS_ORIGINS", "origins", (), "browser origins allowed to call the API, space or comma "
      "separated (`*` for any)", _GW, "cors_origins", shown="— (no CORS)"),
    V("QED_PROXY_COUNT", "integer ≥ 0", 0, "trusted reverse proxies in front of the gateway; their "
      "`X-Forwarded-For` then gives the client's address", _GW, "proxy_count"),
    V("QED_CALLBACK_ALLOWLIST", "hosts", (), "hosts, addresses or networks (`hooks.example.org "
      "10.1.0.0/16`) that `subscriber` URLs may name", _BOTH, "callback_allowlist",
      shown="— (no callbacks)"),
    V("QED_CACHE", "on/off", True, "answer a job identical to one already run (same app, model, versions and "
      "validated inputs) from that job's result, and join one still running (see [the API](api.md#result-cache))",
      _GW, "cache", shown="`on`"),
    V("QED_CACHE_SCOPE", "word", "owner", "whose jobs may answer from the cache: `owner` (the caller's own; "
      "with keys off all callers count as one owner) or `all` (any client's)", _GW, "cache_scope"),
    V("QED_GIT_COMMIT", "text", None, "the source's git commit, shown in job provenance (else the file "
      "`flask_qed/BUILD_COMMIT` the image's build writes)", _BOTH, reader="flask_qed.jobs.prov"),
    V("QED_MAX_VERTICES", "integer > 0", 1_000_000, "most vertices in one HMS percent-area request, GeoJSON "
      "body or uploaded file (422 above, naming it); at the default no process passes 440 MB",
      "HMS app (gateway, worker)", reader="hms_flask.science"),
    V("REDIS_HOSTNAME", "text", "localhost", "the original flask_qed name of the broker's host, used when "
      "`QED_BROKER_URL` is not set", _BOTH),
    V("REDIS_PORT", "text", "6379", "the original flask_qed name of the broker's port, used when "
      "`QED_BROKER_URL` is not set", _BOTH),
    V("MONGO_SERVER", "text", None, "the original flask_qed name of the MongoDB host (or a `mongodb://` "
      "URL), used when `QED_STORE_URL` is not set", _BOTH),
    V("QED_BIND", "text", "0.0.0.0:7777", "the gateway's address and port (`qed up` passes its own)",
      _GUNICORN, reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_WORKERS", "integer > 0", 2, "gateway processes", _GUNICORN, reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_WORKER_CLASS", "text", "gevent", "`gevent` (a connection costs a greenlet: slow clients "
      "cannot take every thread) or `gthread`; also sets the default of `QED_MAX_WAITERS`",
      _GUNICORN + ", gateway", reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_WORKER_CONNECTIONS", "integer > 0", 1_000, "connections one gevent process holds at once",
      _GUNICORN, reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_THREADS", "integer > 0", 4, "threads per gateway process under `gthread`",
      _GUNICORN, reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_TIMEOUT", "integer ≥ 0", 60, "seconds a gateway process may stay silent before gunicorn "
      "restarts it", _GUNICORN, reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_GRACEFUL_TIMEOUT", "integer ≥ 0", 30, "seconds a stopping gateway finishes the requests "
      "in flight", _GUNICORN, reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_HTTP_PARSER", "text", "auto", "`auto` parses requests with gunicorn_h1c, gunicorn's C "
      "parser, installed with the project (about 0.2 ms less gateway CPU per job); `python` forces the "
      "Python parser", _GUNICORN, reader="flask_qed.gunicorn_conf"),
    V("GUNICORN_ACCESSLOG", "path", None, "a file for gunicorn's access log, `-` for stdout; off by "
      "default, as it costs about a tenth of the gateway's CPU under load and nginx logs every request in "
      "the compose stack", _GUNICORN, reader="flask_qed.gunicorn_conf", shown="(off)"),
    V("GUNICORN_LOGLEVEL", "word", "info", "gunicorn's log level", _GUNICORN,
      reader="flask_qed.gunicorn_conf"),
    V("PROMETHEUS_MULTIPROC_DIR", "path", None, "a folder the gateway's and the workers' processes share "
      "for their metrics, added up in one `/metrics` (`qed up` makes one under the instance folder); "
      "a folder that cannot be written is logged and left out", _BOTH, reader="flask_qed.metrics",
      shown="— (each process's own metrics)"),
    V("HOSTNAME", "text", None, "names this host's files in the shared metrics folder (set by Docker and "
      "Kubernetes)", _BOTH, reader="flask_qed.metrics", shown="the host's name"),
)
del V
BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}


def variable(name: str) -> Variable:
    """The declaration of ``name``; a KeyError names a variable nobody declared."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not declared in flask_qed.config.VARIABLES") from None


def read(name: str, env: Mapping[str, str] | None = None) -> Any:
    """The value of the declared variable ``name`` in ``env`` (the process's environment by
    default), read by its type; its default when unset or blank."""
    return variable(name).read(os.environ if env is None else env)


@dataclass(frozen=True)
class Settings:
    """What the gateway and the workers run with; each field is one variable of
    :data:`VARIABLES` (its meaning and default are there)."""
    broker_url: str
    redis_url: str | None  # rate-limit counters, notices, the reconciler's lock; None: none shared
    store_url: str
    result_ttl: int
    instance_path: str
    max_content_length: int
    task_soft_time_limit: int
    task_time_limit: int
    visibility_timeout: int
    job_lease: int  # a running job renews its claim every job_lease/4 s
    broker_timeout: float
    extra_apps: tuple[str, ...]
    api_keys_file: str | None  # no key file = an open API (flask_qed.web.security)
    rate_limit: str  # "" = no limit
    cors_origins: tuple[str, ...]
    max_active_jobs: int
    max_active_rows: int
    proxy_count: int
    max_waiters: int  # flask_qed.jobs.waiting
    sync_wait: float
    rest_wait: float
    callback_allowlist: tuple[str, ...]
    pending_grace: int  # flask_qed.reconciler
    sweep_interval: int
    cancel_grace: int
    startup_timeout: float  # flask_qed.preflight
    log_format: str
    publish: str
    cache: bool  # flask_qed.jobs.cache
    cache_scope: str
    queue: str

    def __post_init__(self) -> None:
        check_settings(self)


BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp", "sentinel", "memory")
REDIS_SCHEMES = ("redis://", "rediss://")
STORE_SCHEMES = ("sqlite://", "mongodb://", "mongodb+srv://", "mongomock://")


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
    if s.redis_url is not None and not s.redis_url.startswith(REDIS_SCHEMES):
        problems.append(f"QED_REDIS_URL must be a redis:// or rediss:// URL, got scheme "
                        f"{s.redis_url.split('://')[0]!r}")
    if not s.store_url.startswith(STORE_SCHEMES):
        problems.append(f"QED_STORE_URL: unsupported scheme in {s.store_url.split('://')[0]!r}; "
                        "use sqlite:///path or mongodb://host/db")
    if s.publish not in ("direct", "send_task"):
        problems.append(f"QED_PUBLISH must be direct or send_task, got {s.publish!r}")
    if s.cache_scope not in ("owner", "all"):
        problems.append(f"QED_CACHE_SCOPE must be owner or all, got {s.cache_scope!r}")
    if not s.queue or not all(c.isalnum() or c in "._-:" for c in s.queue):
        problems.append(f"QED_QUEUE must be letters, digits and . _ - : only, got {s.queue!r}")
    if s.log_format not in ("text", "json"):
        problems.append(f"QED_LOG_FORMAT must be text or json, got {s.log_format!r}")
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))


def broker_url_from(env: Mapping[str, str]) -> str:
    """QED_BROKER_URL, else the original REDIS_HOSTNAME/REDIS_PORT, else local Redis."""
    return read("QED_BROKER_URL", env)


def store_url_from(env: Mapping[str, str], instance_path: str) -> str:
    """QED_STORE_URL, else MONGO_SERVER (original name), else the embedded SQLite file."""
    return read("QED_STORE_URL", {**env, "QED_INSTANCE_PATH": instance_path})


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Every field of :class:`Settings` from its variable in ``env`` (the process's
    environment by default)."""
    env = os.environ if env is None else env
    return Settings(**{v.field: v.read(env) for v in VARIABLES if v.field})


# The table in docs/configuration.md, between these lines.
TABLE_START = "<!-- variables: written by `python -m flask_qed.config --write docs/configuration.md` -->"
TABLE_END = "<!-- end of variables -->"


def markdown_table() -> str:
    """:data:`VARIABLES` as the Markdown table of docs/configuration.md."""
    rows = ["| variable | type | default | meaning | used by | read in |", "|---|---|---|---|---|---|"]
    rows += [f"| `{v.name}` | {v.type} | {v.shown_default} | {v.meaning} | {v.used_by} | "
             f"`{'Settings.' + v.field if v.field else v.reader}` |" for v in VARIABLES]
    return "\n".join(rows) + "\n"


def with_table(document: str) -> str:
    """``document`` with the text between its table markers replaced by :func:`markdown_table`."""
    head, start, rest = document.partition(TABLE_START)
    _old, end, tail = rest.partition(TABLE_END)
    if not (start and end):
        raise ValueError(f"the document has no {TABLE_START!r} ... {TABLE_END!r} block")
    return f"{head}{start}\n{markdown_table()}{end}{tail}"


if __name__ == "__main__":  # python -m flask_qed.config [--write docs/configuration.md]
    if sys.argv[1:2] == ["--write"] and len(sys.argv) == 3:
        path = Path(sys.argv[2])
        path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(markdown_table())
