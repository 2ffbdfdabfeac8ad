"""Prometheus metrics: ``GET /metrics`` in the text format, from prometheus-client.

What is counted:

* gateway: HTTP requests by method, route and status, and their latency by
  route (:class:`HttpMetrics`, a WSGI middleware); jobs submitted by app and
  model; result cache hits, joins and misses; store and broker errors;
* workers: jobs finished by app, model and status, and the run time per model;
* at scrape time: the broker's queue depth.

Gateway and workers are several processes (gunicorn workers, Celery's pool).
When ``PROMETHEUS_MULTIPROC_DIR`` names a folder they share (``qed up`` sets
one under the instance folder; docker-compose mounts one volume into both),
prometheus-client's multiprocess mode adds them all up in one ``/metrics``;
without it, or when this process cannot write into it (logged), ``/metrics``
shows the answering process alone. The environment is read, never changed.

Every label value comes from a finite set, so that no request can add a series:
a route is the template of the Flask rule that matched (``/jobs/{job_id}``,
``/rest/pram/{model}/{job_id}``, with the prefix of the app it is mounted
under), never the path the client sent; an answer no route gave has a fixed
name (``unauthorized``, ``rate_limited``, ``redirect``, ``preflight``,
``unmatched``); a method outside the HTTP ones is ``other``.
"""
from __future__ import annotations

import logging
import os
import re
import struct
import time
from typing import Any, Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess
from prometheus_client import values as _values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict

from . import config, rabbitmq
from .jobs.states import TERMINAL

logger = logging.getLogger(__name__)


def usable_folder(folder: str | None) -> str | None:
    """``folder`` if this process can write into it (made if missing), else None, logged:
    a shared folder that cannot be written must cost the metrics of the other processes,
    never the service (prometheus-client would fail at the first metric)."""
    if not folder:
        return None
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, f".probe-{os.getpid()}")
        open(probe, "ab").close()
        os.unlink(probe)
    except OSError as exc:
        logger.warning("PROMETHEUS_MULTIPROC_DIR %s is not usable (%s): /metrics shows this "
                       "process alone", folder, exc)
        return None
    return folder


# The folder this process shares its metrics through; None: its metrics are its own.
SHARED_FOLDER = usable_folder(config.read("PROMETHEUS_MULTIPROC_DIR"))


def process_id(pid: int | None = None) -> str:
    """This process's name in the shared folder: host name and process id. Containers
    that share the folder number their processes alike (two worker replicas both have
    a process 1, 7 and 8), and a file per process id alone would be written by two
    processes at once and corrupted."""
    return f"{_HOST}-{pid or os.getpid()}"  # called on every metric update: nothing else to look up


def _hostname() -> str:
    import socket
    return (config.read("HOSTNAME") or socket.gethostname()).replace("_", "-").replace("/", "-")


_HOST = _hostname()


def _readable(path: str) -> bool:
    try:
        for _ in MmapedDict.read_all_values_from_file(path):
            pass
    except (RuntimeError, ValueError, OSError, UnicodeDecodeError, struct.error) as exc:  # cut short, overwritten
        logger.warning("metrics file %s is unreadable (%s): left out", path, exc)
        return False
    return True


def _forget_unreadable_own_files(folder: str) -> None:
    """A file named for this process is left by a dead one with the same name (a process
    id used again); one that cannot be read would stop this process at its first metric."""
    import glob
    for path in glob.glob(os.path.join(folder, f"*_{process_id()}.db")):
        if not _readable(path):
            try:
                os.unlink(path)
            except OSError:
                pass


# prometheus-client chose its value class from the environment when it was imported,
# before any metric exists; it is chosen again here from the folder as checked, before
# the first metric below, and the environment is left as it is. Its multiprocess values
# find the folder in PROMETHEUS_MULTIPROC_DIR, which is SHARED_FOLDER when that is set.
if SHARED_FOLDER:
    _values.ValueClass = _values.MultiProcessValue(process_identifier=process_id)
    _forget_unreadable_own_files(SHARED_FOLDER)
else:
    _values.ValueClass = _values.MutexValue

HTTP_REQUESTS = Counter("qed_http_requests_total", "HTTP requests answered",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("qed_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "route"],
                         buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
JOBS_SUBMITTED = Counter("qed_jobs_submitted_total", "Jobs accepted", ["app", "model"])
JOBS_FINISHED = Counter("qed_jobs_finished_total", "Jobs finished", ["app", "model", "status"])
JOB_DURATION = Histogram("qed_job_duration_seconds", "Run time of a job, start to finish",
                         ["app", "model"],
                         buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800))
STORE_ERRORS = Counter("qed_store_errors_total", "Requests answered 503 because the job store failed")
BROKER_ERRORS = Counter("qed_broker_errors_total", "Requests answered 503 because the broker failed")
CACHE_LOOKUPS = Counter("qed_cache_lookups_total", "Result cache lookups at submission: hit (answered "
                        "from a finished job), join (joined a running one), miss (run)",
                        ["app", "model", "result"])

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Answers made before any route matched (the front door's, or a path no app knows).
UNROUTED = {401: "unauthorized", 429: "rate_limited", 302: "redirect", 204: "preflight"}
_PATH = "qed.metrics.path"    # environ: PATH_INFO as the gateway received it
_ROUTE = "qed.metrics.route"  # environ: the matched rule's template, set by _note_route
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")  # <job_id>, <path:name>, <any(a, b):kind>


def route_of(environ: dict[str, Any], status: int) -> str:
    """The route label of an answered request: the template of the rule that matched,
    else a fixed name for what answered (see the module doc)."""
    return environ.get(_ROUTE) or UNROUTED.get(status, "unmatched")


def _note_route(sender: Any, **extra: Any) -> None:
    """On Flask's ``request_started`` (sent by every app of the gateway once its URL
    has matched): note the rule's template, with the prefix the app is mounted under.

    The prefix is the part of the request's path that the dispatchers moved to
    ``SCRIPT_NAME`` on the way, one of the gateway's mount points: taken from the
    path, not from ``SCRIPT_NAME``, which also holds a forwarded prefix (ProxyFix)."""
    from flask import request
    environ = request.environ
    rule = request.url_rule
    if rule is None or _ROUTE in environ or _PATH not in environ:
        return
    full, rest = environ[_PATH], environ.get("PATH_INFO", "")
    if full.endswith(rest):
        mount = full[:len(full) - len(rest)]
    else:  # an app mounted at /prefix reached as /prefix: its empty path was made "/"
        mount = full if rest == "/" else ""
    environ[_ROUTE] = (mount.rstrip("/") + _VARIABLE.sub(r"{\1}", rule.rule)).rstrip("/") or "/"


_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, kept: the same child prometheus_client would return, without
    its checks and lock on every request and job (the labels' values are few: methods,
    routes, statuses, models)."""
    key = (metric, *values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


class HttpMetrics:
    """WSGI middleware counting every answer and timing it until its last byte."""

    def __init__(self, app: Callable[..., Any]):
        from flask.signals import request_started
        self.app = app
        request_started.connect(_note_route, weak=False)  # a second connect is a no-op

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start = time.perf_counter()
        seen: dict[str, int] = {}
        environ[_PATH] = environ.get("PATH_INFO", "")

        def start_and_note(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        body = self.app(environ, start_and_note)
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()
            status = seen.get("status", 500)
            method = environ.get("REQUEST_METHOD", "GET")
            method = method if method in METHODS else "other"
            route = route_of(environ, status)
            _child(HTTP_REQUESTS, method, route, str(status)).inc()
            _child(HTTP_LATENCY, method, route).observe(time.perf_counter() - start)


def job_finished(record: dict[str, Any]) -> None:
    """Count a finished job and its run time (called by the worker with the job as its
    run left it; never raises)."""
    try:
        status = record.get("status")
        if status not in TERMINAL:
            return
        labels = (record.get("app") or "", record.get("model") or "")
        _child(JOBS_FINISHED, *labels, status).inc()
        if record.get("started") and record.get("finished"):
            _child(JOB_DURATION, *labels).observe(max(0.0, _seconds(record["finished"]) - _seconds(record["started"])))
    except Exception as exc:  # noqa: BLE001 - metrics must never fail a job
        logger.debug("job %s: not counted: %s", record.get("job_id"), exc)


def _seconds(iso: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class QueueDepth:
    """The broker's queue length, read when Prometheus scrapes (Redis or RabbitMQ)."""

    def __init__(self, celery: Any, queue: str):
        self.celery, self.queue = celery, queue

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("qed_queue_depth", "Jobs waiting in the broker's queue", labels=["queue"])
        try:
            if rabbitmq.is_rabbitmq(str(self.celery.conf.broker_url or "")):
                gauge.add_metric([self.queue], float(rabbitmq.queue_depth(self.celery, self.queue)))
            else:
                with self.celery.connection_for_read() as conn:
                    client = conn.channel().client  # kombu's Redis transport
                    gauge.add_metric([self.queue], float(client.llen(self.queue)))
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            logger.debug("queue depth not read: %s", exc)
        yield gauge


def registry(celery: Any) -> CollectorRegistry:
    """What ``/metrics`` shows: every process's metrics in multiprocess mode, this one's
    otherwise, and the queue depth."""
    if SHARED_FOLDER:
        reg = CollectorRegistry()
        _SharedFolder(reg, SHARED_FOLDER)
    else:
        reg = CollectorRegistry()
        for collector in (HTTP_REQUESTS, HTTP_LATENCY, JOBS_SUBMITTED, JOBS_FINISHED, JOB_DURATION,
                          STORE_ERRORS, BROKER_ERRORS, CACHE_LOOKUPS):
            reg.register(collector)
    reg.register(QueueDepth(celery, celery.conf.task_default_queue or "celery"))
    return reg


def exposition(reg: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(reg), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """A gunicorn or Celery child ended: its live gauges go (multiprocess mode)."""
    if SHARED_FOLDER:
        multiprocess.mark_process_dead(process_id(pid), SHARED_FOLDER)


class _SharedFolder(multiprocess.MultiProcessCollector):
    """Every process's metrics from the shared folder; a file that cannot be read (a
    process killed while it grew the file) is left out and logged, the rest shown."""

    def collect(self) -> Iterable[Any]:
        import glob
        files = [f for f in glob.glob(os.path.join(self._path, "*.db")) if _readable(f)]
        return self.merge(files, accumulate=True)
