"""gunicorn settings shared by ``qed up`` and deployments (``-c python:flask_qed.gunicorn_conf``).

Every value can be overridden from the environment; the variables, their defaults and
their checks are declared in :data:`flask_qed.config.VARIABLES` (this module runs before
the application, so it reads them itself, through that table).
"""
from flask_qed.config import read as _env
from flask_qed.startup import check_or_exit as _check_or_exit

# A mistake in the settings or the apps stops gunicorn here, with one line naming it,
# before it logs anything or starts workers that would each fail with a traceback.
_check_or_exit("gateway", "gunicorn")

bind = _env("QED_BIND")
workers = _env("GUNICORN_WORKERS")
# gevent: a connection costs a greenlet, not a thread, so clients that send their
# request slowly (or not at all) cannot take every thread and freeze the gateway;
# gthread held one of its 4 threads per connection from its first byte to its last
# (benchmarks/slow_clients.py: 200 slow connections, /healthz 0.7-5 s or no answer
# under gthread, 2 ms under gevent). A request's own work is as fast either way
# (benchmarks/request_floor.py). GUNICORN_WORKER_CLASS=gthread brings threads back.
worker_class = _env("GUNICORN_WORKER_CLASS")
worker_connections = _env("GUNICORN_WORKER_CONNECTIONS")
threads = _env("GUNICORN_THREADS")  # gthread only
timeout = _env("GUNICORN_TIMEOUT")
graceful_timeout = _env("GUNICORN_GRACEFUL_TIMEOUT")
keepalive = 5
# Requests are parsed by gunicorn_h1c (C) when it is installed, as it is with the project:
# about a tenth less of the gateway's CPU per request than gunicorn's Python parser.
# "python" forces the Python parser, "fast" refuses to start without the C one.
http_parser = _env("GUNICORN_HTTP_PARSER")
# One line per request costs about a tenth of the gateway's CPU under load, and the
# front door (nginx) logs every request already: off unless GUNICORN_ACCESSLOG names
# a file ("-" for stdout). Job events are logged either way.
accesslog = _env("GUNICORN_ACCESSLOG")
errorlog = "-"
loglevel = _env("GUNICORN_LOGLEVEL")
# Several gunicorns on one host (tests, qed up) would collide on one default socket path.
control_socket_disable = True

if worker_class == "gevent":
    import warnings

    # gunicorn's own settings import ssl before any worker patches it; the gateway
    # opens TLS connections only through modules that look ssl up when they connect.
    warnings.filterwarnings("ignore", message="Monkey-patching ssl after ssl has already been imported")


def on_starting(server):
    """Stop at once, with a clear message, if the store or the broker cannot work."""
    from flask_qed.config import load_settings
    from flask_qed.preflight import check
    settings = load_settings()
    if settings.log_format == "json":  # QED_LOG_FORMAT=json: the gateway's own lines as JSON too
        from flask_qed.logs import json_formatter, use_json
        use_json()
        for handler in server.log.error_log.handlers:
            handler.setFormatter(json_formatter())
    check(settings, "gateway")


# No software version on the wire, and gunicorn's own refusals (414 URI too
# long, 431 headers too large, 400 malformed request) in the project's JSON
# error shape instead of an HTML page.
from flask_qed.gunicorn_errors import install as _install_json_errors  # noqa: E402

_install_json_errors()


def child_exit(server, worker):
    """A gateway process ended: with shared metrics, its live series go with it."""
    from flask_qed.metrics import mark_process_dead
    mark_process_dead(worker.pid)
