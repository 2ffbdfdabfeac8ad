"""Job results as a table: ubertool's column form (``{"inputs": {field: {run: v}},
"outputs": {...}}``) written as CSV, one row per run, streamed row by row.

Stored results are read with :func:`packed_table`: the JSON text is parsed a field at a
time (:class:`~flask_qed.streamjson.TextStream`) into compact columns (float64 arrays
where the values are numbers), so a batch of 100,000 runs never exists as millions of
Python objects in the gateway."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Callable, Iterator

import numpy as np
import orjson


def _csv_lines() -> tuple[io.StringIO, Any, Callable[[], str]]:
    """A CSV writer on a buffer, and ``flush()``: the text written since the last flush."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text
    return buffer, writer, flush


def is_tabular(data: Any) -> bool:
    """Whether ``data`` is in column form: sections of ``{field: {run: value}}``."""
    return isinstance(data, dict) and isinstance(data.get("outputs"), dict) and all(
        isinstance(col, dict) for col in data["outputs"].values())


def csv_rows(data: dict[str, Any]) -> Iterator[str]:
    """CSV text, a header then one line per run: run key, inputs, outputs (lists as JSON)."""
    sections = [(name, data.get(name) or {}) for name in ("inputs", "outputs")]
    columns = [(section, field) for name, section in sections for field in section]
    runs: dict[str, None] = {}  # every run key, in the order the columns give them
    for _, section in sections:
        for col in section.values():
            runs.update(dict.fromkeys(col))
    buffer, writer, flush = _csv_lines()

    writer.writerow(["run", *(field for _, field in columns)])
    yield flush()
    for run in runs:
        writer.writerow([run, *(_cell(section[field].get(run)) for section, field in columns)])
        if buffer.tell() > 65536:
            yield flush()
    yield flush()


class Table:
    """Column-form results held as compact columns: ``columns`` is a list of
    (field, run keys, column) in the order of the CSV header."""

    def __init__(self) -> None:
        self.columns: list[tuple[str, list[str], Any]] = []
        self.runs: dict[str, None] = {}

    def rows(self) -> Iterator[str]:
        """CSV text as :func:`csv_rows` writes it, a chunk of runs at a time: each column's
        cells are made as text in one pass (numbers as the csv module writes them, with
        ``repr``'s text; see :func:`_column_text`), then joined row by row; only text that
        needs quoting goes through the csv module."""
        buffer, writer, flush = _csv_lines()

        writer.writerow(["run", *(field for field, _, _ in self.columns)])
        yield flush()
        runs = list(self.runs)
        aligned = all(keys is runs or keys == runs for _, keys, _ in self.columns)
        for start in range(0, len(runs), CSV_CHUNK):
            part = runs[start:start + CSV_CHUNK]
            if aligned:
                cells = [_column_text(col, start, start + CSV_CHUNK) for _, _, col in self.columns]
            else:  # columns with other runs: looked up by run key
                cells = [[_text(lookup.get(run)) for run in part] for lookup in self._lookups()]
            lines = map(",".join, zip([_text(run) for run in part], *cells))
            yield "\n".join(lines) + "\n"

    def _lookups(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_lookup_cache"):
            self._lookup_cache = [dict(zip(keys, col.slice(0, len(keys)))) for _, keys, col in self.columns]
        return self._lookup_cache


CSV_CHUNK = 500  # runs written per step: a step holds its cells as text (about 70 bytes each)


def packed_table(packed: bytes) -> Table | None:
    """The results in ``packed`` (stored, compressed JSON) as a :class:`Table`, or None
    when they are not in column form."""
    from .columns import Column
    from .jsonutil import unpacked_pieces
    from .streamjson import TextStream

    text = TextStream(unpacked_pieces(packed, size=4 << 20))
    if text.peek() != "{":
        return None
    sections: dict[str, list[tuple[str, list[str], Any]]] = {"inputs": [], "outputs": []}
    ref: list[str] | None = None
    outputs_seen = False
    for name in text.members():
        if name not in sections or text.peek() != "{":
            text.value()  # another member (errors): read past it
            continue
        outputs_seen = outputs_seen or name == "outputs"
        found = sections[name]
        for field, column in text.items():
            if not isinstance(column, dict):
                if name == "outputs":
                    return None
                continue
            keys = list(column)
            if ref is None:
                ref = keys
            elif keys == ref:
                keys = ref
            found.append((field, keys, Column(list(column.values()))))
            del column
    if not outputs_seen:
        return None
    table = Table()
    ref_added = False
    for section in ("inputs", "outputs"):
        for field, keys, col in sections[section]:
            table.columns.append((field, keys, col))
            if keys is not ref or not ref_added:
                table.runs.update(dict.fromkeys(keys))
                ref_added = ref_added or keys is ref
    return table


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return value


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _text(value: Any) -> str:
    """One CSV cell as the csv module writes it (QUOTE_MINIMAL): text with a comma, a
    quote or a line break is quoted by the module itself."""
    value = _cell(value)
    text = value if type(value) is str else (repr(value) if type(value) is float else str(value))
    if _NEEDS_QUOTES.search(text) is None:
        return text
    buffer, writer, flush = _csv_lines()
    writer.writerow([text, ""])  # two fields: a lone empty field would be quoted
    return flush()[:-2]


def _column_text(col: Any, start: int, stop: int) -> list[str]:
    """The cells of runs ``start:stop`` of a column (:class:`~flask_qed.columns.Column`)."""
    if isinstance(col.values, list):
        return [_text(v) for v in col.values[start:stop]]
    values = col.values[start:stop]
    # orjson writes the same shortest digits as repr, several times faster, and the same
    # text from 1e-4 up to 1e16 (and zero); outside that, repr writes an exponent where
    # orjson does not, or writes it otherwise: those few are written by repr.
    out = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")
    with np.errstate(invalid="ignore"):
        size = np.abs(values)
        other = ~(((size >= 1e-4) & (size < 1e16)) | (values == 0) | np.isnan(values))
    for i in np.flatnonzero(other).tolist():
        out[i] = repr(float(values[i]))
    if col.is_int is not None:
        for i in np.flatnonzero(col.is_int[start:stop]).tolist():
            out[i] = str(int(col.values[start + i]))
    if col.is_null is not None:
        for i in np.flatnonzero(col.is_null[start:stop]).tolist():
            out[i] = ""
    return out
