"""JSON as Concord reads it: the API's request bodies and the review page's adjudicated boxes;
and valid_input, the check of a parsed body against the view's input serializer.

Python's json module accepts things no client of Concord sends and that fail later, far from the
parser, as 500s: nesting thousands deep (RecursionError), integers of hundreds of digits (an
OverflowError where they meet a float or the database), 1e400 (infinity). Each is refused here
with a message instead.
"""

import json
import math

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32  # the deepest body Concord takes is 4 levels (boxes in a list in an object)
MAX_INT = 2**63 - 1  # no field takes more than a 64-bit integer


class JSONTooStrange(ValueError):
    """A JSON text that parses but that Concord refuses; the message says what to change."""


def json_loads(text: str | bytes):
    """json.loads, refusing NaN/Infinity, numbers out of range and nesting deeper than MAX_DEPTH.

    Raises ValueError (json.JSONDecodeError or JSONTooStrange) with a message a person can act on.
    """
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise JSONTooStrange(_too_deep()) from None
    if not _depth_within(value, MAX_DEPTH):
        raise JSONTooStrange(_too_deep())
    return value


class StrictJSONParser(JSONParser):
    """DRF's JSON parser on top of json_loads: every refusal is a ParseError (a JSON 400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_loads(stream.read().decode(encoding))
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise ParseError(f"JSON parse error - {exc}") from None


def valid_input(serializer_class: type[serializers.Serializer], data) -> dict:
    """The request body checked by an input serializer: its validated data, or a
    ValidationError that the API answers as a 400 naming each bad field (concord.exceptions)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_INT:
        raise JSONTooStrange(
            f"a number with {len(text.lstrip('-'))} digits is out of range; integers go up to "
            f"{MAX_INT}."
        )
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONTooStrange(f"the number {text[:40]} is out of range for a decimal number.")
    return value


def _constant(name: str):
    raise JSONTooStrange(f"{name} is not a number JSON allows; send a finite number.")


def _too_deep() -> str:
    return f"the JSON is nested deeper than {MAX_DEPTH} levels; no Concord request needs that."


def _depth_within(value, limit: int) -> bool:
    """Iteratively, so that checking a deep value cannot itself overflow the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True
