"""JSON text: written fast (orjson; NaN and Infinity as null, numpy values welcome), and
written and read a piece at a time so that memory stays bounded: a value compressed as
it is written (:class:`PackedWriter`), pieces compressed apart and joined into one zlib
stream without decompressing them (:class:`PieceWriter`, :class:`PackedJoin`), a packed
value's text read back a piece or a line at a time (:func:`unpacked_pieces`,
:func:`unpacked_lines`).

Parsing a large text a value at a time is :mod:`flask_qed.streamjson`'s (its
:func:`~flask_qed.streamjson.loads_lazy`, :class:`~flask_qed.streamjson.Lazy` and
:class:`~flask_qed.streamjson.TextStream` are also importable from here)."""
from __future__ import annotations

import json
import zlib as _zlib
from typing import Any, Iterator

import orjson
from zlib_ng import zlib_ng as _deflate  # zlib's format, written faster; read by zlib itself

from .codec import json_safe
from .streamjson import Lazy, TextStream, loads_lazy

compress, compressobj = _deflate.compress, _deflate.compressobj  # what writes a packed value
# zlib-ng's level 2: smaller than zlib's level 1 on results' JSON, in about three quarters
# of the time (its level 1 takes two fifths, but writes half as much again).
LEVEL = 2

__all__ = ["dumps", "dumps_whole", "loads", "Packed", "PackedWriter", "Piece", "PieceWriter", "PackedJoin",
           "adler32_combine", "unpacked_pieces", "unpacked_lines", "Lazy", "TextStream", "loads_lazy"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps_whole(value: Any) -> bytes | None:
    """``value`` as JSON text where orjson writes all of it; None where it cannot (an
    integer past 64 bits), for a caller that would rather write it a part at a time."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return None


def dumps(value: Any) -> bytes:
    text = dumps_whole(value)
    if text is not None:
        return text
    # orjson refuses integers beyond 64 bits; the standard library does not.
    return json.dumps(json_safe(value), separators=(",", ":"), allow_nan=False, default=str).encode()


loads = orjson.loads


# -- bounded memory: JSON written and read a piece at a time -------------------------------


# The hash table of a compressor kept by the hundred (a batch's fields): 8 KiB at level 4,
# a third faster than at 2 (2 KiB) on results' JSON, and as small a stream.
SMALL_MEMLEVEL = 4


class Packed(bytes):
    """JSON text already compressed the way the stores pack a value (one zlib stream):
    a store writes it as it is, so a large value is never held as Python objects.
    A batch's result carries its columns for CSV as ``table`` (:mod:`flask_qed.tablepack`)."""

    table: "Packed | None" = None


class PackedWriter:
    """Writes JSON text piece by piece into one zlib stream; ``close()`` gives the
    :class:`Packed` value. Only the compressed bytes are kept."""

    def __init__(self, small: bool = False) -> None:
        # small: a fragment kept by the thousand (a 4 KiB window and little state each)
        self._z = compressobj(LEVEL, _zlib.DEFLATED, 12, SMALL_MEMLEVEL) if small else compressobj(LEVEL)
        self._parts: list[bytes] = []

    def write(self, text: bytes) -> None:
        out = self._z.compress(text)
        if out:
            self._parts.append(out)

    def close(self) -> Packed:
        self._parts.append(self._z.flush())
        packed = Packed(b"".join(self._parts))
        self._parts = []
        return packed


class Piece(bytes):
    """Raw deflate data ending on a byte boundary (a sync flush), with the Adler-32 and the
    length of the text it holds: one part of a :class:`PackedJoin`."""

    adler: int
    size: int


class PieceWriter:
    """Like :class:`PackedWriter`, but ``close()`` gives a :class:`Piece`, which
    :class:`PackedJoin` puts into a larger value without decompressing it."""

    def __init__(self, level: int = LEVEL, window: int = 12, memlevel: int = SMALL_MEMLEVEL) -> None:
        # Raw deflate; by default a 4 KiB window and a small hash table, for a writer kept by
        # the hundred (a batch's fields); a writer alone can afford more.
        self._z = compressobj(level, _zlib.DEFLATED, -window, memlevel)
        self._parts: list[bytes] = []
        self._adler, self._size = 1, 0

    def write(self, text: bytes) -> None:
        self._adler = _deflate.adler32(text, self._adler)
        self._size += len(text)
        out = self._z.compress(text)
        if out:
            self._parts.append(out)

    def close(self) -> Piece:
        self._parts.append(self._z.flush(_zlib.Z_SYNC_FLUSH))
        piece = Piece(b"".join(self._parts))
        piece.adler, piece.size = self._adler, self._size
        self._parts = []
        return piece


def adler32_combine(adler1: int, adler2: int, size2: int) -> int:
    """The Adler-32 of two texts one after the other, from theirs and the second's length.

    With adler = B << 16 | A, where A = 1 + the sum of the bytes and B = the sum of A
    after each byte (both mod 65521): appending Y (length n) to X gives
    A = A_x + A_y - 1 and B = B_x + B_y + n (A_x - 1)."""
    base = 65521
    a1, b1 = adler1 & 0xFFFF, adler1 >> 16
    a2, b2 = adler2 & 0xFFFF, adler2 >> 16
    return ((b1 + b2 + size2 * (a1 - 1)) % base) << 16 | (a1 + a2 - 1) % base


class PackedJoin:
    """Builds one packed value (a zlib stream, as :class:`PackedWriter` makes) out of text
    and :class:`Piece` parts, in order, without decompressing the pieces.

    Deflate data flushed to a byte boundary can be followed by more deflate data; a
    piece compressed on its own refers to nothing before it, so pieces concatenate.
    The stream is closed with an empty final block and the Adler-32 of the whole text,
    combined from the parts' own."""

    def __init__(self) -> None:
        self._parts: list[bytes] = [b"\x78\x01"]  # zlib header: deflate, 32 KiB window
        self._adler, self._size = 1, 0

    def text(self, text: bytes) -> None:
        z = compressobj(LEVEL, _zlib.DEFLATED, -15)
        self._parts.append(z.compress(text) + z.flush(_zlib.Z_SYNC_FLUSH))
        self._adler = _deflate.adler32(text, self._adler)
        self._size += len(text)

    def piece(self, piece: Piece) -> None:
        self._parts.append(piece)
        self._adler = adler32_combine(self._adler, piece.adler, piece.size)
        self._size += piece.size

    def close(self) -> Packed:
        self._parts.append(b"\x03\x00")  # an empty final block (fixed codes), byte-aligned
        self._parts.append(self._adler.to_bytes(4, "big"))
        packed = Packed(b"".join(self._parts))
        self._parts = []
        return packed


def unpacked_pieces(blob: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """The JSON text of a packed (zlib) value, a piece of at most ``size`` bytes at a time."""
    z = _zlib.decompressobj()
    for start in range(0, len(blob), 1 << 18):
        data = blob[start:start + (1 << 18)]
        while data:
            out = z.decompress(data, size)
            if out:
                yield out
            data = z.unconsumed_tail
    out = z.flush()
    if out:
        yield out


def unpacked_lines(blob: bytes) -> Iterator[bytes]:
    """The lines of a packed value's JSON text (without their newline)."""
    rest = b""
    for piece in unpacked_pieces(blob):
        lines = (rest + piece).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest
