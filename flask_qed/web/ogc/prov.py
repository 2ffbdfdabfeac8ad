"""``/ogcapi/jobs/<id>/prov``: a job's provenance (W3C PROV-JSON), the same document as
the native ``/jobs/<id>/prov`` (:mod:`flask_qed.jobs.prov`), read as the caller may see it."""
from __future__ import annotations

from typing import Any

from ...jobs import prov
from .views import read


def job_prov(job_id: str) -> Any:
    return prov.document(read(job_id, data=False))
