"""Structured logs: with ``QED_LOG_FORMAT=json`` every log line of the gateway and
the workers is one JSON object (python-json-logger), and each job event carries
``job_id`` and ``event`` (queued, started, succeeded, failed, cancelled,
revoked, requeued, duplicate, terminate, killed) as fields of its own, so that
a log system can follow a job across processes. The default stays text.
"""
from __future__ import annotations

import logging
from typing import Any

from .brokers import QUEUED_LOG, log_queued
from .runtime import runtime_of

logger = logging.getLogger(__name__)

FIELDS = "%(asctime)s %(levelname)s %(name)s %(processName)s %(process)d %(message)s"


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter
    return JsonFormatter(FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger",
                                                "processName": "process_name", "process": "pid"})


def use_json(root: logging.Logger | None = None) -> None:
    """Give the root logger one JSON handler on stderr (processes that set none up: gunicorn)."""
    root = root or logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter())
    root.handlers = [handler]
    root.setLevel(logging.INFO)


def connect(celery: Any) -> None:
    """Wire the log format into Celery's logging set-up, and log each publish as a job event."""
    from celery import signals
    settings = runtime_of(celery).settings

    if settings.log_format == "json":
        def reformat(logger: logging.Logger | None = None, **_: Any) -> None:
            for handler in (logger or logging.getLogger()).handlers:
                handler.setFormatter(json_formatter())

        signals.after_setup_logger.connect(reformat, weak=False, dispatch_uid="qed_json_logs")
        signals.after_setup_task_logger.connect(reformat, weak=False, dispatch_uid="qed_json_task_logs")

    def published(sender: str | None = None, headers: dict | None = None, **_: Any) -> None:
        job_id = (headers or {}).get("id")
        if job_id:
            log_queued(sender or "", job_id)

    # The jobs service's publisher writes this event itself when no other receiver listens
    # (flask_qed.brokers: it then sends no signal).
    signals.after_task_publish.connect(published, weak=False, dispatch_uid=QUEUED_LOG)
