"""Reading a large JSON label file without holding it as Python objects all at once.

A 100,000-image COCO file holds a couple of million annotation objects; ``json.loads`` would
build them all (gigabytes) before the first is used. Here the top level is walked by hand and
the elements of the big arrays are decoded one at a time (the standard library's C scanner)
and handed to a callback in batches, so only the caller's columns grow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from imports.formats.types import LabelFileError

_SPACE = re.compile(r"[ \t\n\r]*")


def _constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


_DECODER = json.JSONDecoder(parse_constant=_constant)


def json_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelFileError(
            f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})."
        ) from None


BATCH = 20_000  # array elements handed over at a time


def json_walk(text: str, arrays: dict[str, Callable[[list], None]]) -> tuple[str, dict]:
    """Walk a JSON document: the elements of a top-level array ``key`` of the object go to
    ``arrays[key]``, a list of up to BATCH of them at a time (a top-level array itself goes
    to ``arrays[""]``). Returns the top level's type ("object" or "array") and the object's
    other keys with their values.

    Raises LabelFileError on invalid JSON, with the line and column.
    """
    try:
        return _walk(text, arrays)
    except json.JSONDecodeError as exc:
        raise LabelFileError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from None
    except ValueError as exc:  # NaN, Infinity
        raise LabelFileError(f"not valid JSON: {exc}.") from None
    except RecursionError:
        raise LabelFileError("the JSON is nested too deeply to be a label file.") from None


def _skip(text: str, i: int) -> int:
    return _SPACE.match(text, i).end()


def _expect(text: str, i: int, chars: str) -> str:
    if i >= len(text) or text[i] not in chars:
        got = repr(text[i]) if i < len(text) else "the end of the file"
        raise json.JSONDecodeError(
            f"expected {' or '.join(map(repr, chars))}, found {got}", text, i
        )
    return text[i]


def _value(text: str, i: int):
    try:
        return _DECODER.scan_once(text, i)  # the C scanner, without raw_decode's wrapper
    except StopIteration as stop:
        raise json.JSONDecodeError("Expecting value", text, stop.value) from None


def _array(text: str, i: int, handle: Callable[[list], None]) -> int:
    """Decode the array starting at text[i] == "[", element by element; returns the end."""
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "]":
        return i + 1
    batch: list = []
    append, scan, space = batch.append, _value, _SPACE.match
    while True:
        value, i = scan(text, i)
        append(value)
        if len(batch) >= BATCH:
            handle(batch)
            batch = []
            append = batch.append
        if text.startswith(",", i):  # the common case: a comma right after the element
            i += 1
        else:
            i = space(text, i).end()
            if _expect(text, i, ",]") == "]":
                handle(batch)
                return i + 1
            i += 1
        if text.startswith((" ", "\n", "\r", "\t"), i):
            i = space(text, i).end()


def _walk(text: str, arrays) -> tuple[str, dict]:
    i = _skip(text, 0)
    others: dict = {}
    if _expect(text, i, "[{") == "[":
        i = _array(text, i, arrays.get("", lambda batch: None))
        kind = "array"
    else:
        kind = "object"
        i = _skip(text, i + 1)
        if i < len(text) and text[i] == "}":
            i += 1
        else:
            while True:
                _expect(text, i, '"')
                key, i = _value(text, i)
                i = _skip(text, i)
                _expect(text, i, ":")
                i = _skip(text, i + 1)
                if key in arrays and i < len(text) and text[i] == "[":
                    i = _array(text, i, arrays[key])
                else:
                    others[key], i = _value(text, i)
                i = _skip(text, i)
                if _expect(text, i, ",}") == "}":
                    i += 1
                    break
                i = _skip(text, i + 1)
    if _skip(text, i) != len(text):
        raise json.JSONDecodeError("extra data after the JSON document", text, _skip(text, i))
    return kind, others
