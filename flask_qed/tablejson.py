"""The JSON of a batch result kept as its table alone (:mod:`flask_qed.tablepack`): what
the stores give when such a result is read, written from the table.

Below the stores (which call :func:`json_of` when the data they hold is the mark
:data:`IN_TABLE`), so it needs nothing of the table's CSV side."""
from __future__ import annotations

import time
import zlib
from typing import Any

import numpy as np

from .codec import members_text
from .jsonutil import Packed, PackedJoin, Piece, PieceWriter, dumps, loads

MAGIC = b"qed-table-2\n"  # a table's first bytes
IN_TABLE = b"qed-json-in-table-1"  # a job's stored data when its JSON is written from its table


def head_of(blob: bytes) -> tuple[dict[str, Any], int]:
    """A table's head (run keys, columns, extras) and where its columns start."""
    at = len(MAGIC)
    size = int.from_bytes(blob[at:at + 4], "big")
    return loads(zlib.decompress(blob[at + 4:at + 4 + size])), at + 4 + size


def json_in_table(data: bytes | memoryview | None) -> bool:
    """Whether stored data is the mark of a result kept as its table alone."""
    return data is not None and bytes(data[:len(IN_TABLE)]) == IN_TABLE


def json_of(blob: bytes) -> Packed:
    """The result's JSON, packed as the stores pack a value, written from its table: the
    same text the worker would have written beside it (ubertool's column form: ``inputs``
    and ``outputs`` as ``{field: {run: value}}``, then ``exceeds`` and ``errors`` when the
    result has them). A column at a time, each compressed on its own and joined."""
    if not blob.startswith(MAGIC):
        raise ValueError("a result kept as its table has no table")
    head, at = head_of(blob)
    keys: list[str] = head["keys"]
    view = memoryview(blob)
    sections: dict[str, list[tuple[dict[str, Any], memoryview]]] = {"inputs": [], "outputs": []}
    for spec in head["columns"]:
        if spec["section"] in sections:
            sections[spec["section"]].append((spec, view[at:at + spec["size"]]))
        at += spec["size"]
    names = [(b"," if i else b"") + dumps(key) + b":" for i, key in enumerate(keys)]
    out, glue = PackedJoin(), [b"{"]
    for s, section in enumerate(("inputs", "outputs")):
        glue.append((b"," if s else b"") + dumps(section) + b":{")
        for i, (spec, data) in enumerate(sections[section]):
            glue.append((b"," if i else b"") + dumps(spec["name"]) + b":{")
            out.text(b"".join(glue))
            glue = []
            writer = PieceWriter()
            if spec["kind"] in ("f8", "i8"):
                writer.write(members_text(np.frombuffer(zlib.decompress(data), dtype="<" + spec["kind"]), names))
            else:
                values = [v for line in zlib.decompress(data).splitlines() for v in loads(line)]
                writer.write(dumps(dict(zip(keys, values)))[1:-1])
            out.piece(writer.close())
            glue.append(b"}")
            time.sleep(0)  # a column at a time, the gateway's other requests go on (gevent: a yield)
        glue.append(b"}")
    flagged = head.get("exceeds_json")
    if flagged is not None:
        glue.append(b',"exceeds":{')
        out.text(b"".join(glue))
        glue = []
        piece = Piece(view[at:at + flagged["size"]])
        piece.adler, piece.size = flagged["adler"], flagged["length"]
        out.piece(piece)
        glue.append(b"}")
    if head.get("errors"):
        glue.append(b',"errors":' + dumps(head["errors"]))
    glue.append(b"}")
    out.text(b"".join(glue))
    return out.close()
