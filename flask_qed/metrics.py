"""Prometheus metrics: ``GET /metrics`` in the text format, from prometheus-client.

What is counted:

* gateway: HTTP requests by method, route and status, and their latency by
  route (:class:`HttpMetrics`, a WSGI middleware; routes are path templates
  such as ``/jobs/{id}``, so the number of series stays small); jobs submitted
  by app and model; store and broker errors;
* workers: jobs finished by app, model and status, and the run time per model;
* at scrape time: the broker's queue depth.

Gateway and workers are several processes (gunicorn workers, Celery's pool).
When ``PROMETHEUS_MULTIPROC_DIR`` names a folder they share (``qed up`` sets
one under the instance folder; docker-compose mounts one volume into both),
prometheus-client's multiprocess mode adds them all up in one ``/metrics``;
without it, ``/metrics`` shows the answering process alone.
"""
from __future__ import annotations

import logging
import os
import re
import time
from typing import Any, Callable, Iterable

logger = logging.getLogger(__name__)


def _shared_folder_usable() -> None:
    """prometheus-client writes into PROMETHEUS_MULTIPROC_DIR from its first metric on
    (and chooses that mode when it is imported): a folder that cannot be written must
    cost the metrics of other processes, never the service. Runs before that import."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, f".probe-{os.getpid()}")
        open(probe, "ab").close()
        os.unlink(probe)
    except OSError as exc:
        logger.warning("PROMETHEUS_MULTIPROC_DIR %s is not usable (%s): /metrics shows this "
                       "process alone", folder, exc)
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]


_shared_folder_usable()

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

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

_ID = re.compile(r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?=/|$)")
_REST_JOB = re.compile(r"^(/rest/pram/[^/]+/)[^/]+$")


def route_of(path: str, status: int) -> str:
    """A path as a template: job ids become ``{id}``; a 404 is ``unmatched`` (a scanner's
    random paths must not each make a series)."""
    if status == 404:
        return "unmatched"
    path = _ID.sub("/{id}", path.rstrip("/") or "/")
    return _REST_JOB.sub(r"\1{jobId}", path)


class HttpMetrics:
    """WSGI middleware counting every answer and timing it until its last byte."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start = time.perf_counter()
        seen: dict[str, int] = {}

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
            path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
            method = environ.get("REQUEST_METHOD", "GET")
            route = route_of(path, status)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - start)


def job_finished(record: dict[str, Any]) -> None:
    """Count a finished job and its run time (called by the worker with the job as its
    run left it; never raises)."""
    try:
        status = record.get("status")
        if status not in ("SUCCESS", "FAILURE", "REVOKED"):
            return
        labels = (record.get("app") or "", record.get("model") or "")
        JOBS_FINISHED.labels(*labels, status).inc()
        if record.get("started") and record.get("finished"):
            JOB_DURATION.labels(*labels).observe(max(0.0, _seconds(record["finished"]) - _seconds(record["started"])))
    except Exception as exc:  # noqa: BLE001 - metrics must never fail a job
        logger.debug("job %s: not counted: %s", record.get("job_id"), exc)


def _seconds(iso: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class QueueDepth:
    """The broker's queue length, read when Prometheus scrapes (Redis brokers)."""

    def __init__(self, celery: Any, queue: str):
        self.celery, self.queue = celery, queue

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("qed_queue_depth", "Jobs waiting in the broker's queue", labels=["queue"])
        try:
            with self.celery.connection_for_read() as conn:
                client = conn.channel().client  # kombu's Redis transport
                gauge.add_metric([self.queue], float(client.llen(self.queue)))
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            logger.debug("queue depth not read: %s", exc)
        yield gauge


def registry(celery: Any) -> CollectorRegistry:
    """What ``/metrics`` shows: every process's metrics in multiprocess mode, this one's
    otherwise, and the queue depth."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        for collector in (HTTP_REQUESTS, HTTP_LATENCY, JOBS_SUBMITTED, JOBS_FINISHED, JOB_DURATION,
                          STORE_ERRORS, BROKER_ERRORS):
            reg.register(collector)
    reg.register(QueueDepth(celery, celery.conf.task_default_queue or "celery"))
    return reg


def exposition(reg: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(reg), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """A gunicorn or Celery child ended: its live gauges go (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
