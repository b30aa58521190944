"""Markdown to safe HTML for instructions and class guidance.

Instructions are written by leads but read by everyone, so the HTML is sanitised (nh3/ammonia):
scripts, event handlers and javascript: links never survive.
"""

import re

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
}


# Python-Markdown looks for the end of a link from every '[' up to the end of the paragraph: 5,000
# '[' took 20 s to render, 100 '[' before 200,000 characters 48 s, on every page that shows them.
# A '[' that cannot start a link (never closed, closed only far away, nested deeper than a link
# with an image in it, or followed by a '(' that is not closed nearby) is escaped first, so it is
# shown as typed and nothing scans from it.
MAX_LINK_TEXT = 2000
MAX_BRACKET_DEPTH = 2
_BRACKET_OR_ESCAPE = re.compile(r"\\.|[\[\]]", re.DOTALL)


def render_markdown(text: str) -> SafeString:
    html = markdown_lib.markdown(
        _brackets_defused(text or ""), extensions=["tables", "sane_lists", "fenced_code"]
    )
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def _brackets_defused(text: str) -> str:
    """`text` with a backslash before each '[' that cannot open a link (one pass, linear)."""
    escape, open_at = [], []
    for match in _BRACKET_OR_ESCAPE.finditer(text):
        if match.group() == "[":
            open_at.append(match.start())
        elif match.group() == "]" and open_at:
            start, end = open_at.pop(), match.end()
            unclosed_target = (
                text.startswith("(", end) and ")" not in text[end : end + MAX_LINK_TEXT]
            )
            if len(open_at) >= MAX_BRACKET_DEPTH or end - start > MAX_LINK_TEXT or unclosed_target:
                escape.append(start)
    escape.extend(open_at)  # never closed
    if not escape:
        return text
    parts, last = [], 0
    for position in sorted(escape):
        parts += [text[last:position], "\\"]
        last = position
    parts.append(text[last:])
    return "".join(parts)
