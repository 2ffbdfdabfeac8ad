"""A batch's results kept as columns, from which both its CSV and its JSON are written.

The worker keeps a batch of :data:`~flask_qed.batch.TABLE_MIN_RUNS` runs or more as this
table alone (the job's ``table``; its ``data`` is the mark
:data:`~flask_qed.tablejson.IN_TABLE`): each float64 column as its array's bytes, every
other column as the JSON list of its values, each compressed on its own as it grows, then
the ``exceeds`` member's JSON text and the runs' errors. A request for the results as CSV
reads the table (:func:`read_table`) into the same cells that parsing the JSON would give,
so the CSV is the same text, byte for byte, without any JSON; a request for the JSON gets
the text the worker used to write, made from the table by the store that reads it
(:func:`flask_qed.tablejson.json_of`). Writing that JSON was more than half of the run of
a 10,000-run kabam batch whose results were asked for as CSV.

Layout: ``qed-table-2\\n``, the length of the head (4 bytes, big-endian), the head
(compressed JSON: the run keys and, per column, its section, name, kind ``f8``, ``i8`` or
``json`` and compressed size; ``errors`` and ``exceeds_json`` when the result has them),
then the columns' compressed bytes in order: an ``f8`` column its float64 values
(little-endian), an ``i8`` column its int64 values (an integer input's), a ``json`` column one JSON list a line (the values of one chunk of the
worker's runs); last, the ``exceeds`` member's text, raw deflate. A column is read a chunk
of runs at a time (:class:`StreamedTable`), so writing the CSV holds one chunk of every
column, never the whole table.
"""
from __future__ import annotations

import math
import zlib
from typing import Any, Iterator

import numpy as np

from .jsonutil import LEVEL, SMALL_MEMLEVEL, Packed, Piece, compress, compressobj, dumps, loads
from .tablejson import IN_TABLE, MAGIC, head_of, json_in_table, json_of

__all__ = ["IN_TABLE", "MAGIC", "TableWriter", "json_in_table", "json_of", "read_table"]

INPUT_PIECE = 4096  # compressed bytes fed to a column's decompressor at once


class _ColumnBytes:
    """One column's values, compressed as they are added (a small window: a batch has
    a hundred columns or more at once)."""

    def __init__(self, kind: str) -> None:
        self.kind, self.runs = kind, 0
        self._z = compressobj(LEVEL, zlib.DEFLATED, 12, SMALL_MEMLEVEL)
        self._parts: list[bytes] = []

    def add(self, text: bytes, runs: int) -> None:
        if self.kind == "json":  # a JSON list of the chunk's values, a line (JSON text holds no raw newline)
            text += b"\n"
        out = self._z.compress(text)
        if out:
            self._parts.append(out)
        self.runs += runs

    def close(self) -> bytes:
        self._parts.append(self._z.flush())
        return b"".join(self._parts)

    def as_json(self) -> "_ColumnBytes":
        """This float64 or int64 column, so far, as a JSON column (a later chunk was not
        of its kind)."""
        values = np.frombuffer(zlib.decompress(self.close()), dtype="<" + self.kind)
        out = _ColumnBytes("json")
        if len(values):
            out.add(dumps(values.tolist()), self.runs)  # NaN: null, as in the JSON
        return out


def _as_float64(col: Any, numeric: bool) -> np.ndarray | None:
    """A chunk's values as float64 (None as NaN) when they are floats and nulls (a short
    chunk's, or a value given once for every run), else None."""
    if numeric or not isinstance(col, list):
        return None
    if not set(map(type, col)) <= {float, type(None)}:
        return None
    return np.array([math.nan if v is None else v for v in col], dtype=np.float64)


class TableWriter:
    """Columns of a batch result, a chunk of runs at a time (see the module's docstring).

    Gives up (``close()`` returns None) when the columns do not line up, run for run,
    with the keys: the CSV is then written from the JSON, as for results stored without
    a table."""

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._columns: dict[tuple[str, str], _ColumnBytes] = {}

    def keys(self, keys: list[str]) -> None:
        self._keys.extend(keys)

    def add(self, section: str, name: str, col: Any, runs: int, numeric: bool) -> None:
        """``col``: ``runs`` values; ``numeric`` when it is one float64, integer or boolean
        value per run in a numpy array (else: JSON-safe Python values)."""
        float64 = numeric and col.dtype == np.float64
        int64 = numeric and col.dtype == np.int64  # an integer input, given back as given
        found = self._columns.get((section, name))
        if found is None:
            found = self._columns[(section, name)] = _ColumnBytes("f8" if float64 else "i8" if int64 else "json")
        if found.kind == "f8" and not float64:  # another type in this chunk
            as_floats = _as_float64(col, numeric)
            if as_floats is not None:
                col, numeric, float64 = as_floats, True, True
            else:  # the column is JSON from here on, the runs before included
                found = self._columns[(section, name)] = found.as_json()
        elif found.kind == "i8" and not int64:
            found = self._columns[(section, name)] = found.as_json()
        if found.kind == "f8":
            found.add(np.ascontiguousarray(col, dtype="<f8").tobytes(), runs)
        elif found.kind == "i8":
            found.add(np.ascontiguousarray(col, dtype="<i8").tobytes(), runs)
        else:
            found.add(dumps(col) if not numeric else dumps(np.ascontiguousarray(col)), runs)

    def close(self, kept: dict[str, list[str]], errors: Any = None, exceeds: Piece | None = None) -> Packed | None:
        """The table of the columns ``kept`` (section -> names, in order), or None when a
        column does not hold every run. With the runs' ``errors`` and the ``exceeds``
        member's JSON text, it holds everything the result's JSON holds (:func:`json_of`)."""
        total = len(self._keys)
        heads, bodies = [], []
        for section in ("inputs", "outputs", "exceeds"):
            for name in kept.get(section, []):
                col = self._columns.get((section, name))
                if col is None or col.runs != total:
                    return None
                body = col.close()
                heads.append({"section": section, "name": name, "kind": col.kind, "size": len(body)})
                bodies.append(body)
        about: dict[str, Any] = {"keys": self._keys, "columns": heads}
        if errors:
            about["errors"] = errors
        if exceeds is not None:  # after the columns: raw deflate, joined into the JSON as it is
            about["exceeds_json"] = {"size": len(exceeds), "adler": exceeds.adler, "length": exceeds.size}
            bodies.append(exceeds)
        head = compress(dumps(about), LEVEL)
        return Packed(b"".join([MAGIC, len(head).to_bytes(4, "big"), head, *bodies]))


def read_table(blob: bytes) -> "StreamedTable | None":
    """The table held in ``blob`` (a :class:`StreamedTable`), or None when it is not one."""
    if not blob.startswith(MAGIC):
        return None
    head, at = head_of(blob)
    table = StreamedTable(head["keys"])
    table.skipped = head.get("errors") or {}
    view = memoryview(blob)
    for spec in head["columns"]:
        table.columns.append((spec["name"], _ColumnReader(spec["kind"], view[at:at + spec["size"]])))
        at += spec["size"]
    return table


class StreamedTable:
    """A batch's columns read a chunk of runs at a time as its CSV is written: memory holds
    one chunk of every column, not the whole table (100,000 kabam runs are 280 MB of
    float64 alone)."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.columns: list[tuple[str, _ColumnReader]] = []
        self.skipped: dict[str, Any] = {}  # the runs skipped as invalid, with their errors (the head's)

    def rows(self) -> Iterator[str]:
        """The CSV text (:func:`flask_qed.results.rows_of`), as the JSON's would be."""
        from .results import columns_text, rows_of

        def cells(start: int, stop: int) -> list[list[str]]:
            return columns_text([reader.take(stop - start) for _, reader in self.columns], 0, stop - start)
        return rows_of([name for name, _ in self.columns], self.keys, cells)


class _ColumnReader:
    """One column's compressed values, handed out in order a few runs at a time."""

    def __init__(self, kind: str, data: memoryview) -> None:
        self.kind, self._z, self._data, self._at = kind, zlib.decompressobj(), data, 0
        self._done = False
        self._text = b""  # decompressed, not yet handed out
        self._values: list[Any] = []  # a JSON column's parsed values not yet handed out

    def _more(self, size: int) -> bool:
        """Decompress up to ``size`` more bytes into ``_text``; False at the end. The input
        goes in small pieces, so that what zlib keeps of it between calls stays small."""
        while True:
            if self._z.unconsumed_tail:
                out = self._z.decompress(self._z.unconsumed_tail, size)
            elif self._at < len(self._data):
                piece = self._data[self._at:self._at + INPUT_PIECE]
                self._at += len(piece)
                out = self._z.decompress(piece, size)
            elif self._z.eof or self._done:
                return False
            else:
                out, self._done = self._z.flush(), True
            if out:
                self._text += out
                return True

    def take(self, n: int) -> Any:
        """The next ``n`` values, as a column (:class:`~flask_qed.columns.Column`)."""
        from .columns import Column

        if self.kind in ("f8", "i8"):
            while len(self._text) < 8 * n and self._more(8 * n - len(self._text)):
                pass
            raw, self._text = self._text[:8 * n], self._text[8 * n:]
            if self.kind == "i8":  # integers, each written as it is
                col = Column.__new__(Column)
                col.values, col.is_int, col.is_null = np.frombuffer(raw, dtype="<i8"), None, None
                return col
            return _float_column(np.frombuffer(raw, dtype="<f8"))
        while len(self._values) < n:  # one JSON list a line: a chunk of the worker's runs each
            end = self._text.find(b"\n")
            if end < 0:
                if not self._more(1 << 20):
                    raise ValueError("a results table ends early")
                continue
            self._values.extend(loads(self._text[:end]))
            self._text = self._text[end + 1:]
        values, self._values = self._values[:n], self._values[n:]
        col = Column.__new__(Column)  # as the values are: the CSV writes a list's cells as they come
        col.values, col.is_int, col.is_null = values, None, None
        return col


def _float_column(values: np.ndarray) -> Any:
    """A float64 column as parsing its JSON would give it: NaN and infinities were
    written as null."""
    from .columns import Column

    col = Column.__new__(Column)
    col.is_int = None
    finite = np.isfinite(values)
    if finite.all():
        col.values, col.is_null = values, None
    elif not finite.any():  # all null: JSON gives a list of None
        col.values, col.is_null = [None] * len(values), None
    else:
        col.values, col.is_null = np.where(finite, values, np.nan), ~finite
    return col
