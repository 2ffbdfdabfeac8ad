"""Model declarations: the one place a model is described.

A science module declares a model with plain module attributes, so that the
science layer never imports the framework::

    NAME = "rice"                      # route, task and store name
    TITLE = "Rice model"
    DESCRIPTION = "Screening-level water concentration in rice paddies."
    VERSION = "1.0"
    BATCH = True                       # rows are vectorised (PRAM); False: one input object (HMS)
    Inputs = <pydantic BaseModel>      # one run's inputs, with units/ranges in Field()
    OUTPUTS = {"out_cw": {"description": "...", "units": "ug/L"}}
    def compute(columns): ...          # BATCH: dict[str, ndarray] -> dict[str, array-like]
                                       # not BATCH: dict -> dict (JSON-ready data)

Optional: ``EXAMPLE`` (one run's inputs that run: the web form's prefill) and
``EXAMPLE_SOURCE`` (where it comes from, shown beside it: "EPA's QA/QC case"),
``SECTIONS`` (the form's sections in order, each with the inputs it holds:
``{"Chemical": ["koc", ...], ...}``; an input declared with its own ``section``
keeps it), ``ALIASES`` (extra paths under the app prefix), ``MAX_ROWS``,
``read_upload(data: bytes, filename: str) -> dict`` (turn an uploaded file
into the value of the ``UPLOAD_FIELD`` input), ``RISK`` (risk quotient outputs ->
their levels of concern), ``LOCS`` and ``GLOSSARY`` (see :mod:`flask_qed.risk`: each
run's exceedances are then in the results), and the cost model:

    TIME_LIMIT = 120                   # s: past it the job fails with TimeLimitExceeded
                                       # (default DEFAULT_TIME_LIMIT; capped by QED_TASK_TIME_LIMIT)
    MAX_COST = 1_000_000               # largest estimated cost the gateway accepts (422 above)
    COST_UNITS = "values"              # what the cost counts, for the 422 message
    def estimate_cost(inputs): ...     # not BATCH: the validated Inputs -> a number
                                       # BATCH: cost is rows × outputs (MAX_COST lowers MAX_ROWS)

:class:`Model` is what the framework derives everything from: the run and
description endpoints, the Celery task, validation and the JSON Schema.

The work is done by the modules below the declaration, which import nothing of it:
:mod:`~flask_qed.validation` (pydantic validation, :class:`InputError`),
:mod:`~flask_qed.columns` (the input forms, runs held as columns),
:mod:`~flask_qed.batch` (the science run a chunk at a time) and
:mod:`~flask_qed.codec` (JSON-safe values). The names other modules use are importable
from here as well.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Iterator, Mapping, Sequence

from pydantic import BaseModel, ValidationError

from .batch import CHUNKED, ChunkedInputs, Exceeds, run_chunked, run_rows
from .codec import columns_to_json, json_safe
from .columns import Column, Columns, rows_to_columns, to_rows
from .risk import Risk
from .validation import (MAX_ERRORS, VALIDATE_CHUNK, InputError, checked_schema, drop_blanks, input_errors,
                         short_value, validate_rows, with_cost_limit)
# Looked up here at call time (not bound into Model.validate_packed): a test replaces it
# with a validator that crashes, to see the crash reported as an input error.
from .validation import validate_chunks as _validate_chunks

logger = logging.getLogger(__name__)

__all__ = ["Model", "InputError", "Columns", "Column", "rows_to_columns", "columns_to_json", "json_safe",
           "to_rows", "drop_blanks", "MAX_ERRORS", "ON_INVALID", "DEFAULT_TIME_LIMIT", "CHUNKED"]

ON_INVALID = ("fail", "skip")
DEFAULT_TIME_LIMIT = 300  # s, for a declared model that names none


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    description: str
    version: str
    inputs: type[BaseModel]
    compute: Callable[[Any], Any]
    outputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    batch: bool = True
    aliases: Sequence[str] = ()
    max_rows: int = 100_000
    chunk_rows: int = 5_000
    upload_field: str | None = None
    read_upload: Callable[[bytes, str], Any] | None = None
    example: Mapping[str, Any] | None = None  # inputs that run: the web form's prefill
    example_source: str | None = None  # where the example comes from, said beside it on the form
    sections: Mapping[str, Sequence[str]] = field(default_factory=dict)  # the form's sections, in order
    # Cost model: the gateway refuses (422, naming the limit) a run whose estimate
    # is over max_cost; a run past time_limit seconds fails with TimeLimitExceeded.
    time_limit: int | None = None
    max_cost: float | None = None
    estimate_cost: Callable[[Any], float] | None = None
    cost_units: str = "units"
    risk: Risk | None = None  # which outputs are risk quotients, and their levels of concern

    def __post_init__(self) -> None:
        if self.max_cost is None:
            return
        if self.batch:  # cost = rows × outputs: the limit is a number of rows
            rows = int(self.max_cost // max(1, len(self.outputs)))
            object.__setattr__(self, "max_rows", max(1, min(self.max_rows, rows)))
        elif self.estimate_cost is not None:
            object.__setattr__(self, "inputs", with_cost_limit(self))

    @classmethod
    def from_module(cls, module: ModuleType) -> "Model":
        """Build the declaration from a science module's attributes."""
        get = lambda name, default=None: getattr(module, name, default)  # noqa: E731
        return cls(
            name=module.NAME, title=get("TITLE", module.NAME),
            description=get("DESCRIPTION", (module.__doc__ or "").strip()),
            version=str(get("VERSION", "1.0")), inputs=module.Inputs,
            compute=module.compute, outputs=get("OUTPUTS", {}),
            batch=get("BATCH", True), aliases=tuple(get("ALIASES", ())),
            max_rows=get("MAX_ROWS", 100_000), upload_field=get("UPLOAD_FIELD"),
            read_upload=get("read_upload"), example=get("EXAMPLE"), example_source=get("EXAMPLE_SOURCE"),
            sections=get("SECTIONS", {}),
            time_limit=get("TIME_LIMIT", DEFAULT_TIME_LIMIT), max_cost=get("MAX_COST"),
            estimate_cost=get("estimate_cost"), cost_units=get("COST_UNITS", "units"),
            risk=Risk.from_module(module),
        )

    # -- validation ---------------------------------------------------------
    def validate(self, inputs: Any, on_invalid: str = "fail") -> Any:
        """Validate JSON inputs (see :meth:`_validate`); a validator that crashes on odd
        input (overflow and the like) is reported as invalid input, never as a 500.

        ``on_invalid="skip"`` (batches): invalid runs are left out and reported per run
        under ``errors`` instead of refusing the whole batch."""
        if on_invalid not in ON_INVALID:
            raise InputError([{"run": None, "field": "on_invalid", "value": short_value(on_invalid),
                               "rule": f"must be one of {', '.join(ON_INVALID)}"}])
        with self._crash_is_input_error():
            return self._validate(inputs, skip=on_invalid == "skip")

    @contextmanager
    def _crash_is_input_error(self) -> Iterator[None]:
        """A validator that crashes on odd input (a bug, or input no rule foresaw) gives a
        422 that says so, never a 500."""
        try:
            yield
        except InputError:
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError, RecursionError) as exc:
            logger.warning("model %s: validator crashed on input: %r", self.name, exc)
            raise InputError([{"run": None, "field": "inputs", "value": None,
                               "rule": f"could not be validated: {type(exc).__name__}: {exc}"}]) from None

    def _validate(self, inputs: Any, skip: bool = False) -> Any:
        """Validate JSON inputs; return the normalised, JSON-ready inputs.

        BATCH models take ubertool's column form, a single run or a row list
        and return ``{"keys", "rows"}`` (plus ``"errors"`` of skipped runs).
        A blank ("" or null) is an input not given. Raises :class:`InputError`
        naming the run, field, value and rule (at most ``MAX_ERRORS`` of them).
        """
        if not self.batch:
            if not isinstance(inputs, dict):
                raise InputError([{"run": None, "field": "inputs", "value": short_value(inputs),
                                   "rule": "must be a JSON object"}])
            schema = checked_schema(self.inputs, inputs)
            try:
                return schema.model_validate(inputs).model_dump(mode="json")
            except ValidationError as exc:
                raise InputError(input_errors(exc, None, schema)[:MAX_ERRORS]) from None
        keys, rows = to_rows(inputs)
        if len(rows) > self.max_rows:
            raise InputError([{"run": None, "field": "inputs", "value": len(rows),
                               "rule": f"at most {self.max_rows} runs per job"}])
        return validate_rows(self.inputs, keys, drop_blanks(rows), skip)

    def run(self, validated: Any, progress: Callable[[float], None] | None = None) -> Any:
        """Run the science on validated inputs; return JSON-ready data.

        Large batches run in chunks of ``chunk_rows``: memory stays bounded and
        ``progress`` (if given) hears the fraction done after each chunk.
        """
        if not self.batch:
            return json_safe(self.compute(validated))
        return run_rows(self.compute, validated, self.chunk_rows, progress, self._exceeds())

    # -- bounded memory: large batches as chunks, never whole as Python objects ----------
    def validate_packed(self, inputs: Any, on_invalid: str = "fail") -> tuple[Any, int]:
        """Validate like :meth:`validate`; return (the inputs to store, runs).

        For a batch the stored inputs are packed JSON (:class:`~flask_qed.jsonutil.Packed`)
        in chunks of validated rows, one chunk a line, which :meth:`run_packed` reads a
        chunk at a time. ``inputs`` may be :class:`Columns` (a body parsed column by column)."""
        if not self.batch:
            return self.validate(inputs, on_invalid), 1
        if on_invalid not in ON_INVALID:
            return self.validate(inputs, on_invalid), 0  # raises InputError
        with self._crash_is_input_error():
            columns = inputs if isinstance(inputs, Columns) else Columns.from_json(inputs)
            if columns.count > self.max_rows:
                raise InputError([{"run": None, "field": "inputs", "value": columns.count,
                                   "rule": f"at most {self.max_rows} runs per job"}])
            out = ChunkedInputs(columns.count)
            by_run = _validate_chunks(self.inputs, columns.chunks(VALIDATE_CHUNK), columns.count,
                                      on_invalid == "skip", out.add, as_text=True, bools=columns.may_hold_bool)
            return out.close(by_run), out.count

    def run_packed(self, packed: bytes, progress: Callable[[float], None] | None = None) -> Any:
        """:meth:`run` on inputs stored by :meth:`validate_packed`, a chunk at a time: the
        result is written as packed JSON as it is computed (each field's values kept
        compressed until the whole document is assembled), in exactly the form
        :meth:`run` returns. Inputs stored otherwise are run by :meth:`run`."""
        return run_chunked(self.compute, packed, self.chunk_rows, progress, self.run, self._exceeds())

    def _exceeds(self) -> Exceeds | None:
        """A batch's exceedances of its levels of concern, for models that declare RQs."""
        return self.risk

    def units(self) -> dict[str, str]:
        """Each input's and output's declared units (ASCII, as in the declarations), where
        it has any; dimensionless (``-``) and units that follow another input are left out."""
        props = self.inputs.model_json_schema().get("properties", {})
        found = {name: prop.get("units") for name, prop in props.items() if not prop.get("units_by")}
        found.update({name: spec.get("units") for name, spec in self.outputs.items()})
        return {name: u for name, u in found.items() if isinstance(u, str) and u.strip() not in ("", "-")}

    def describe(self) -> dict[str, Any]:
        """The description endpoint's body."""
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "version": self.version, "batch": self.batch,
            "inputs": self.inputs.model_json_schema(),
            "outputs": {k: dict(v) for k, v in self.outputs.items()},
            "max_rows": self.max_rows if self.batch else None,
            "upload_field": self.upload_field,
            # a body ready to POST to the run endpoint as it is: the declared example run
            "example": {"inputs": dict(self.example)} if self.example is not None else None,
            **({"risk": self.risk.describe()} if self.risk is not None else {}),
        }
