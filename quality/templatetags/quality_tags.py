"""Template filters for scores and agreement bars (report, home and image pages)."""

from django import template
from django.utils.dateparse import parse_datetime

register = template.Library()

GOOD, FAIR = 0.8, 0.667  # Krippendorff's usual bars for reliable and tentative conclusions


@register.filter
def score(value) -> str:
    return "–" if value is None else f"{value:.2f}"


@register.filter
def percent(value) -> str:
    return "0%" if value is None else f"{max(0.0, min(1.0, value)) * 100:.0f}%"


@register.filter
def signed(value) -> str:
    return "–" if value is None else f"{value:+.2f}"


@register.filter
def quality_tone(value) -> str:
    if value is None:
        return "tone-none"
    return "tone-ok" if value >= GOOD else "tone-warn" if value >= FAIR else "tone-bad"


@register.filter
def quality_word(value) -> str:
    if value is None:
        return "not computed yet"
    if value >= GOOD:
        return "reliable (≥ 0.80)"
    if value >= FAIR:
        return "tentative (0.67–0.80)"
    return "unreliable (< 0.67): instructions or labels need work"


@register.filter
def as_datetime(value):
    return parse_datetime(value) if isinstance(value, str) else value


@register.filter
def index(sequence, i):
    try:
        return sequence[i]
    except (IndexError, TypeError, KeyError):
        return ""
