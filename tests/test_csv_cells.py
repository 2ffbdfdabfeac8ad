"""A CSV column's cells read as numbers: the one-call path gives what reading each cell
does (``int`` for up to 15 digits, else ``float``; a column with any cell that is not a
finite number stays text), whatever the spelling."""
from __future__ import annotations

import csv
import io
import math
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from flask_qed.columns import columns_from_csv

INTEGER = re.compile(r"^[+-]?[0-9]{1,15}$")


def one_by_one(cells: list[str]) -> list:
    """The rule, cell by cell, written out independently of the code under test."""
    out = []
    for cell in cells:
        text = cell.strip()
        if not text:
            out.append("")
        elif INTEGER.match(text):
            out.append(int(text))
        else:
            try:
                value = float(text)
            except ValueError:
                return list(cells)
            if not math.isfinite(value):
                return list(cells)
            out.append(value)
    return out


def column_of(cells: list[str]) -> list:
    """The cells as one column of a CSV body (beside a column that keeps no line blank)."""
    out = io.StringIO()
    csv.writer(out).writerows([["k", "x"], *(["1", c] for c in cells)])
    found = dict(columns_from_csv(out.getvalue()).columns)
    return found["x"].slice(0, len(cells))


SPELLINGS = st.one_of(
    st.integers(-10 ** 20, 10 ** 20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.6e}"),
    st.sampled_from(["007", "+1", ".5", "1.", "-0", "-0.0", "1E5", "nan", "inf", "1e400", " 2 ", "0x10",
                     "1_000", "true", "[1]", '"3"', "１２"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(SPELLINGS, min_size=1, max_size=12))
def test_a_csv_column_reads_as_each_cell_would(cells: list[str]) -> None:
    got, want = column_of(cells), one_by_one(cells)
    assert [type(v) for v in got] == [type(v) for v in want] and got == want, (cells, got, want)


def test_plain_numbers_and_a_blank() -> None:
    assert column_of(["1", "2.5", "-3e2"]) == [1, 2.5, -300.0]
    assert column_of(["1", " ", "2"]) == [1, "", 2]
    assert column_of(["1234567890123456", "1"]) == [1234567890123456.0, 1]
