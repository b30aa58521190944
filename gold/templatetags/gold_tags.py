"""Template helpers of the gold pages, and what other pages show of gold (to leads only)."""

from django import template

from gold.models import GoldImage
from gold.selectors import paused_count

register = template.Library()


@register.filter
def percent_number(value) -> str:
    """0.1 -> "10": a share as the number a percentage field shows."""
    return f"{value * 100:.0f}" if value is not None else ""


@register.simple_tag
def gold_paused_count(project) -> int:
    """Labelers of the project the gold checks paused (the lead is told on the project page)."""
    return paused_count(project=project)


@register.simple_tag
def gold_of(image):
    """The image's gold record, or None."""
    return GoldImage.objects.filter(image=image).first()
