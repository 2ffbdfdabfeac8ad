"""JSON read a piece at a time: a request body's ``inputs`` a column at a time
(:func:`loads_lazy`, :class:`Lazy`), a stored result a field at a time from its
decompressed pieces (:class:`TextStream`), so that a batch of 100,000 runs is never held
as millions of Python objects.

It stands in for an incremental JSON library: what ``ijson.kvitems(body, "inputs")``
would give, every value the same as ``json.loads`` (or ``orjson.loads``) of the whole
text gives it. Each value is parsed whole by orjson where orjson reads it as the standard
library does, else by ``json.JSONDecoder.raw_decode``; this module only walks the
brackets, commas and colons between values. Where an object or array ends is found by
letting orjson parse up to each closing bracket in turn (:func:`_container_at`): a text
that parses whole ends at the right bracket, whatever orjson's error positions say, so
an orjson upgrade can make it slower, never wrong. ``tests/test_streamjson.py`` pins it
to ``json.loads`` of the whole text (brackets and escapes in strings, nesting, integers
past 64 bits, numbers past a float's range, unicode, JSON made by hypothesis).

Why not ijson (3.6.0, its C backend yajl2_c)? Measured on 2 shared cores, kabam 10,000
runs, CPU time of one process, each way in turn, median of 7:

- the stored result read for CSV (``results.packed_table``, 70 MB of JSON): 2.08 s
  here, 2.64 s with ``ijson.kvitems`` (x1.27; it takes one prefix, so ``inputs`` and
  ``outputs`` cost a pass each over the decompressed text), about +20 % on the whole of
  ``python benchmarks/bench_csv.py --repeat 5`` (read 2.0-2.6 s, then 0.7 s to write the
  rows; its wall times on the shared cores varied by +-25 % from run to run);
- the 18 MB request body (``loads_lazy`` + ``Columns.from_lazy``): 0.61 s here, 1.10 s
  with ijson (x1.81: ``kvitems`` for the columns, then a pass over ``ijson.parse``
  events for the body's other members), about +8 % of the 6-7 s end to end of
  ``python benchmarks/bench_pram.py --repeat 3 --models kabam``;
- and yajl2_c refuses integers past 64 bits and numbers past a float's range ("integer
  overflow", "numeric (floating point) overflow"), which the standard library reads and
  this module keeps (exact integers, ``inf``), and it turns a lone surrogate escape into
  ``?``; ijson's pure Python backend reads big integers but is 22 times slower.

So the request body stays here too: ijson would cost it under 10 % end to end, but it
would refuse bodies the service takes (an integer past 64 bits is valid JSON) and the
stored result's reader, which this module keeps in any case, shares its helpers.
"""
from __future__ import annotations

import codecs
import json
import re
from typing import Any, Callable, Iterable, Iterator

import orjson

__all__ = ["Lazy", "loads_lazy", "TextStream"]

_WS = re.compile(r"[ \t\n\r]*")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # NaN and Infinity refused, as orjson does

_MORE = object()  # the text ends before the value does

# orjson reads an integer past 64 bits as an inexact float; a run of 19 digits anywhere
# in a value (even inside a string) sends it to the standard library, which keeps it exact.
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def _container_at(text: str, pos: int, tries: int = 4) -> Any:
    """The object or array at ``text[pos]``, parsed by orjson (several times faster than
    the standard library for a column of many numbers), and the position after it.

    Its end is the first closing bracket at which the text from ``pos`` is valid JSON (a
    bracket at which it is not is inside a string or a nested value). Returns ``_MORE``
    when the text ends first, and None when the standard library must parse it: after
    ``tries`` brackets, when orjson refuses the value (a number past a float's range, a
    lone surrogate), or when it holds a run of 19 or more digits."""
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
        seen: set[str] = set()
        while True:
            if self.is_object:
                key, pos = _member_name(text, pos)
                if key in seen:
                    raise NameTwice(key, "inputs")
                seen.add(key)
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


class NameTwice(ValueError):
    """An object of the body (the body itself, or its ``inputs``) that names a member twice:
    valid JSON, but which value was meant is not known (a parser keeps one, silently)."""

    def __init__(self, name: str, where: str):
        super().__init__(f"{name!r} is named twice in {where}")
        self.name, self.where = name, where


class NotUnicode(ValueError):
    """JSON text whose string escapes a half of a UTF-16 surrogate pair alone (``"\\ud800"``):
    valid JSON, but no Unicode text; Python would hold it, and it could be neither stored
    nor written back as UTF-8."""


_ESCAPE = re.compile(r"\\(u[dD][89a-fA-F][0-9a-fA-F]{2}|.)", re.S)  # each escape, in order


def refuse_lone_surrogates(text: str | bytes) -> None:
    """Raise :class:`NotUnicode` naming the first escape of a surrogate not paired as UTF-16
    (a high one followed at once by a low one). Costs two searches of the text (or of a
    body's UTF-8 bytes, not decoded for it) unless it holds such escapes at all."""
    marks = (b"\\ud", b"\\uD") if isinstance(text, bytes) else ("\\ud", "\\uD")
    if marks[0] not in text and marks[1] not in text:  # type: ignore[operator]
        return
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")  # the escapes are ASCII
    waiting = None  # the high half just read, and where its low half must start
    for found in _ESCAPE.finditer(text):
        unit = found.group(1)
        high = len(unit) == 5 and unit[2] in "89abAB"
        low = len(unit) == 5 and not high
        if waiting is not None:
            if low and found.start() == waiting[1]:
                waiting = None
                continue
            break
        if low:
            raise NotUnicode(f"{found.group(0)} is the second half of a UTF-16 pair, alone")
        if high:
            waiting = (found.group(0), found.end())
    if waiting is not None:
        raise NotUnicode(f"{waiting[0]} is the first half of a UTF-16 pair, alone")


def loads_lazy(text: str, on_inputs: Callable[[Lazy], Any]) -> Any:
    """Parse a JSON body in one pass; its ``inputs`` member, when an object or an array,
    is handed to ``on_inputs`` as :class:`Lazy` (parsed a member at a time) and replaced
    by what that returns. Raises ValueError on invalid JSON (:class:`NotUnicode` for a
    string that is not Unicode text, :class:`NameTwice` for a member of the body or of
    an object ``inputs`` named twice)."""
    refuse_lone_surrogates(text)
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
            if key in body:
                raise NameTwice(key, "the body")
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
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")


class TextStream:
    """JSON text arriving in pieces (bytes), parsed a value at a time: only the value
    being parsed (and one piece) is held, never the whole text."""

    def __init__(self, pieces: Iterable[bytes]):
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
        """The next character that is not white space ("" at the end of the text)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.pos}")
        self.pos += 1

    def value(self) -> Any:
        """The next value, parsed whole."""
        if self.peek() in ("{", "["):
            found = self._container()
            if found is not _NOT_FOUND:
                return found
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
                # a number may go on in the next piece: "1" of "15", and "1" of "1.5" or
                # "1e5" cut after its "." or "e", which the decoder reads as 1 and stops
                if self.eof or _NUMBER_TAIL.match(self.buf, end).end() < len(self.buf):
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

    def members(self) -> Iterator[str]:
        """The member names of the object at the current position, one at a time: the
        caller reads each member's value (:meth:`value`, :meth:`items`) before the next."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise ValueError(f"expected a property name at {self.pos}")
            self.expect(":")
            yield key
            sep = self.peek()
            self.pos += 1
            if sep == "}":
                return
            if sep != ",":
                raise ValueError(f"expected ',' or '}}' at {self.pos - 1}")

    def items(self) -> Iterator[tuple[str, Any]]:
        """(key, value) of the object at the current position, each value parsed whole."""
        for key in self.members():
            yield key, self.value()
