"""Batch execution: a model's science run over validated rows a chunk at a time.

Two ways, with the same result: :func:`run_rows` takes the validated inputs as Python
objects and returns ubertool's column form as Python objects; :func:`run_chunked` takes
inputs stored in the chunked layout (written by :class:`ChunkedInputs`, one chunk of
validated rows a line, compressed) and writes the result as packed JSON while it is
computed, each field's values kept compressed until the whole document is joined
(:class:`~flask_qed.jsonutil.PackedJoin`), so that memory stays bounded however large
the batch. Numeric columns are written straight from their arrays
(:func:`~flask_qed.codec.members_text`), not a Python float a run.
"""
from __future__ import annotations

import re
import zlib
from typing import Any, Callable, Protocol

import numpy as np

from .codec import columns_to_json, members_text, numeric_column
from .columns import rows_to_columns
from .jsonutil import Packed, PackedJoin, PackedWriter, PieceWriter, dumps, dumps_whole, loads, unpacked_lines
from .tablepack import IN_TABLE, TableWriter

__all__ = ["CHUNKED", "ChunkedInputs", "Exceeds", "run_rows", "run_chunked"]

CHUNKED = "qed-chunks-1"  # the layout of inputs stored by Model.validate_packed
_HEAD = re.compile(rb'^\{"format":"qed-chunks-1","total":([0-9]+),"chunks":\[$')

SMALL_RUNS = 50  # a batch this small is run and written whole (_run_small)
TABLE_MIN_RUNS = 500  # a batch this large keeps its columns for CSV as well (flask_qed.tablepack)
Compute = Callable[[dict[str, Any]], Any]  # a batch model's science: columns -> output columns
Progress = Callable[[float], None]


class Exceeds(Protocol):
    """A batch's exceedances of its levels of concern (:class:`flask_qed.risk.Risk`)."""

    def exceeds_json(self, outputs: dict[str, Any], keys: list[str]) -> bytes:
        """A chunk's output columns and run keys -> the JSON text of its ``"key":[...]`` members."""

    def exceeds_cells(self, outputs: dict[str, Any], n: int) -> list[str]:
        """Each of the chunk's ``n`` runs' exceedances as its CSV cell."""


def run_rows(compute: Compute, validated: dict[str, Any], chunk_rows: int,
             progress: Progress | None = None, exceeds: Exceeds | None = None) -> dict[str, Any]:
    """Run ``compute`` on validated inputs (``{"keys", "rows"}``, plus ``"errors"`` of
    skipped runs), ``chunk_rows`` runs at a time; ``progress`` hears the fraction done
    after each chunk. Returns ``{"inputs", "outputs"}`` in column form (then ``exceeds``,
    each run's exceedances, when given; and the errors)."""
    # ``validated`` is what validation returned (possibly through a JSON
    # store): rows already checked, parsed and completed with defaults.
    keys, rows = validated["keys"], validated["rows"]
    data: dict[str, dict[str, Any]] = {"inputs": {}, "outputs": {}}
    flagged: dict[str, Any] = {}
    if validated.get("errors"):  # runs skipped as invalid (on_invalid="skip")
        data["errors"] = validated["errors"]
    for start in range(0, len(rows), chunk_rows):
        part_keys = keys[start:start + chunk_rows]
        integers: set[str] = set()
        columns = rows_to_columns(rows[start:start + chunk_rows], integers)
        given = _as_given(columns, integers)
        outputs = compute(columns)
        for section, cols in (("inputs", {**columns, **given}), ("outputs", outputs)):
            for name, values in columns_to_json(cols, part_keys).items():
                data[section].setdefault(name, {}).update(values)
        if exceeds is not None:
            flagged.update(loads(b"{" + exceeds.exceeds_json(outputs, part_keys) + b"}"))
        if progress is not None:
            progress(min(1.0, (start + chunk_rows) / len(rows)))
    data["inputs"] = {name: col for name, col in data["inputs"].items()
                      if any(v is not None and v != "" for v in col.values())}
    if exceeds is not None and keys:  # as run_chunked: no runs, no exceeds
        data = {"inputs": data["inputs"], "outputs": data["outputs"], "exceeds": flagged,
                **({"errors": data["errors"]} if "errors" in data else {})}
    return data


def _as_given(columns: dict[str, Any], integers: set[str]) -> dict[str, Any]:
    """The integer inputs' columns as they were given, before the science has the
    columns (it computes with float64): a run's inputs are echoed as ``10``, not ``10.0``."""
    return {name: columns[name].astype(np.int64) for name in integers}


def _has_value(col: Any) -> bool:
    """Whether an input column holds a value in any run (an input no run gave, such as
    an unused descriptive field, is left out of the results)."""
    dtype = getattr(col, "dtype", None)
    if dtype is not None and dtype != object:
        return len(col) > 0
    return any(v is not None and v != "" for v in col)


class ChunkedInputs:
    """Validated batch inputs written in the chunked layout, as they are validated: a
    head naming ``total`` runs, then one ``{"keys", "rows"}`` chunk a line (``rows`` the
    JSON text of the validated rows), then the count kept and the skipped runs' errors."""

    def __init__(self, total: int) -> None:
        self._out = PackedWriter()
        self._out.write(b'{"format":"%s","total":%d,"chunks":[\n' % (CHUNKED.encode(), total))
        self.count = 0  # runs written

    def add(self, keys: list[str], rows: bytes) -> None:
        self._out.write((b"," if self.count else b"") + b'{"keys":' + dumps(keys) + b',"rows":' + rows
                        + b"}\n")
        self.count += len(keys)

    def close(self, errors: dict[str, list[dict[str, Any]]]) -> Packed:
        self._out.write(b'],"count":%d' % self.count + (b',"errors":' + dumps(errors) if errors else b"")
                        + b"}")
        return self._out.close()


def run_chunked(compute: Compute, packed: bytes, chunk_rows: int, progress: Progress | None,
                unchunked: Callable[[Any, Progress | None], Any], exceeds: Exceeds | None = None,
                in_table: bool = True) -> Any:
    """:func:`run_rows` on inputs stored by :class:`ChunkedInputs`, a chunk at a time: the
    result is written as packed JSON as it is computed, in exactly the form
    :func:`run_rows` returns; a batch of :data:`TABLE_MIN_RUNS` runs or more as its table
    alone, whose JSON is that text (``in_table``: see :func:`flask_qed.tablejson.json_of`).
    Inputs stored otherwise are parsed and handed to ``unchunked`` (with ``progress``)."""
    lines = unpacked_lines(packed)
    head = next(lines, b"")
    found = _HEAD.match(head)
    if found is None:
        return unchunked(loads(zlib.decompress(packed)), progress)
    total = max(1, int(found.group(1)))
    if total <= min(chunk_rows, SMALL_RUNS):
        small = _run_small(compute, lines, chunk_rows, progress, exceeds)
        if small is not None:
            return small
        lines = unpacked_lines(packed)  # a value orjson cannot write: the fields a field at a time
        next(lines)
    # One chunk: its fields are small, kept as text (compressing each costs more than it saves).
    result = _ResultWriter(compute, total, total <= chunk_rows, progress, exceeds, in_table)
    tail: dict[str, Any] = {}
    keys: list[str] = []
    rows: list[dict[str, Any]] = []
    for chunk in _stored_chunks(lines, tail):
        keys.extend(chunk["keys"])
        rows.extend(chunk["rows"])
        if len(rows) >= chunk_rows:
            result.add(keys, rows)
    if rows:
        result.add(keys, rows)
    data = result.close(tail.get("errors"))
    if data is None:  # a field missing from some runs, which a table cannot hold: the JSON, as written
        return run_chunked(compute, packed, chunk_rows, progress, unchunked, exceeds, in_table=False)
    return data


def _stored_chunks(lines: Any, tail: dict[str, Any]) -> Any:
    """Each ``{"keys", "rows"}`` chunk of inputs stored by :class:`ChunkedInputs` (its
    lines after the head); what follows the chunks (the count, the skipped runs' errors)
    is put in ``tail``."""
    for line in lines:
        if line.startswith(b"]"):
            tail.update(loads(b"{" + line[2:]))
            return
        yield loads(line[1:] if line.startswith(b",") else line)


def _run_small(compute: Compute, lines: Any, chunk_rows: int, progress: Progress | None,
               exceeds: Exceeds | None) -> Packed | None:
    """A batch of a few runs (most jobs are one): :func:`run_rows` on its rows, the result
    written by one ``dumps``. The same text as the field-by-field writer gives (which the
    tests hold to :meth:`Model.run`'s), in two thirds of its time for a run of one; None
    when orjson cannot write some value (an integer past 64 bits), which the field writer
    writes the standard library's way in that field alone."""
    keys: list[str] = []
    rows: list[dict[str, Any]] = []
    tail: dict[str, Any] = {}
    for chunk in _stored_chunks(lines, tail):
        keys.extend(chunk["keys"])
        rows.extend(chunk["rows"])
    validated = {"keys": keys, "rows": rows, **({"errors": tail["errors"]} if tail.get("errors") else {})}
    text = dumps_whole(run_rows(compute, validated, chunk_rows, progress, exceeds))
    if text is None:
        return None
    out = PackedWriter()
    out.write(text)
    return out.close()


class _TextWriter:
    """:class:`~flask_qed.jsonutil.PackedWriter`'s interface, uncompressed (small fields)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, text: bytes) -> None:
        self._parts.append(text)

    def close(self) -> bytes:
        return b"".join(self._parts)


class _ResultWriter:
    """A batch result being computed: each field's values as JSON text, a writer per field
    (compressed pieces, or plain text when ``one_chunk``)."""

    def __init__(self, compute: Compute, total: int, one_chunk: bool, progress: Progress | None,
                 exceeds: Exceeds | None = None, in_table: bool = True) -> None:
        self.compute, self.total, self.one_chunk, self.progress = compute, total, one_chunk, progress
        self.exceeds = exceeds
        self.flagged: Any = None  # the writer of the exceedances' members, once a chunk has some
        self.fields: dict[str, dict[str, Any]] = {"inputs": {}, "outputs": {}}
        self.given: set[str] = set()  # inputs with a value in some run
        self.done = 0
        # The same columns as arrays, for CSV (flask_qed.tablepack); a small batch's JSON is
        # parsed in less time than the table would take to write.
        self.table = TableWriter() if total >= TABLE_MIN_RUNS else None
        # A batch with a table keeps its result as the table alone: its JSON is written from
        # the table when it is read (tablejson.json_of), not here, where it cost more than
        # half the time of a run whose results are asked for as CSV.
        self.in_table = in_table and self.table is not None

    def add(self, keys: list[str], rows: list[dict[str, Any]]) -> None:
        """Compute the runs ``keys``/``rows`` and append their fields' text; empties both
        lists (``rows`` as soon as the science has its columns)."""
        integers: set[str] = set()
        columns = rows_to_columns(rows, integers)
        given = _as_given(columns, integers)
        outputs = self.compute(columns)
        rows.clear()
        names: list[bytes] | None = None  # each run's ',"key":' (the first without ','), once a chunk
        table = self.table
        if table is not None:
            table.keys(keys)
        for section, cols in (("inputs", {**columns, **given} if given else columns), ("outputs", outputs)):
            writers = self.fields[section]
            for name, col in cols.items():  # one field at a time: few Python objects at once
                if section == "inputs" and name not in self.given and _has_value(col):
                    self.given.add(name)
                if numeric_column(col, len(keys)):
                    if table is not None:
                        table.add(section, name, col, len(keys), numeric=True)
                    if self.in_table:
                        writers.setdefault(name, None)  # the field, in the order the JSON gives it
                        continue
                    names = names or [(b"," if i else b"") + dumps(key) + b":" for i, key in enumerate(keys)]
                    text = members_text(col, names)
                else:
                    members = columns_to_json({name: col}, keys)[name]
                    if table is not None:
                        table.add(section, name, list(members.values()), len(keys), numeric=False)
                    if self.in_table:
                        writers.setdefault(name, None)  # the field, in the order the JSON gives it
                        continue
                    text = dumps(members)[1:-1]
                writer = writers.get(name)
                if writer is None:
                    writer = writers[name] = _TextWriter() if self.one_chunk else PieceWriter()
                else:
                    writer.write(b",")
                writer.write(text)
        if self.exceeds is not None:
            self._flag(outputs, keys)
        self.done += len(keys)
        keys.clear()
        rows.clear()
        if self.progress is not None:
            self.progress(min(1.0, self.done / self.total))

    def _flag(self, outputs: dict[str, Any], keys: list[str]) -> None:
        """Append the chunk's exceedances (``"key":[...]`` for each run)."""
        text = self.exceeds.exceeds_json(outputs, keys) if keys else b""
        if self.table is not None:
            self.table.add("exceeds", "exceeds", self.exceeds.exceeds_cells(outputs, len(keys)), len(keys),
                           numeric=False)
        if self.flagged is None:
            # One writer, of text that repeats itself (the same members in every exceedance):
            # a full window at level 6 makes it 17 times smaller than the fields' small one,
            # in less time (10,000 kabam runs: 33.8 MB of text to 0.36 MB, not 6.0).
            self.flagged = _TextWriter() if self.one_chunk and not self.in_table \
                else PieceWriter(level=6, window=15, memlevel=8)
        elif text:
            self.flagged.write(b",")
        self.flagged.write(text)

    def close(self, errors: Any) -> Packed | None:
        """The whole result as one packed value. The fields' compressed text is joined as
        it is: never decompressed and compressed again. Its ``table`` is the same columns
        for CSV (:mod:`flask_qed.tablepack`), or None."""
        kept = {section: [n for n in self.fields[section] if section == "outputs" or n in self.given]
                for section in ("inputs", "outputs")}
        if self.flagged is not None:
            kept["exceeds"] = ["exceeds"]
        if self.in_table:  # the table alone (None: it could not hold every run; see run_chunked)
            table = self.table.close(kept, errors, self.flagged.close() if self.flagged is not None else None)
            self.table = None
            if table is None:
                return None
            result = Packed(IN_TABLE)
            result.table = table
            return result
        table = self.table.close(kept) if self.table is not None else None
        self.table = None
        out = PackedJoin()
        glue = [b"{"]
        for s, section in enumerate(("inputs", "outputs")):
            glue.append((b"," if s else b"") + dumps(section) + b":{")
            writers = self.fields[section]
            for i, name in enumerate(kept[section]):
                glue.append((b"," if i else b"") + dumps(name) + b":{")
                writer = writers.pop(name)
                if self.one_chunk:
                    glue.append(writer.close())
                else:
                    out.text(b"".join(glue))
                    glue = []
                    out.piece(writer.close())
                glue.append(b"}")
            glue.append(b"}")
        if self.flagged is not None:
            glue.append(b',"exceeds":{')
            if self.one_chunk:
                glue.append(self.flagged.close())
            else:
                out.text(b"".join(glue))
                glue = []
                out.piece(self.flagged.close())
            glue.append(b"}")
        if errors:
            glue.append(b',"errors":' + dumps(errors))
        glue.append(b"}")
        out.text(b"".join(glue))
        packed = out.close()
        packed.table = table
        return packed
