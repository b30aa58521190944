"""Manifests of a registration: a CSV or JSON Lines object in the bucket naming the objects to
register, relative to the prefix.

CSV: one key per row, in the column named key, path, file, file_name, filename or image (any
case) when the first row is a header naming one of them, else in the first column. JSON Lines
(.jsonl, .ndjson): one JSON string per line, or an object with one of those fields. Blank lines
are skipped; a key listed twice is registered once.
"""

import csv
import io
import json

KEY_FIELDS = ("key", "path", "file", "file_name", "filename", "image")
SUFFIXES = (".csv", ".jsonl", ".ndjson")


class ManifestError(ValueError):
    """A manifest Concord cannot read; the message says where and why."""


def manifest_keys(name: str, data: bytes) -> list[str]:
    """The keys a manifest lists, in its order, each once."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(f"{name} is not UTF-8 text") from None
    if name.lower().endswith(".csv"):
        entries = _csv_keys(name, text)
    elif name.lower().endswith((".jsonl", ".ndjson")):
        entries = _jsonl_keys(name, text)
    else:
        raise ManifestError(f"{name}: a manifest is a .csv or a .jsonl (JSON Lines) file")
    seen: dict[str, None] = {}
    for entry in entries:
        entry = entry.strip().lstrip("/")
        if entry:
            seen.setdefault(entry, None)
    if not seen:
        raise ManifestError(f"{name} names no objects")
    return list(seen)


def _csv_keys(name: str, text: str) -> list[str]:
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    except csv.Error as exc:
        raise ManifestError(f"{name} is not a readable CSV file ({exc})") from None
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(f) for f in KEY_FIELDS if f in header), None)
    if column is None:
        return [row[0] for row in rows]
    return [row[column] for row in rows[1:] if len(row) > column]


def _jsonl_keys(name: str, text: str) -> list[str]:
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"line {number} of {name} is not JSON ({exc.msg})") from None
        if isinstance(value, dict):
            value = next((value[f] for f in KEY_FIELDS if isinstance(value.get(f), str)), None)
        if not isinstance(value, str):
            raise ManifestError(
                f"line {number} of {name} names no object: give a string or an object with "
                f"one of {', '.join(KEY_FIELDS)}"
            )
        keys.append(value)
    return keys
