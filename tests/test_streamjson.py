"""The piece-at-a-time JSON reader (flask_qed.streamjson) gives what the plain way gives:
``json.loads`` of the whole text, and ``orjson.loads`` where orjson reads the text as the
standard library does. Tricky texts by hand, then JSON made by hypothesis, read from a
string (request bodies) and from bytes cut anywhere (stored results)."""
from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_qed import jsonutil
from flask_qed.streamjson import Lazy, NameTwice, NotUnicode, TextStream, loads_lazy


def _plain(lazy: Lazy) -> Any:
    return dict(lazy.items()) if lazy.is_object else [v for _, v in lazy.items()]


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _same(got: Any, expected: Any) -> bool:
    """Equal values of equal types, key order included; floats by repr (-0.0, inf)."""
    if type(got) is not type(expected):
        return False
    if isinstance(got, dict):
        return list(got) == list(expected) and all(_same(got[k], expected[k]) for k in got)
    if isinstance(got, list):
        return len(got) == len(expected) and all(map(_same, got, expected))
    if isinstance(got, float):
        return repr(got) == repr(expected)
    return got == expected


def _read_all(stream: TextStream) -> Any:
    """One value and nothing after it, as ``json.loads`` takes a text."""
    value = stream.value()
    if stream.peek() != "":
        raise ValueError("extra data after the JSON value")
    return value


TRICKY = [
    '{"a": "}", "b": "]", "c": "\\"}", "d": "\\\\", "e": "\\\\\\"]}"}',
    '{"a": {"0": "}}}}}}", "1": "]]]]]]", "2": "}", "3": "}"}, "b": [["]"], {"}": "{"}]}',
    '{"a": [1, {"b": "]}"}, [[]], {}], "c": {"d": {"e": {"f": {"g": "}}}}}"}}}}}',
    '{"a": 12345678901234567890123, "b": -98765432109876543210, "c": 18446744073709551616}',
    '{"a": 9223372036854775807, "b": -9223372036854775808, "c": 1234567890123456789}',
    '{"a": 1e400, "b": -1E+400, "c": 5e-324, "d": 1e-400, "e": -0, "f": -0.0, "g": 0.1234567890123456789}',
    '{"a": "\\ud800", "b": "\\udc00x", "c": "\\ud83d\\ude00", "d": "\\u00e9\\u2028\\u0000"}',
    '{"été": "日本語 😀", "a\\"b": {"c:d": ["e,f", "{g}"]}, "": ""}',
    '[1, 2.5, "x", null, true, false, [], {}, [[[]]], {"a": {}}]',
    '{"a": {"0": 1, "0": 2}, "b": [1.0, 1, 1e2, 1E-2]}',
    ' \n\t{ "a" : [ 1 , { "b" : "]" } ] , "c" :\r\n{ } }\n ',
    '"just a string"', '12345678901234567890', '-1.5e3', 'null', '[]', '{}',
]


@pytest.mark.parametrize("text", [t for t in TRICKY if "\\ud800" not in t])  # (a lone half: below)
def test_a_request_body_reads_as_json_loads_reads_it(text):
    expected = json.loads(text)
    body = '{"inputs": ' + text + ', "subscriber": {"successUri": "http://x/}]"}}'
    assert _same(loads_lazy(body, _plain), json.loads(body))
    assert _same(loads_lazy(text, _plain), expected)


@pytest.mark.parametrize("text, name, where", [
    ('{"inputs": {"mai": 1}, "label": "a", "label": "b"}', "label", "the body"),
    ('{"inputs": {"mai": 1, "area": 2, "mai": 3}}', "mai", "inputs"),
    ('{"inputs": {"mai": {"0": 1}, "mai": {"1": 2}}}', "mai", "inputs"),  # column form
    ('{"inputs": {"m\\u0061i": 1, "mai": 3}}', "mai", "inputs"),  # the same name, escaped once
])
def test_a_name_given_twice_in_the_body_or_its_inputs_is_refused(text, name, where):
    with pytest.raises(NameTwice) as raised:
        loads_lazy(text, _plain)
    assert (raised.value.name, raised.value.where) == (name, where)


def test_names_deeper_in_a_value_are_read_as_json_loads_reads_them():
    text = '{"inputs": {"l_m": {"0": 1, "0": 2}}, "subscriber": {"successUri": "a", "successUri": "b"}}'
    assert loads_lazy(text, _plain) == json.loads(text)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1 << 20])
@pytest.mark.parametrize("text", TRICKY)
def test_a_stored_text_reads_as_json_loads_reads_it_cut_anywhere(text, size):
    expected = json.loads(text)
    assert _same(_read_all(TextStream(_pieces(text.encode(), size))), expected)
    if isinstance(expected, dict):
        assert _same(dict(TextStream(_pieces(text.encode(), size)).items()), expected)


def test_where_orjson_reads_it_the_values_are_orjsons():
    text = '{"a": {"0": 1, "1": 2.5, "2": "x", "3": null}, "b": [true, {"c": "]}"}]}'
    assert loads_lazy('{"inputs": ' + text + "}", _plain)["inputs"] == orjson.loads(text)
    assert dict(TextStream([text.encode()]).items()) == orjson.loads(text)


def test_members_leave_each_value_to_the_caller():
    text = b'{"errors": {"3": [{"run": "3"}]}, "outputs": {"x": {"0": 1.5}, "y": {"0": "}"}}, "n": 7}'
    stream, seen = TextStream(_pieces(text, 5)), []
    for name in stream.members():
        if name == "outputs":
            seen.append((name, list(stream.items())))
        else:
            seen.append((name, stream.value()))
    assert seen == [("errors", {"3": [{"run": "3"}]}), ("outputs", [("x", {"0": 1.5}), ("y", {"0": "}"})]),
                    ("n", 7)]
    assert stream.peek() == ""


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1,}', '[1 2]',
                                  '{"a": 1} x', '{"a" 1}', '{1: 2}', '', '{"a": "\\x"}', '{"a": [1, 2}',
                                  '{"a": "line\nbreak"}', '{"a": 01}'])
def test_invalid_json_is_refused_both_ways(text):
    with pytest.raises(ValueError):
        loads_lazy(text, _plain)
    with pytest.raises(ValueError):
        loads_lazy('{"inputs": ' + text + "}", _plain)
    with pytest.raises(ValueError):
        stream = TextStream([text.encode()])
        _read_all(stream)


def test_the_names_stay_importable_from_jsonutil():
    assert (jsonutil.loads_lazy, jsonutil.Lazy, jsonutil.TextStream) == (loads_lazy, Lazy, TextStream)


# -- JSON made by hypothesis -----------------------------------------------------------------

_TRICKY_CHARS = st.sampled_from(list('{}[]",:\\/ \t\n\r\x00\x1f\u00e9\u2028\u2029\ufeff\U0001f600'))
_strings = st.text(st.one_of(_TRICKY_CHARS, st.characters(), st.characters(categories=["Cs"])), max_size=12)
_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10 ** 40), max_value=10 ** 40),
    st.sampled_from([2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -(2 ** 63), -(2 ** 63) - 1, 10 ** 18, 10 ** 19]),
    st.floats(allow_nan=False, allow_infinity=False),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _strings)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(_strings, inner, max_size=6)), max_leaves=40)
_layout = st.fixed_dictionaries({"ensure_ascii": st.booleans(), "indent": st.sampled_from([None, 0, 1]),
                                 "separators": st.sampled_from([None, (",", ":"), (" , ", " : ")])})
# numbers as people write them, not only as json.dumps does
_numerals = st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,22})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _dumps(value: Any, layout: dict[str, Any]) -> str:
    return json.dumps(value, **layout)


@_SETTINGS
@given(_values, _values, _layout)
def test_hypothesis_request_bodies_read_as_json_loads_reads_them(inputs, other, layout):
    for value in ({"other": other, "inputs": inputs, "after": other}, inputs):
        text = _dumps(value, layout)
        if not _unicode(value):  # a body is UTF-8 text: a lone surrogate comes only as an escape
            text = _dumps(value, dict(layout, ensure_ascii=True))
        expected = json.loads(text)
        if _unicode(expected):
            assert _same(loads_lazy(text, _plain), expected)
        else:  # a string holding half a UTF-16 pair alone
            with pytest.raises(NotUnicode):
                loads_lazy(text, _plain)


def _unicode(value: Any) -> bool:
    """Whether every string of a parsed value (keys too) is Unicode text (UTF-8 can write it)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@_SETTINGS
@given(_values, _layout, st.integers(min_value=1, max_value=40))
def test_hypothesis_stored_texts_read_as_json_loads_reads_them(value, layout, size):
    text = _dumps(value, layout)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: stored text is ASCII-escaped
        text = _dumps(value, dict(layout, ensure_ascii=True))
        data = text.encode("utf-8")
    expected = json.loads(text)
    assert _same(_read_all(TextStream(_pieces(data, size))), expected)
    if isinstance(expected, dict):
        assert _same(dict(TextStream(_pieces(data, size)).items()), expected)


@_SETTINGS
@given(st.lists(_numerals, min_size=1, max_size=30), st.integers(min_value=1, max_value=40))
def test_hypothesis_numbers_read_as_json_loads_reads_them(numerals, size):
    column = "{" + ", ".join(f'"{i}": {n}' for i, n in enumerate(numerals)) + "}"
    text = '{"a": ' + column + ', "b": [' + ", ".join(numerals) + "]}"
    expected = json.loads(text)
    assert _same(loads_lazy('{"inputs": ' + text + "}", _plain)["inputs"], expected)
    assert _same(dict(TextStream(_pieces(text.encode(), size)).items()), expected)
    finite = all(math.isfinite(v) for v in expected["b"] if isinstance(v, float))
    exact = all(abs(v) < 2 ** 63 for v in expected["b"] if isinstance(v, int))
    if finite and exact:  # where orjson reads them, it reads them so too
        assert _same(orjson.loads(text), expected)


@_SETTINGS
@given(_values, st.data())
def test_hypothesis_cut_texts_are_refused_as_json_loads_refuses_them(value, data):
    """A valid text cut short (or with a character dropped) is refused both ways, or read
    the same both ways when what is left is still JSON."""
    text = json.dumps({"inputs": value, "x": [value]})
    at = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    for broken in (text[:at], text[:at] + text[at + 1:]):
        try:
            expected = json.loads(broken)
        except ValueError:
            expected = ValueError
        # a request body holding half a UTF-16 pair alone is refused; a stored text is read
        lazy_expected = ValueError if expected is not ValueError and not _unicode(expected) else expected
        for read, wanted in ((lambda t: loads_lazy(t, _plain), lazy_expected),
                             (lambda t: _read_all(TextStream(_pieces(t.encode("utf-8", "surrogatepass"), 7))),
                              expected)):
            try:
                got = read(broken)
            except ValueError:
                got = ValueError
            assert got is wanted if wanted is ValueError else _same(got, wanted)


@pytest.mark.parametrize("text,alone", [
    ('{"a": "\\ud800"}', "\\ud800"), ('{"a": "x\\udc00y"}', "\\udc00"), ('["\\ud83d"]', "\\ud83d"),
    ('{"a": "\\ud800\\ud800\\udc00"}', "\\ud800"), ('{"a": "\\ud800\\\\udc00"}', "\\ud800"),
    ('{"a": "\\\\\\udfff"}', "\\udfff"), ('{"\\ud800": 1}', "\\ud800")])
def test_a_body_holding_half_a_utf16_pair_is_not_unicode(text, alone):
    with pytest.raises(NotUnicode, match=alone.replace("\\", "\\\\")):
        loads_lazy(text, _plain)


@pytest.mark.parametrize("text", ['{"a": "\\ud83d\\ude00"}', '{"a": "\\uD83D\\uDE00 \\u00e9"}',
                                  '{"a": "\\\\ud800"}', '{"a": "\\\\\\\\ud800 \\\\udc00"}'])
def test_pairs_and_escaped_backslashes_are_unicode(text):
    assert _same(loads_lazy(text, _plain), json.loads(text))
