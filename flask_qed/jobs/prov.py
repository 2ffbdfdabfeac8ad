"""A job's provenance as a W3C PROV-JSON document (https://www.w3.org/submissions/prov-json/).

What the document says of a job:

* **entities**: the inputs, named by the job's fingerprint (an uploaded file also
  by the SHA-256 of its bytes, and the inputs were derived from it); the model
  run (a ``prov:Plan``: app, model, model version, task); the result, when there
  is one;
* **activity**: the run, ``job:<id>``, with its start and end, status, attempts
  and error;
* **agents**: the worker host that ran it, with the versions of Python, numpy,
  scipy, shapely, pyproj and GDAL it ran with (recorded by the worker when it
  took the job), and flask_qed itself, with its version and the source's git
  commit where known (``QED_GIT_COMMIT``, or the file ``BUILD_COMMIT`` baked
  into the package by the image's build);
* **relations**: ``used`` (run → inputs), ``wasGeneratedBy`` (result → run),
  ``wasAssociatedWith`` (run → agents, with the model as plan), and for a job
  answered from another's result (a cache hit, or a join) ``wasDerivedFrom``:
  its result from that job's result, whose run is described too (from what the
  job kept of it, so the link holds after that job has expired).

Nothing here knows HTTP: both faces answer the same document.
"""
from __future__ import annotations

import platform
import re
import socket
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import config
from ..version import __version__
from .states import SUCCESS

NS = "urn:flask-qed:"
PREFIX = {"qed": NS, "job": NS + "job:", "inputs": NS + "inputs:", "model": NS + "model:",
          "host": NS + "host:", "sw": NS + "software:", "sha256": "urn:hash::sha256:"}
LIBRARIES = ("numpy", "scipy", "shapely", "pyproj")
COMMIT_FILE = Path(__file__).resolve().parent.parent / "BUILD_COMMIT"


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The source's git commit: ``QED_GIT_COMMIT``, else the file baked at build; None if neither."""
    commit = config.read("QED_GIT_COMMIT")
    if commit:
        return commit
    try:
        return COMMIT_FILE.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


@lru_cache(maxsize=2)
def software(libraries: bool = True) -> dict[str, str]:
    """The versions this process runs with (found once per process): flask_qed, its
    commit, Python and, with ``libraries``, the scientific libraries and GDAL."""
    found = {"flask_qed": __version__, "python": platform.python_version()}
    commit = git_commit()
    if commit:
        found["commit"] = commit
    if libraries:
        for name in LIBRARIES:
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
        gdal = _gdal_version()
        if gdal:
            found["gdal"] = gdal
    return found


def _gdal_version() -> str | None:
    try:
        import pyogrio
        return str(pyogrio.__gdal_version_string__)
    except (ImportError, AttributeError, OSError):
        pass
    try:
        from osgeo import gdal
        return str(gdal.__version__)
    except (ImportError, AttributeError):
        return None


def host() -> str:
    return socket.gethostname()


def _qname(name: str) -> dict[str, str]:
    return {"$": name, "type": "prov:QUALIFIED_NAME"}


def _time(iso: str) -> dict[str, str]:
    return {"$": iso, "type": "xsd:dateTime"}


class _Doc:
    """A PROV-JSON document being written: each record and relation added once."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {"prefix": dict(PREFIX), "entity": {}, "activity": {}, "agent": {},
                                     "used": {}, "wasGeneratedBy": {}, "wasAssociatedWith": {},
                                     "wasDerivedFrom": {}}

    def add(self, kind: str, ident: str, attributes: dict[str, Any]) -> str:
        self.body[kind].setdefault(ident, {k: v for k, v in attributes.items() if v is not None})
        return ident

    def relate(self, kind: str, **ends: Any) -> None:
        relations = self.body[kind]
        relations[f"_:{kind}{len(relations) + 1}"] = {f"prov:{k}": v for k, v in ends.items() if v is not None}


def document(record: dict[str, Any]) -> dict[str, Any]:
    """The PROV-JSON document of the job ``record`` (its small fields suffice)."""
    doc = _Doc()
    inputs = _inputs(doc, record)
    result = _run(doc, record, inputs, record)
    origin = record.get("origin") or {}
    if record.get("cached_from"):
        origin_id = record["cached_from"]
        served = f"sw:flask_qed/{__version__}"
        doc.add("agent", served, {"prov:type": _qname("prov:SoftwareAgent"), "qed:version": __version__,
                                  "qed:commit": (record.get("software") or {}).get("commit")})
        doc.relate("wasAssociatedWith", activity=f"job:{record['job_id']}", agent=served)
        if origin:
            origin_result = _run(doc, {"status": SUCCESS, **origin, "job_id": origin_id}, inputs, record)
        else:
            origin_result = doc.add("entity", f"job:{origin_id}/result", {"prov:type": _qname("qed:Result")})
        if result is not None and origin_result is not None:
            doc.relate("wasDerivedFrom", generatedEntity=result, usedEntity=origin_result,
                       activity=f"job:{record['job_id']}")
    _chain(doc, record, inputs)
    return {k: v for k, v in doc.body.items() if v or k == "prefix"}


def _chain(doc: _Doc, record: dict[str, Any], inputs: str) -> None:
    """A chain's links: an outer job used each step's result for one of its inputs (and its
    inputs were derived from it); a step's run names the job it fed."""
    activity = f"job:{record['job_id']}"
    steps = record.get("steps") or {name: step["job"] for name, step in (record.get("waits_for") or {}).items()}
    for name, step_id in sorted(steps.items()):
        step_result = doc.add("entity", f"job:{step_id}/result", {"prov:type": _qname("qed:Result"),
                                                                   "qed:input": name})
        doc.relate("used", activity=activity, entity=step_result, role=_qname(f"qed:{name}"))
        doc.relate("wasDerivedFrom", generatedEntity=inputs, usedEntity=step_result, activity=activity)
    if record.get("feeds"):
        doc.body["activity"][activity]["qed:feeds"] = record["feeds"]


def _inputs(doc: _Doc, record: dict[str, Any]) -> str:
    fingerprint = record.get("fingerprint") or f"job-{record['job_id']}"
    inputs = doc.add("entity", f"inputs:{fingerprint}", {
        "prov:type": _qname("qed:Inputs"), "qed:fingerprint": record.get("fingerprint"),
        "qed:rows": record.get("rows")})
    for field, digest in sorted((record.get("uploads") or {}).items()):
        upload = doc.add("entity", f"sha256:{digest}", {"prov:type": _qname("qed:Upload"),
                                                         "qed:field": field, "qed:sha256": digest})
        doc.relate("wasDerivedFrom", generatedEntity=inputs, usedEntity=upload)
    return inputs


def _run(doc: _Doc, run: dict[str, Any], inputs: str, record: dict[str, Any]) -> str | None:
    """The activity of ``run`` (the job itself, or the run it took its result from), its
    plan and agents; the result entity it generated, if it succeeded."""
    activity = f"job:{run['job_id']}"
    took = bool(run.get("cached_from"))  # answered from another job: no worker of its own
    start = run.get("started") or (run.get("created") if took else None)
    doc.add("activity", activity, {
        "prov:type": _qname("qed:CachedRun" if took else "qed:ModelRun"),
        "prov:startTime": _time(start) if start else None,
        "prov:endTime": _time(run["finished"]) if run.get("finished") else None,
        "qed:status": run.get("status"), "qed:attempts": run.get("attempts"), "qed:error": run.get("error"),
        "qed:created": _time(run["created"]) if run.get("created") else None})
    doc.relate("used", activity=activity, entity=inputs)
    plan = doc.add("entity", f"model:{record.get('app')}/{record.get('model')}/{record.get('version')}", {
        "prov:type": _qname("prov:Plan"), "qed:app": record.get("app"), "qed:model": record.get("model"),
        "qed:modelVersion": record.get("version"), "qed:task": record.get("task")})
    worker = run.get("host") or run.get("worker")
    if worker and not took:
        soft = run.get("software") or {}
        agent = doc.add("agent", f"host:{re.sub(r'[^A-Za-z0-9._-]', '-', worker)}", {
            "prov:type": _qname("prov:SoftwareAgent"), "qed:host": run.get("host"),
            "qed:worker": run.get("worker"), **{f"qed:{k}": v for k, v in sorted(soft.items())
                                                if k not in ("flask_qed", "commit")}})
        doc.relate("wasAssociatedWith", activity=activity, agent=agent, plan=plan)
        project = f"sw:flask_qed/{soft.get('flask_qed', __version__)}"
        doc.add("agent", project, {"prov:type": _qname("prov:SoftwareAgent"),
                                   "qed:version": soft.get("flask_qed", __version__),
                                   "qed:commit": soft.get("commit")})
        doc.relate("wasAssociatedWith", activity=activity, agent=project)
    if run.get("status") != SUCCESS:
        return None
    result = doc.add("entity", f"job:{run['job_id']}/result", {"prov:type": _qname("qed:Result")})
    doc.relate("wasGeneratedBy", entity=result, activity=activity,
               time=_time(run["finished"]) if run.get("finished") else None)
    return result
