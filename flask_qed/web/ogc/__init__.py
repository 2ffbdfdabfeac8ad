"""OGC API – Processes – Part 1: Core (OGC 18-062r2), mounted under ``/ogcapi``.

Every declared model is a process whose id is its task name (``pram.rice``,
``hms.percent_area``); its description is derived from the model declaration,
like the native description and the OpenAPI entry. An execution is a job like
any other: it goes through the native submit path (validation, quotas, owner,
the store record, the Celery task), so ``/jobs/<id>`` and ``/ogcapi/jobs/<id>``
are two views of one record.

Mapping to the native vocabulary:

* status: PENDING → accepted, STARTED → running, SUCCESS → successful,
  FAILURE → failed, REVOKED → dismissed.
* a batch model (PRAM) takes each input as one value (one run) or as an array
  (one value per run; a single value beside arrays applies to every run);
  outputs follow: one value, or an array in run order.
* execution mode: ``Prefer: respond-async`` → 201 and a job; otherwise the
  request waits up to ``QED_SYNC_WAIT`` seconds (or the ``wait=`` preference,
  if shorter) for the result and answers it, else answers as if asynchronous;
  it answers so at once when the process already has ``QED_MAX_WAITERS``
  requests waiting (:mod:`flask_qed.jobs.waiting`).
* inputs by reference (``href``) are refused: the server fetches no URL for a client.

Errors are OGC exception documents (``type``, ``title``, ``status``, ``detail``),
for every answer under ``/ogcapi/`` whoever makes it (the front door's 401 and
429 too: :func:`flask_qed.errors.error_body`); the rest of the gateway keeps its
own error shape.

The face is a package: :mod:`.views` (one function per endpoint), :mod:`.describe`
(process descriptions and inputs), :mod:`.results`, :mod:`.joblist`,
:mod:`.openapi30` (the API document) and :mod:`.exceptions`.
"""
from __future__ import annotations

from typing import Any

from celery import Celery

from ...runtime import Runtime
from ..flaskapp import new_app
from ..wsgi import empty_path_is_root
from . import views
from .describe import process_index
from .exceptions import register_errors
from .prov import job_prov

PREFIX = "/ogcapi"
ROUTES = [  # (rule, view, methods)
    ("/", views.landing, ["GET"]),
    ("/conformance", views.conformance, ["GET"]),
    ("/api", views.api, ["GET"]),
    ("/processes", views.process_list, ["GET"]),
    ("/processes/<pid>", views.process, ["GET"]),
    ("/processes/<pid>/execution", views.execute, ["POST"]),
    ("/jobs", views.job_list, ["GET"]),
    ("/jobs/<job_id>", views.job, ["GET"]),
    ("/jobs/<job_id>", views.dismiss, ["DELETE"]),
    ("/jobs/<job_id>/results", views.job_results, ["GET"]),
    ("/jobs/<job_id>/results/<output>", views.job_output, ["GET"]),
    ("/jobs/<job_id>/prov", job_prov, ["GET"]),
]


def mount(runtime: Runtime, celery: Celery) -> dict[str, Any]:
    """The OGC face, to mount at ``/ogcapi``."""
    ogc = new_app("flask_qed.ogc", runtime, errors=register_errors)
    ogc.extensions["qed_ogc"] = views.Face(runtime, celery, process_index(runtime.apps))
    for rule, view, methods in ROUTES:
        ogc.add_url_rule(rule, f"{view.__name__}:{methods[0]}", view, methods=methods)
    return {PREFIX: empty_path_is_root(ogc.wsgi_app)}
