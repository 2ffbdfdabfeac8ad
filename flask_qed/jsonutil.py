"""JSON out: fast (orjson), NaN and Infinity written as null, numpy values welcome."""
from __future__ import annotations

import json
from typing import Any

import orjson

from .codec import json_safe

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        # orjson refuses integers beyond 64 bits; the standard library does not.
        return json.dumps(json_safe(value), separators=(",", ":"), allow_nan=False,
                          default=str).encode()


loads = orjson.loads


# -- bounded memory: JSON written and read a piece at a time -------------------------------
import re as _re  # noqa: E402
import zlib as _zlib  # noqa: E402
from typing import Callable, Iterable, Iterator  # noqa: E402


class Packed(bytes):
    """JSON text already compressed the way the stores pack a value (one zlib stream):
    a store writes it as it is, so a large value is never held as Python objects."""


class PackedWriter:
    """Writes JSON text piece by piece into one zlib stream; ``close()`` gives the
    :class:`Packed` value. Only the compressed bytes are kept."""

    def __init__(self, small: bool = False) -> None:
        # small: a fragment kept by the thousand (a 4 KiB window and little state each)
        self._z = _zlib.compressobj(1, _zlib.DEFLATED, 12, 2) if small else _zlib.compressobj(1)
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

    def __init__(self) -> None:
        self._z = _zlib.compressobj(1, _zlib.DEFLATED, -12, 2)  # raw deflate, a 4 KiB window
        self._parts: list[bytes] = []
        self._adler, self._size = 1, 0

    def write(self, text: bytes) -> None:
        self._adler = _zlib.adler32(text, self._adler)
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
        z = _zlib.compressobj(1, _zlib.DEFLATED, -15)
        self._parts.append(z.compress(text) + z.flush(_zlib.Z_SYNC_FLUSH))
        self._adler = _zlib.adler32(text, self._adler)
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


# -- reading a large request body one value at a time -----------------------------------------
_WS = _re.compile(r"[ \t\n\r]*")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


_MORE = object()  # the text ends before the value does


def _container_at(text: str, pos: int, tries: int = 4) -> Any:
    """The object or array at ``text[pos]``, parsed by orjson (several times faster than
    the standard library for a column of many numbers), and the position after it.

    Its end is the first closing bracket at which the text from ``pos`` is valid JSON (a
    bracket at which it is not is inside a string or a nested value). Returns ``_MORE``
    when the text ends first, and None when the standard library must parse it, as
    before: after ``tries`` brackets, when orjson refuses the value (a number past a
    float's range, a lone surrogate), or when it holds a run of 19 or more digits (orjson
    would read an integer past 64 bits as an inexact float, not as Python's exact int)."""
    close = "}" if text[pos] == "{" else "]"
    end = pos
    for _ in range(tries):
        end = text.find(close, end + 1)
        if end < 0:
            return _MORE
        part = text[pos:end + 1]
        try:
            value = orjson.loads(part)
        except orjson.JSONDecodeError as exc:
            if exc.pos < len(part):  # refused inside, not cut short: not a matter of where it ends
                return None
            continue
        return (value, end + 1) if _LONG_DIGITS.search(part) is None else None
    return None


_LONG_DIGITS = _re.compile(r"[0-9]{19}")


def _value_at(text: str, pos: int) -> tuple[Any, int]:
    """The JSON value at ``text[pos]`` and the position after it (ValueError if invalid)."""
    if text[pos:pos + 1] in ("{", "["):
        found = _container_at(text, pos)
        if found is not None and found is not _MORE:
            return found
    return _DECODER.raw_decode(text, pos)


class Lazy:
    """A JSON object or array of a text, not parsed yet: iterate it to parse one member at a time."""

    def __init__(self, text: str, start: int):
        self.text, self.start = text, start
        self.is_object = text[start] == "{"
        self.end: int | None = None  # after the closing bracket, once iterated

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(key, value) of an object, (index, value) of an array; values parsed whole."""
        text, pos = self.text, self.start + 1
        close = "}" if self.is_object else "]"
        pos = _WS.match(text, pos).end()
        if text[pos:pos + 1] == close:
            self.end = pos + 1
            return
        index = 0
        while True:
            if self.is_object:
                key, pos = _member_name(text, pos)
            else:
                key, index = index, index + 1
            value, pos = _value_at(text, pos)
            yield key, value
            pos = _WS.match(text, pos).end()
            sep = text[pos:pos + 1]
            if sep == close:
                self.end = pos + 1
                return
            if sep != ",":
                raise ValueError(f"expected ',' or {close!r} at {pos}")
            pos = _WS.match(text, pos + 1).end()


def _member_name(text: str, pos: int) -> tuple[str, int]:
    """An object member's name at ``pos`` and the position of its value (after the ':')."""
    if text[pos:pos + 1] != '"':
        raise ValueError(f"expected a property name at {pos}")
    key, pos = _DECODER.raw_decode(text, pos)
    pos = _WS.match(text, pos).end()
    if text[pos:pos + 1] != ":":
        raise ValueError(f"expected ':' at {pos}")
    return key, _WS.match(text, pos + 1).end()


def loads_lazy(text: str, on_inputs: Callable[[Lazy], Any]) -> Any:
    """Parse a JSON body in one pass; its ``inputs`` member, when an object or an array,
    is handed to ``on_inputs`` as :class:`Lazy` (parsed a member at a time) and replaced
    by what that returns. Raises ValueError on invalid JSON."""
    pos = _WS.match(text, 0).end()
    if text[pos:pos + 1] != "{":
        value, end = _DECODER.raw_decode(text, pos)
        if _WS.match(text, end).end() != len(text):
            raise ValueError("extra data after the JSON value")
        return value
    body: dict[str, Any] = {}
    pos = _WS.match(text, pos + 1).end()
    if text[pos:pos + 1] == "}":
        pos += 1
    else:
        while True:
            key, pos = _member_name(text, pos)
            if key == "inputs" and text[pos:pos + 1] in ("{", "["):
                lazy = Lazy(text, pos)
                body[key] = on_inputs(lazy)
                if lazy.end is None:
                    for _ in lazy.items():
                        pass
                pos = lazy.end
            else:
                body[key], pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            sep = text[pos:pos + 1]
            pos += 1
            if sep == "}":
                break
            if sep != ",":
                raise ValueError(f"expected ',' or '}}' at {pos - 1}")
            pos = _WS.match(text, pos).end()
    if _WS.match(text, pos).end() != len(text):
        raise ValueError("extra data after the JSON value")
    return body


_NOT_FOUND = object()


class TextStream:
    """JSON text arriving in pieces (bytes), parsed a value at a time: only the value
    being parsed (and one piece) is held, never the whole text."""

    def __init__(self, pieces: Iterable[bytes]):
        import codecs
        self._pieces, self._utf8 = iter(pieces), codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.eof = "", 0, False

    def _more(self) -> bool:
        if self.eof:
            return False
        if self.pos > 1 << 20:  # drop what is parsed
            self.buf, self.pos = self.buf[self.pos:], 0
        piece = next(self._pieces, None)
        if piece is None:
            self.eof = True
            self.buf += self._utf8.decode(b"", final=True)
            return True
        self.buf += self._utf8.decode(piece)
        return True

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.pos}")
        self.pos += 1

    def value(self) -> Any:
        if self.peek() in ("{", "["):
            found = self._container()
            if found is not _NOT_FOUND:
                return found
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
                if end < len(self.buf) or self.eof:  # a number at the end may go on
                    self.pos = end
                    return value
            except ValueError:
                if self.eof:
                    raise
            self._more()

    def _container(self) -> Any:
        """The object or array at the current position, by :func:`_container_at`, reading
        more pieces while the text ends first; ``_NOT_FOUND`` when the caller should parse it."""
        while True:
            found = _container_at(self.buf, self.pos)
            if found is _MORE and self._more():
                continue
            if found is None or found is _MORE:
                return _NOT_FOUND
            value, self.pos = found
            return value

    def items(self) -> Iterator[tuple[str, Any]]:
        """(key, value) of the object at the current position, each value parsed whole."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise ValueError(f"expected a property name at {self.pos}")
            self.expect(":")
            yield key, self.value()
            sep = self.peek()
            self.pos += 1
            if sep == "}":
                return
            if sep != ",":
                raise ValueError(f"expected ',' or '}}' at {self.pos - 1}")
