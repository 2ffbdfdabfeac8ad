"""Callbacks: a job may name URLs to notify when it starts, succeeds or fails.

A run names them in a ``subscriber`` object — ``successUri``, ``failedUri``,
``inProgressUri``, the names OGC API – Processes gives them — in an OGC execute
request or beside ``inputs`` in a native one. The worker then POSTs the job's
statusInfo (JSON) to each URL that applies, retrying with exponential back-off
when the receiver fails or cannot be reached.

A callback is a request the server makes on a client's word, so only hosts the
operator lists in ``QED_CALLBACK_ALLOWLIST`` may be named (none by default):
host names, IP addresses or networks (``hooks.example.org 10.1.0.0/16``). A URL
is refused with 422 at submission unless it is http(s), carries no credentials
and names a listed host; a private, loopback or link-local address — named
literally or as the address a listed name resolves to — is refused unless that
address (or its network) is itself listed. The worker checks again just before
each POST, and never follows a redirect.
"""
from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Any

from celery import shared_task

from . import jobs, jsonutil
from .jobs.status import status_info
from .jobs.subscriber import refusal
from .runtime import runtime_of

logger = logging.getLogger(__name__)

MAX_RETRIES = 6          # attempts after the first; back-off 1, 2, 4 … 60 s
TIMEOUT = 10             # seconds for one POST
TASK_NAME = "flask_qed.callback"


# -- the worker's side -----------------------------------------------------------------
def job_finished(record: dict[str, Any]) -> None:
    """Queue the success or failure notification of a job just finished, if it asked for one
    (``record``: the job as its run left it)."""
    kind = {jobs.SUCCESS: "successUri", jobs.FAILURE: "failedUri"}.get(record.get("status"))
    if kind and (record.get("subscriber") or {}).get(kind):
        _queue(record["job_id"], kind)


def job_started(record: dict[str, Any]) -> None:
    """A job was claimed for its first run: queue the in-progress notification it asked for."""
    if (record.get("subscriber") or {}).get("inProgressUri"):
        _queue(record["job_id"], "inProgressUri")


def _queue(job_id: str, kind: str) -> None:
    try:
        send_callback.apply_async(args=[job_id, kind], retry=True, retry_policy={"max_retries": 2})
    except Exception as exc:  # noqa: BLE001 - the broker is down: the job's result still stands
        logger.error("job %s: %s notification not queued: %s", job_id, kind, exc)


@shared_task(name=TASK_NAME, bind=True, max_retries=MAX_RETRIES, ignore_result=True)
def send_callback(task: Any, job_id: str, kind: str) -> None:
    """POST the job's statusInfo to its ``kind`` URL; retried with back-off on failure."""
    runtime = runtime_of(task.app)
    try:
        record = runtime.store.get(job_id, data=False)
    except Exception as exc:  # noqa: BLE001
        logger.warning("job %s: %s notification dropped: %s", job_id, kind, exc)
        return
    url = (record.get("subscriber") or {}).get(kind)
    if not url:
        return
    reason = refusal(url, runtime.settings.callback_allowlist)
    if reason:
        logger.warning("job %s: %s %s refused: %s", job_id, kind, url, reason)
        return
    if kind == "inProgressUri":  # the news is that it started, whatever it is by now
        record = {**record, "status": jobs.STARTED}
    info = status_info(record, record.get("callback_base") or "/ogcapi")
    try:
        status = post_json(url, info)
    except (OSError, urllib.error.URLError) as exc:
        status, detail = None, str(exc)
    else:
        detail = f"HTTP {status}"
    if status is not None and 200 <= status < 300:
        logger.info("job %s: %s notified (%s)", job_id, kind, status)
        return
    if task.request.retries >= MAX_RETRIES:
        logger.error("job %s: %s %s failed %d times, given up: %s", job_id, kind, url,
                     MAX_RETRIES + 1, detail)
        return
    countdown = min(60, 2 ** task.request.retries)
    logger.warning("job %s: %s %s failed (%s); again in %d s", job_id, kind, url, detail, countdown)
    raise task.retry(countdown=countdown)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the receiver's answer, not an address to follow


_OPENER = urllib.request.build_opener(_NoRedirects, urllib.request.ProxyHandler({}))  # the checked host, no proxy


def post_json(url: str, body: Any) -> int:
    """POST ``body`` as JSON; the status of the answer (an error status is returned too)."""
    request = urllib.request.Request(url, data=jsonutil.dumps(body), method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "flask_qed-callback"})
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as answer:
            answer.read(65536)
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
