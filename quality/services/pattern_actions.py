"""What a lead does with a habit, in one step (``pattern_act``):

- ``accept_consensus``: the habit's open flags (its flag kind, its labeler as the one who
  deviates, its class) are settled by the bulk review service (each image's consensus becomes
  its adjudication, which settles the image's other flags with it, as one decision on one flag
  would); every flag settled is marked with the habit.
- ``feedback``: a note to the labeler with 3-5 example flags (their own box against the
  consensus, shown in their My work page; never another labeler's name or box).
- ``clarify``: the instructions editor, prefilled with a worked example of the habit; the
  decision is recorded when the lead publishes (``pattern_clarified``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from quality.models import Flag, Pattern
from quality.selectors.flag_queue import flags_filtered
from quality.services.bulk_review import flags_bulk_settle
from quality.services.patterns import pattern_examples, pattern_selections

ACTIONS = tuple(Pattern.Action.values)


def pattern_act(*, pattern: Pattern, user, action: str, note: str = "") -> dict:
    """The lead's one step on a habit (see the module docstring). Returns {"settled": flags
    settled, "skipped": flags left open (their image's consensus has a class tie),
    "redirect": the page to go on with (clarify), or ""}. Raises ValidationError."""
    note = (note or "").strip()
    if action not in ACTIONS:
        raise ValidationError(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
    if action == Pattern.Action.CLARIFY:
        if not pattern.example_flag_ids:
            raise ValidationError("This habit has no flag to show as a worked example.")
        url = reverse(
            "quality:pattern-instructions",
            kwargs={"slug": pattern.project.slug, "pattern_id": pattern.pk},
        )
        return {"settled": 0, "skipped": 0, "redirect": url}
    if action == Pattern.Action.FEEDBACK:
        if pattern.labeler_id is None:
            raise ValidationError(
                "This habit is the project's, not one labeler's: clarify the instructions."
            )
        with transaction.atomic():
            pattern = Pattern.objects.select_for_update().get(pk=pattern.pk)
            pattern.feedback_flag_ids = _feedback_examples(pattern)
            _decide(pattern, user, action, note)
        return {"settled": 0, "skipped": 0, "redirect": ""}
    settled = skipped = 0
    with transaction.atomic():
        pattern = Pattern.objects.select_for_update().get(pk=pattern.pk)
        for filters in pattern_selections(pattern):
            settled_here, skipped_here = _accept_consensus(pattern, user, filters, note)
            settled += settled_here
            skipped += skipped_here
        _decide(pattern, user, action, note)
    return {"settled": settled, "skipped": skipped, "redirect": ""}


def _accept_consensus(pattern: Pattern, user, filters: dict, note: str) -> tuple[int, int]:
    """Settle the selection with the bulk service, a bounded number of images per call, and
    mark every flag settled (the habit's and those settled along on their images)."""
    selected = flags_filtered(project=pattern.project, filters=filters).filter(
        status=Flag.Status.OPEN
    )
    images = selected.values("image_id")
    before = set(
        Flag.objects.filter(image_id__in=images, status=Flag.Status.OPEN).values_list(
            "pk", flat=True
        )
    )
    note = note or f"Settled with a habit: {pattern.size}"
    skipped = 0
    for _ in range(10_000):  # each call settles up to FLAG_BULK_IMAGES images
        outcome = flags_bulk_settle(
            project=pattern.project, user=user, filters=filters,
            action="accept_consensus", note=note,
        )  # fmt: skip
        skipped = outcome.skipped
        if not outcome.settled or outcome.remaining <= outcome.skipped:
            break
    settled = Flag.objects.filter(pk__in=before).exclude(status=Flag.Status.OPEN)
    count = settled.update(pattern=pattern)
    return count, skipped


def _feedback_examples(pattern: Pattern) -> list[int]:
    """3-5 flags of the habit: each one's deviating labeler is the habit's (the flag-list
    filter on labeler selects exactly those), so each shows their own box, or their miss."""
    return pattern_examples(pattern)


def _decide(pattern: Pattern, user, action: str, note: str) -> None:
    now = timezone.now()
    pattern.status = Pattern.Status.ACTED
    pattern.action, pattern.note = action, note
    pattern.decided_by, pattern.decided_at = user, now
    pattern.before_strength = pattern.strength
    pattern.after_strength = pattern.after_ci_low = pattern.after_ci_high = None
    pattern.after_support = 0
    pattern.save()


def pattern_clarified(*, pattern: Pattern, user, flag: Flag, note: str) -> None:
    """Record "clarify" once the instructions with the habit's worked example are published
    (the flag it showed was settled by that version)."""
    with transaction.atomic():
        pattern = Pattern.objects.select_for_update().get(pk=pattern.pk)
        _decide(pattern, user, Pattern.Action.CLARIFY, note)
        Flag.objects.filter(pk=flag.pk).update(pattern=pattern)
