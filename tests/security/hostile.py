"""Hostile values, and the forms and links of a page, for the fuzz tests in test_fuzz.py."""

import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

# Strings, as a query parameter or a form field carries them.
HOSTILE = {
    "nul": "a\x00b",
    "superscript two": "²",  # str.isdigit() yes, int() no
    "arabic three": "٣",  # int() reads 3
    "negative": "-1",
    "zero": "0",
    "float": "1.5",
    "1e308": "1e308",
    "1e400": "1e400",
    "nan": "NaN",
    "-infinity": "-Infinity",
    "empty": "",
    "spaces": "   ",
    "400 digits": "9" * 400,
    "2**63": str(2**63),
    "long": "x" * 5_000,
    "brackets": "[" * 5000,
    "json": '{"a": [1, {"b": null}]}',
    "rtl override": "\u202egnp.exe",
    "quotes": "'\"<>&;--",
    "path": "../../etc/passwd",
    "list": "1,²,٣,x,,",
    "percent": "%00%ff%",
    "emoji": "🚗🚙",
    "combining": "e\u0301\u0301\u0301",
    "bool": "true",
}

# What broke something before: every parameter gets these, and a few of the rest (sample()).
CORE = ("nul", "superscript two", "400 digits", "long", "brackets")
# For the callers who mostly meet a 401, 403 or 404 before any parameter is read.
SHORT = ("nul", "400 digits")

# Raw JSON texts put where a value goes in a request body (json.dumps cannot write most of them).
HOSTILE_JSON = {
    "400-digit int": "1" + "0" * 400,
    "2**63": str(2**63),
    "1e308": "1e308",
    "1e400": "1e400",
    "-1": "-1",
    "0.5": "0.5",
    "NaN": "NaN",
    "nested 5000": "[" * 5000 + "]" * 5000,
    "nested 30": "[" * 30 + "]" * 30,
    "object": '{"a": {"b": [null]}}',
    "null": "null",
    "true": "true",
} | {
    f"string {name}": None  # None: json.dumps of HOSTILE[name]
    for name in ("nul", "superscript two", "400 digits", "long", "rtl override", "empty")
}  # fmt: skip


JSON_CORE = ("400-digit int", "nested 5000", "string nul", "string long", "null", "object")


def sample(corpus: dict, core: tuple[str, ...], key: str, extra: int = 4) -> dict:
    """`core` and `extra` others, chosen by `key` (a parameter's name): over the parameters of
    a page or an API, every value is sent somewhere, and each run sends the same ones."""
    rest = [name for name in corpus if name not in core]
    start = zlib.crc32(key.encode()) % len(rest)
    chosen = [*core, *(rest[(start + i) % len(rest)] for i in range(min(extra, len(rest))))]
    return {name: corpus[name] for name in chosen}


def hostile_json(name: str) -> str:
    import json

    raw = HOSTILE_JSON[name]
    return json.dumps(HOSTILE[name.removeprefix("string ")]) if raw is None else raw


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # submit buttons' name, value
    has_file: bool = False


class PageParser(HTMLParser):
    """The forms of a page (fields joined by the `form` attribute too) and its links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.by_id: dict[str, Form] = {}
        self.links: list[str] = []
        self._open: Form | None = None
        self._textarea: tuple[Form, str] | None = None
        self._select: tuple[Form, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            form = Form(method=(a.get("method") or "get").lower(), action=a.get("action", ""))
            self.forms.append(form)
            if a.get("id"):
                self.by_id[a["id"]] = form
            self._open = form
        elif tag in ("input", "textarea", "select", "button"):
            form = self.by_id.get(a["form"]) if a.get("form") else self._open
            name = a.get("name")
            if form is None or not name:
                return
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "file":
                form.has_file = True
            elif kind == "submit" or tag == "button":
                form.buttons.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a or name not in form.fields:
                    form.fields[name] = a.get("value", "on")
            elif tag == "textarea":
                form.fields[name] = ""
                self._textarea = (form, name)
            elif tag == "select":
                form.fields.setdefault(name, "")
                self._select = (form, name)
            else:
                form.fields[name] = a.get("value", "")
        elif tag == "option" and self._select:
            form, name = self._select
            if not form.fields.get(name) or "selected" in a:
                form.fields[name] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            form, name = self._textarea
            form.fields[name] += data


def page_parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def query_names(url: str) -> tuple[str, set[str]]:
    """The path of a link and the names of its query parameters."""
    parts = urlsplit(url)
    return parts.path, {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
