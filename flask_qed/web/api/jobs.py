"""The native API's job routes, gateway-wide: ``/jobs``, ``/jobs/<id>``, its status,
results and provenance, and ``DELETE`` to cancel. Each is a thin view over :mod:`flask_qed.jobs`."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from celery import Celery
from flask import Flask, Response, request

from ... import jobs
from ...errors import ApiError
from ...jobs import access, cancel, inputs, listing, outputs, prov, waiting
from ...runtime import Runtime
from .. import prefer
from ..flags import yes_or_no
from ..security import caller_of
from .responses import finished, job_response, output_response, results_response, units_asked, wants_csv

LIST_LIMIT = 1000  # most records one page of GET /jobs may hold


def add_job_routes(root: Flask, runtime: Runtime, celery: Celery) -> None:
    store = runtime.store

    def read(job_id: str, **kwargs: Any) -> dict[str, Any]:
        return access.read(store, job_id, caller_of(request.environ), **kwargs)

    def long_poll(job_id: str, **kwargs: Any) -> Any:
        """The record; with ``Prefer: wait=N``, once the job has ended or N s have passed."""
        wait = prefer.wait_seconds(prefer.preferences(request.headers.getlist("Prefer")),
                                   runtime.settings.sync_wait)
        record = read(job_id, **kwargs)
        if wait is None or record["status"] in jobs.TERMINAL:
            return job_response(record)
        ended = waiting.wait_for_job(runtime, job_id, wait, **kwargs)
        if ended is None:  # no waiting slot free: as it is
            return job_response(record)
        answer = job_response(ended)
        answer.headers["Preference-Applied"] = f"wait={wait:g}"
        return answer

    @root.get("/jobs/<job_id>")
    def job(job_id: str) -> Any:
        return long_poll(job_id, packed=True)

    @root.get("/jobs/<job_id>/status")
    def job_status(job_id: str) -> Any:
        """The record without its data: what a poll loop should read."""
        return long_poll(job_id, data=False)

    @root.get("/jobs/<job_id>/results")
    def job_results(job_id: str) -> Any:
        units = units_asked()
        csv = wants_csv(strict=True)  # a CSV is written from the table, where there is one: not from the JSON
        record = read(job_id, packed=True, table=csv, as_stored=csv)
        return results_response(record, declared_units(runtime, record) if units else None)

    @root.get("/jobs/<job_id>/skipped")
    def job_skipped(job_id: str) -> Any:
        """The runs a batch skipped as invalid (``on_invalid: skip``) and why: JSON, or
        ``Accept: text/csv`` (``?f=csv``) one line per error, beside the results' CSV."""
        csv = wants_csv(strict=True)
        record = read(job_id, packed=True, table=True, as_stored=True)
        finished(record)
        skipped = outputs.skipped_of(record)
        if csv:
            name = f"{record.get('app')}-{record.get('model')}-{record['job_id']}-skipped.csv"
            return Response(outputs.skipped_csv(skipped), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return {"job_id": record["job_id"], "skipped": len(skipped), "errors": skipped}

    @root.get("/jobs/<job_id>/results/<output>")
    def job_output(job_id: str, output: str) -> Any:
        """One output of a finished job (JSON, or CSV where it is a column or series)."""
        units = units_asked()
        wants_csv(strict=True)  # a format it cannot answer refused before the job is read
        record = read(job_id, packed=True)
        return output_response(record, output, declared_units(runtime, record) if units else None)

    @root.get("/jobs/<job_id>/inputs")
    def job_inputs(job_id: str) -> Any:
        """The inputs the job ran, ready to send again (``{"inputs": ...}``)."""
        try:
            return inputs.given(read(job_id, inputs=True, data=False, packed=True))
        except inputs.TooManyRuns as exc:
            raise ApiError(413, str(exc)) from None

    @root.get("/jobs/<job_id>/prov")
    def job_prov(job_id: str) -> Any:
        """The job's provenance, W3C PROV-JSON."""
        return prov.document(read(job_id, data=False))

    @root.get("/jobs")
    def job_list() -> Any:
        return list_page(runtime)

    @root.delete("/jobs/<job_id>")
    def revoke(job_id: str) -> Any:
        """Cancel a job not yet finished: a queued one never runs, a running one is stopped."""
        read(job_id, data=False)
        if not cancel.cancel(celery, runtime, job_id):
            status = store.get(job_id, data=False)["status"]
            raise ApiError(409, f"job {job_id} is already {status}")
        return job_response(store.get(job_id, packed=True))


def declared_units(runtime: Runtime, record: dict[str, Any]) -> dict[str, str]:
    """The units its model declares for a job's inputs and outputs (none for a model
    no longer served)."""
    app = runtime.app(record.get("app") or "")
    model = app.model(record.get("model") or "") if app is not None else None
    return model.units() if model is not None else {}


def list_page(runtime: Runtime) -> dict[str, Any]:
    """Jobs newest first, filtered, one page at a time: with keys on, the caller's own
    (``admin``: everyone's); with keys off, everyone's (``mine=1``: this address's)."""
    args = request.args
    try:
        limit = int(args.get("limit", 50))
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    if not 1 <= limit <= LIST_LIMIT:
        raise ApiError(400, f"limit must be 1..{LIST_LIMIT}")
    try:
        mine = bool(yes_or_no(args.get("mine")))
    except ValueError:
        raise ApiError(400, f"mine: {args.get('mine', '')[:40]!r} is neither true nor false") from None
    status = args.get("status")
    if status is not None and status.upper() not in jobs.State.__members__:
        raise ApiError(400, "status must be one of " + ", ".join(jobs.State))
    try:
        since = listing.iso(listing.parse_time(args["since"])) if args.get("since") is not None else None
        page, cursor = listing.page(
            runtime.store, limit, args.get("cursor") or None,
            owner=caller_of(request.environ).list_owner(mine=mine),
            app=args.get("app"), model=args.get("model"), status=status.upper() if status else None,
            since=since)
    except listing.QueryError as exc:
        raise ApiError(400, str(exc)) from None
    body: dict[str, Any] = {"jobs": [jobs.public(r) for r in page], "next": None}
    if cursor:
        query = {k: v for k, v in args.items() if k != "cursor"}
        body["next"] = f"/jobs?{urlencode({**query, 'cursor': cursor})}"
    return body
