"""A job's inputs as it ran them: what a client needs to run the job again (the
workbench's "Run this model again" fills the model's form with them).

Inputs are stored as validation left them: a model's own fields as an object, or a
batch packed in chunks of rows (:class:`~flask_qed.batch.ChunkedInputs`). They come
back as ``{"inputs": {...}}`` for one run and ``{"inputs": [{...}, ...]}`` (rows, in
run order) for a batch of several; an input not given (null) is left out, so that
the model's default applies again.
"""
from __future__ import annotations

from typing import Any

from ..batch import CHUNKED
from ..stores.base import unpack

MAX_RUNS = 10_000  # most runs of a batch given back as rows in one answer


class TooManyRuns(ValueError):
    """A batch too large to give back whole; faces answer 413."""


def given(record: dict[str, Any]) -> dict[str, Any]:
    """``{"job_id", "app", "model", "label"?, "runs", "inputs"}`` of a record read with its
    inputs packed (``store.get(job_id, inputs=True, data=False, packed=True)``)."""
    packed = record.get("inputs")
    rows = record.get("rows")
    if packed is not None and rows is not None and int(rows) > MAX_RUNS:
        raise TooManyRuns(f"job {record['job_id']} ran {rows} runs; at most {MAX_RUNS} are given back "
                          "as inputs (download the batch you sent instead)")
    value = _read(packed) if packed is not None else {}
    runs = len(value) if isinstance(value, list) else 1
    body: dict[str, Any] = {"job_id": record["job_id"], "app": record.get("app"), "model": record.get("model")}
    if record.get("label"):
        body["label"] = record["label"]
    body.update(runs=runs, inputs=value[0] if isinstance(value, list) and runs == 1 else value)
    return body


def _read(packed: bytes) -> Any:
    """The stored inputs: an object, or a batch's rows in run order."""
    stored = unpack(packed) if isinstance(packed, (bytes, bytearray)) else packed
    if isinstance(stored, dict) and stored.get("format") == CHUNKED:
        return [_given(row) for chunk in stored.get("chunks", []) for row in chunk.get("rows", [])]
    if isinstance(stored, list):
        return [_given(row) if isinstance(row, dict) else row for row in stored]
    return _given(stored) if isinstance(stored, dict) else stored


def _given(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}
