"""A job's status as OGC API – Processes names it (statusInfo): what the OGC face
answers and what a callback posts to a subscriber."""
from __future__ import annotations

from typing import Any

from .states import FAILURE, PENDING, REVOKED, STARTED, SUCCESS

JSON = "application/json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
STATUS = {PENDING: "accepted", STARTED: "running", SUCCESS: "successful", FAILURE: "failed",
          REVOKED: "dismissed"}
NATIVE = {v: k for k, v in STATUS.items()}
_MESSAGES = {"accepted": "queued", "running": "running", "successful": "done", "failed": "failed",
             "dismissed": "dismissed"}


def process_id(record: dict[str, Any]) -> str | None:
    """The process a job runs, as OGC names it (``pram.rice``): its app's and model's names,
    also while a chain's job waits for its steps (its task is then the chain's own); a
    job of an app without declared models, its task."""
    app, model = record.get("app"), record.get("model")
    return f"{app}.{model}" if app and model else record.get("task")


def status_info(record: dict[str, Any], base: str) -> dict[str, Any]:
    """A job record as an OGC statusInfo document (links absolute under ``base``)."""
    job_id = record["job_id"]
    status = STATUS.get(record.get("status", ""), "failed")
    stamps = [record.get(k) for k in ("created", "started", "finished")]
    info: dict[str, Any] = {
        "type": "process", "jobID": job_id, "processID": process_id(record), "status": status,
        "message": record.get("error") or _MESSAGES[status],
        "created": record.get("created"), "started": record.get("started"),
        "finished": record.get("finished"), "updated": max((s for s in stamps if s), default=None),
        "progress": int(record.get("progress") or 0),
        "links": [{"href": f"{base}/jobs/{job_id}", "rel": "self", "type": JSON, "title": "job status"}]}
    if status == "successful":
        info["links"].append({"href": f"{base}/jobs/{job_id}/results", "rel": REL + "results",
                              "type": JSON, "title": "results"})
    if record.get("label"):
        info["label"] = record["label"]  # the client's name for the job (not a standard member)
    return {k: v for k, v in info.items() if v is not None}
