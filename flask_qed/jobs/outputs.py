"""A finished job's outputs, one at a time or a selection: what both faces answer for
``…/jobs/<id>/results/<output>`` and what OGC's ``outputs`` selection keeps.

A job's data names its outputs in one of two ways:

* column form (PRAM, ubertool's layout): ``{"inputs": {...}, "outputs": {name: {run: v}}}``
  — the outputs are the members of ``outputs``, each a column keyed by run;
* any other object (HMS and most models): its members are the outputs.

Data that is not an object (an app written the old way may return a list or a number)
is one output named ``result``. Stored data is read a member at a time
(:class:`~flask_qed.streamjson.TextStream`): only the outputs asked for are kept, so one
output of a batch of 100,000 runs is read without the whole result existing in memory.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Collection, Iterator

from ..jsonutil import unpacked_pieces
from ..results import csv_cell
from ..streamjson import TextStream

RESULT = "result"  # the name of the one output of data that is not an object
INDEX = "dates"  # a list of this name beside a series of the same length indexes its rows


class NoSuchOutput(LookupError):
    """An output the job's data does not hold; ``available`` are those it does."""

    def __init__(self, name: str, available: list[str]):
        super().__init__(name)
        self.name, self.available = name, available

    def __str__(self) -> str:
        listed = ", ".join(self.available) if self.available else "none"
        return f"no output {self.name!r} in this job's results; its outputs are: {listed}"


@dataclass
class Outputs:
    """Output names in the data's order, the values of those asked for, whether the data
    is in column form, and the ``dates`` index of a series when the data has one."""

    names: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    columns: bool = False
    index: list[Any] | None = None

    def one(self, name: str) -> Any:
        if name not in self.values:
            raise NoSuchOutput(name, self.names)
        return self.values[name]


def outputs_of(data: Any) -> Outputs:
    """The outputs of parsed data, every one of them."""
    if not isinstance(data, dict):
        return Outputs([RESULT], {RESULT: data})
    section = data.get("outputs")
    if isinstance(section, dict) and all(isinstance(col, dict) for col in section.values()):
        return Outputs(list(section), dict(section), columns=True)
    index = data.get(INDEX)
    return Outputs(list(data), dict(data), index=index if isinstance(index, list) else None)


def read_outputs(packed: bytes | None, wanted: Collection[str]) -> Outputs:
    """The outputs named ``wanted`` of stored (packed) data, read a member at a time;
    ``names`` lists every output, kept or not."""
    if packed is None:
        return Outputs()
    text = TextStream(unpacked_pieces(packed, size=4 << 20))
    if text.peek() != "{":
        found = outputs_of(text.value())
        found.values = {k: v for k, v in found.values.items() if k in wanted}
        return found
    found = Outputs()
    members: list[str] = []
    section: tuple[list[str], dict[str, Any], bool, dict[str, Any] | None] | None = None
    for name in text.members():
        members.append(name)
        if name == "outputs" and text.peek() == "{":
            section = _section(text, wanted)
            if name in wanted and not section[2]:
                found.values[name] = section[3]
            continue
        value = text.value() if name in wanted or name == INDEX else _skip(text)
        if name in wanted:
            found.values[name] = value
        if name == INDEX and isinstance(value, list):
            found.index = value
    if section is not None and section[2]:  # column form: the outputs are its columns
        return Outputs(section[0], section[1], columns=True)
    found.names = members
    return found


def _skip(text: TextStream) -> None:
    """Read past a value: an object a member at a time (a section of columns is parsed a
    column at a time, as fast as the CSV reader does it, and only one is held)."""
    if text.peek() == "{":
        for _ in text.items():
            pass
    else:
        text.value()
    return None


def _section(text: TextStream, wanted: Collection[str]
             ) -> tuple[list[str], dict[str, Any], bool, dict[str, Any] | None]:
    """The ``outputs`` member read a column at a time: its names, the wanted columns,
    whether every member is a column, and (when ``outputs`` itself is wanted) the whole."""
    names: list[str] = []
    kept: dict[str, Any] = {}
    whole: dict[str, Any] | None = {} if "outputs" in wanted else None
    columns = True
    for name, column in text.items():
        names.append(name)
        columns = columns and isinstance(column, dict)
        if name in wanted:
            kept[name] = column
        if whole is not None:
            whole[name] = column
    return names, kept, columns, whole


# -- the runs a batch skipped ------------------------------------------------------------
SKIPPED = "errors"  # the member of column-form data that holds the runs skipped as invalid


def skipped_runs(packed: bytes | None) -> dict[str, list[dict[str, Any]]]:
    """The runs a batch skipped as invalid (``on_invalid: skip``), each with its errors:
    the ``errors`` member of stored (packed) column-form data, read past the columns
    without keeping them; {} when it skipped none (or the data is not in column form,
    where a member of that name is an output)."""
    if packed is None:
        return {}
    text = TextStream(unpacked_pieces(packed, size=4 << 20))
    if text.peek() != "{":
        return {}
    columns, found = False, None
    for name in text.members():
        if name == SKIPPED and columns and text.peek() == "{":
            found = text.value()
            continue
        columns = columns or (name == "outputs" and text.peek() == "{")
        _skip(text)
    return found if isinstance(found, dict) else {}


def skipped_of(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """:func:`skipped_runs` of a record read as stored (``as_stored=True, table=True``): a
    large batch kept as its table has them in the table's head, no JSON read at all."""
    table = record.get("table")
    if table:
        from ..tablejson import MAGIC, head_of
        if bytes(table[:len(MAGIC)]) == MAGIC:
            found = head_of(table)[0].get("errors")
            return found if isinstance(found, dict) else {}
    return skipped_runs(record.get("data"))


def skipped_csv(skipped: dict[str, list[dict[str, Any]]]) -> Iterator[str]:
    """The runs skipped, one line per error: ``run,field,value,rule``."""
    return _lines(["run", "field", "value", "rule"],
                  ([run, e.get("field"), e.get("value"), e.get("rule")]
                   for run, errors in skipped.items() for e in errors if isinstance(e, dict)))


# -- one output as CSV ------------------------------------------------------------------
def csv_text(name: str, value: Any, columns: bool, index: list[Any] | None = None) -> Iterator[str] | None:
    """One output as CSV, or None when it is not a table: a column of runs (``run,name``),
    a series (``index`` — or ``dates`` when the data has them — then the value), a series
    of rows of equal length (one column per position: ``name[0]``, ``name[1]``, …)."""
    if columns and isinstance(value, dict):
        header, rows = ["run", name], ([run, v] for run, v in value.items())
    elif isinstance(value, list) and value:
        keys = index if index is not None and len(index) == len(value) else range(len(value))
        first = value[0]
        if all(not isinstance(v, (list, dict)) for v in value):
            header, rows = [INDEX if keys is index else "index", name], ([k, v] for k, v in zip(keys, value))
        elif isinstance(first, list) and all(isinstance(v, list) and len(v) == len(first)
                                              and not any(isinstance(c, (list, dict)) for c in v)
                                              for v in value):
            header = [INDEX if keys is index else "index", *(f"{name}[{j}]" for j in range(len(first)))]
            rows = ([k, *v] for k, v in zip(keys, value))
        else:
            return None
    else:
        return None
    return _lines(header, rows)


def _lines(header: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([repr(cell) if type(cell) is float else csv_cell(cell) for cell in row])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
