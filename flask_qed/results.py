"""Job results as a table: what ``/jobs/<id>/results`` answers for ``Accept: text/csv`` and
what the workbench's CSV download is. ubertool's column form (``{"inputs": {field: {run: v}},
"outputs": {...}}``) is written one row per run, streamed row by row; other results are a
table where their shape makes one (:func:`data_table`: a split table, a time series, records
per feature); any other result has no table form. Results with an ``exceeds`` member (each
run's exceedances of its levels of concern, see :mod:`flask_qed.risk`) get a last column
``exceeds``: ``output>=level (loc)``, semicolon-separated.

Stored results are read with :func:`packed_table`: the JSON text is parsed a field at a
time (:class:`~flask_qed.streamjson.TextStream`) into compact columns (float64 arrays
where the values are numbers), so a batch of 100,000 runs never exists as millions of
Python objects in the gateway."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import orjson

from .risk import exceeds_text

EXCEEDS = "exceeds"  # the member of the results, and the CSV column, of the runs' exceedances


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
    if isinstance(data.get(EXCEEDS), dict):
        sections.append((EXCEEDS, {EXCEEDS: {run: exceeds_text(v) for run, v in data[EXCEEDS].items()}}))
    columns = [(section, field) for name, section in sections for field in section]
    runs: dict[str, None] = {}  # every run key, in the order the columns give them
    for _, section in sections:
        for col in section.values():
            runs.update(dict.fromkeys(col))
    buffer, writer, flush = _csv_lines()

    writer.writerow(["run", *(field for _, field in columns)])
    yield flush()
    for run in runs:
        writer.writerow([run, *(csv_cell(section[field].get(run)) for section, field in columns)])
        if buffer.tell() > 65536:
            yield flush()
    yield flush()


class Table:
    """Column-form results held as compact columns: ``columns`` is a list of
    (field, run keys, column) in the order of the CSV header."""

    def __init__(self) -> None:
        self.columns: list[tuple[str, list[str], Any]] = []
        self.runs: dict[str, None] = {}
        self.skipped: dict[str, Any] = {}  # the runs skipped as invalid, with their errors (read on the way)

    def rows(self) -> Iterator[str]:
        """CSV text as :func:`csv_rows` writes it (see :func:`rows_of`)."""
        runs = list(self.runs)
        aligned = all(keys is runs or keys == runs for _, keys, _ in self.columns)

        def cells(start: int, stop: int) -> list[list[str]]:
            if aligned:
                return columns_text([col for _, _, col in self.columns], start, stop)
            # columns with other runs: looked up by run key
            return [[_text(lookup.get(run)) for run in runs[start:stop]] for lookup in self._lookups()]
        return rows_of([field for field, _, _ in self.columns], runs, cells)

    def _lookups(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_lookup_cache"):
            self._lookup_cache = [dict(zip(keys, col.slice(0, len(keys)))) for _, keys, col in self.columns]
        return self._lookup_cache


CSV_CHUNK = 500  # runs written per step: a step holds its cells as text (about 70 bytes each)


def rows_of(fields: list[str], runs: list[str], cells: Callable[[int, int], list[list[str]]]) -> Iterator[str]:
    """CSV text as :func:`csv_rows` writes it, a header then :data:`CSV_CHUNK` runs at a
    time: ``cells(start, stop)`` gives each column's cells of those runs as text, asked for
    in order (numbers as the csv module writes them, with ``repr``'s text; see
    :func:`column_text`); they are joined row by row, and only text that needs quoting
    goes through the csv module."""
    buffer, writer, flush = _csv_lines()
    writer.writerow(["run", *fields])
    yield flush()
    for start in range(0, len(runs), CSV_CHUNK):
        part = runs[start:start + CSV_CHUNK]
        lines = map(",".join, zip([_text(run) for run in part], *cells(start, start + len(part))))
        yield "\n".join(lines) + "\n"


def with_units(rows: Iterator[str], units: Mapping[str, str]) -> Iterator[str]:
    """``rows`` (CSV text, a header first) with each header name that has units written
    ``name (units)``: a field's own column, or a series' column named after its field
    (``flow segment 2`` of ``flow``); the rows themselves unchanged."""
    first = next(rows, "")
    head, newline, rest = first.partition("\n")
    names = next(csv.reader([head]), [])
    longest_first = sorted(units, key=len, reverse=True)

    def headed(name: str) -> str:
        field = name if name in units else next((f for f in longest_first if name.startswith(f + " ")), None)
        return f"{name} ({units[field]})" if field is not None else name
    buffer, writer, flush = _csv_lines()
    writer.writerow([headed(n) for n in names])
    yield (flush() if newline else flush().rstrip("\n")) + rest
    yield from rows


def packed_table(packed: bytes) -> Table | None:
    """The results in ``packed`` (stored, compressed JSON) as a :class:`Table`, or None
    when they are not in column form."""
    from .columns import Column
    from .jsonutil import unpacked_pieces
    from .streamjson import TextStream

    text = TextStream(unpacked_pieces(packed, size=4 << 20))
    if text.peek() != "{":
        return None
    sections: dict[str, list[tuple[str, list[str], Any]]] = {"inputs": [], "outputs": [], EXCEEDS: []}
    ref: list[str] | None = None
    outputs_seen = False
    skipped: Any = None
    for name in text.members():
        if name not in sections or text.peek() != "{":
            value = text.value()  # another member (errors): read past it, kept for the answer's headers
            if name == "errors" and isinstance(value, dict):
                skipped = value
            continue
        if name == EXCEEDS:  # one column: each run's list, made a cell of text as it is read
            cells = [(run, exceeds_text(entries)) for run, entries in text.items()]
            sections[EXCEEDS].append((EXCEEDS, [run for run, _ in cells], Column([c for _, c in cells])))
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
    table.skipped = skipped or {}
    ref_added = False
    for field, keys, col in sections[EXCEEDS]:  # the same runs as the outputs, as one list
        if keys == ref:
            sections[EXCEEDS] = [(field, ref, col)]
    for section in ("inputs", "outputs", EXCEEDS):
        for field, keys, col in sections[section]:
            table.columns.append((field, keys, col))
            if keys is not ref or not ref_added:
                table.runs.update(dict.fromkeys(keys))
                ref_added = ref_added or keys is ref
    return table


def csv_cell(value: Any) -> Any:
    """A value as the csv module is to write it in a cell: nothing for null, a list or an
    object as its JSON text (``[[null,1.5]]``, never Python's ``[[None, 1.5]]``)."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return value


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _text(value: Any) -> str:
    """One CSV cell as the csv module writes it (QUOTE_MINIMAL): text with a comma, a
    quote or a line break is quoted by the module itself."""
    value = csv_cell(value)
    text = value if type(value) is str else (repr(value) if type(value) is float else str(value))
    if _NEEDS_QUOTES.search(text) is None:
        return text
    buffer, writer, flush = _csv_lines()
    writer.writerow([text, ""])  # two fields: a lone empty field would be quoted
    return flush()[:-2]


def columns_text(cols: list[Any], start: int, stop: int) -> list[list[str]]:
    """The cells of runs ``start:stop`` of ``cols`` for :func:`rows_of`, each column's a
    list, except that neighbouring columns of plain floats are written together, a row's
    cells already joined (:func:`float_rows`): a few strings a row, not one a cell."""
    out: list[list[str]] = []
    block: list[np.ndarray] = []
    for col in cols:
        values = col.values
        if isinstance(values, np.ndarray) and values.dtype == np.float64 and \
                (col.is_int is None or not col.is_int[start:stop].any()):
            block.append(values[start:stop])
            continue
        if block:
            out.append(float_rows(block))
            block = []
        out.append(column_text(col, start, stop))
    if block:
        out.append(float_rows(block))
    return out


_OTHER = 1.7976931348623157e308  # stands in for the cells repr writes otherwise than orjson
_OTHER_TEXT = repr(_OTHER)


def float_rows(columns: list[np.ndarray]) -> list[str]:
    """Each row's cells of float64 ``columns`` (NaN for null), comma-joined, as
    :func:`column_text` writes each cell: all of them formatted by one orjson call on the
    block as a matrix. orjson writes repr's digits, and its text, for zero and from 1e-4
    up to 1e16; every other cell is written by repr and put in its place (each stands in
    the matrix as one value whose text nothing else in it can contain)."""
    rows = len(columns[0])
    if rows == 0:
        return []
    matrix = np.column_stack(columns) if len(columns) > 1 else columns[0].reshape(-1, 1)
    with np.errstate(invalid="ignore"):
        size = np.abs(matrix)
        other = (size < 1e-4) & (matrix != 0) | (size >= 1e16)
    others = matrix[other].tolist() if other.any() else []
    if others:
        matrix = np.where(other, _OTHER, matrix)
    text = orjson.dumps(np.ascontiguousarray(matrix), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    if others:
        pieces = text.split(_OTHER_TEXT)
        joined: list[str] = [""] * (2 * len(pieces) - 1)
        joined[::2] = pieces
        joined[1::2] = map(repr, others)
        text = "".join(joined)
    text = text[2:-2]
    if np.isnan(matrix).any():
        text = text.replace("null", "")
    return text.split("],[")


def column_text(col: Any, start: int, stop: int) -> list[str]:
    """The cells of runs ``start:stop`` of a column (:class:`~flask_qed.columns.Column`)."""
    if isinstance(col.values, list):
        values = col.values[start:stop]
        # text, blanks and floats (a choice of word or number: "calculated" or 0.5) as
        # _text writes them, in one pass; only when some cell needs quoting, cell by cell
        cells = [v if (t := type(v)) is str else "" if v is None else repr(v) if t is float else _text(v)
                 for v in values]
        if _NEEDS_QUOTES.search("\x00".join(cells)) is None:
            return cells
        return [_text(v) for v in values]
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


# -- other results with a table form (HMS and the like) ---------------------------------
INDEX = "dates"  # a list of this name indexes the rows of the series beside it
LABELS = "segments"  # a list of this name labels the positions of a series of rows


def other_csv(packed: bytes) -> Iterator[str] | None:
    """The CSV of stored results that are not in column form (those are read by
    :func:`packed_table`): :func:`data_table`'s shapes, or None."""
    from .jsonutil import unpacked_pieces
    found = data_table(orjson.loads(b"".join(unpacked_pieces(packed))))
    if found is None:
        return None
    return _written(*found)


def data_table(data: Any) -> tuple[list[str], list[list[Any]]] | None:
    """(header, rows) of results in one of these shapes, else None:

    * a split table, ``{"columns": [...], "data": [[row], ...]}``: the columns, then the rows;
    * a series, members that are lists of one length (``dates``' when given, which
      then heads each row): one column per list of values, one per position of a list of
      equal-length rows (``flow segment 1`` when ``segments`` labels the positions, else
      ``flow[0]``); members of another length or kind are left out;
    * records per feature, ``{member: {key: {"points": [{...}, ...]}}}``: one row per
      record, its key first (``feature`` for a ``geometry`` member), then the record's fields.
    """
    if not isinstance(data, dict):
        return None
    return _split(data) or _series(data) or _records(data)


def _scalar(value: Any) -> bool:
    return not isinstance(value, (list, dict))


def _split(data: dict[str, Any]) -> tuple[list[str], list[list[Any]]] | None:
    columns, rows = data.get("columns"), data.get("data")
    if not (isinstance(columns, list) and columns and isinstance(rows, list)
            and all(_scalar(c) for c in columns)):
        return None
    if not all(isinstance(r, list) and len(r) == len(columns) and all(_scalar(c) for c in r) for r in rows):
        return None
    return [str(c) for c in columns], rows


def _width(values: list[Any]) -> int | None:
    """0 for a list of values, the row length for a list of equal-length rows of values."""
    if all(_scalar(v) for v in values):
        return 0
    first = values[0]
    if isinstance(first, list) and first and all(
            isinstance(v, list) and len(v) == len(first) and all(_scalar(c) for c in v) for v in values):
        return len(first)
    return None


def _series(data: dict[str, Any]) -> tuple[list[str], list[list[Any]]] | None:
    index = data.get(INDEX)
    dated = isinstance(index, list) and bool(index) and all(_scalar(v) for v in index)
    labels = data.get(LABELS)
    labels = labels if isinstance(labels, list) and all(_scalar(v) for v in labels) else None
    lists = [(k, v) for k, v in data.items()
             if k not in (INDEX, LABELS) and isinstance(v, list) and v and _width(v) is not None]
    if not lists:
        return None
    n = len(index) if dated else len(lists[0][1])
    header: list[str] = []
    columns: list[list[Any]] = []
    for name, values in lists:
        if len(values) != n:
            continue
        width = _width(values)
        if not width:
            header.append(name)
            columns.append(values)
            continue
        named = labels is not None and len(labels) == width
        header += [f"{name} segment {labels[j]}" if named else f"{name}[{j}]" for j in range(width)]
        columns += [[row[j] for row in values] for j in range(width)]
    if not columns:
        return None
    keys = index if dated else list(range(n))
    return [INDEX if dated else "index", *header], [[keys[i], *(c[i] for c in columns)] for i in range(n)]


def _records(data: dict[str, Any]) -> tuple[list[str], list[list[Any]]] | None:
    for member, groups in data.items():
        if not (isinstance(groups, dict) and groups and all(isinstance(g, dict) for g in groups.values())):
            continue
        found = [(key, _record_list(group)) for key, group in groups.items()]
        if any(records is None for _, records in found):
            continue
        fields: dict[str, None] = {}
        for _, records in found:
            for record in records or []:
                fields.update(dict.fromkeys(record))
        rows = [[key, *(record.get(f) for f in fields)] for key, records in found for record in records or []]
        return ["feature" if member == "geometry" else member, *fields], rows
    return None


def _record_list(group: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The one list of flat records a group holds, or None."""
    lists = [v for v in group.values() if isinstance(v, list)]
    if len(lists) != 1 or not all(isinstance(r, dict) and all(_scalar(c) for c in r.values()) for r in lists[0]):
        return None
    return lists[0]


def _written(header: list[str], rows: list[list[Any]]) -> Iterator[str]:
    buffer, writer, flush = _csv_lines()
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        if buffer.tell() > 65536:
            yield flush()
    yield flush()
