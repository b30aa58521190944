"""The project's habits (Pattern rows): found in the stored evidence, with their example flags.

``patterns_refresh`` folds the stored habit evidence (quality.selectors.habits) and stores what
quality.engine.habits finds, each under a stable key (kind, labeler, class, other class) so a
lead's decision stays with its habit across recomputes. For a habit acted on, it also measures
the habit on the label sets submitted after the decision (coaching): ``after_strength``. It runs
as a task of its own after the summary (quality.tasks.patterns_schedule), and at the end of a
recompute. What a lead does with a habit is in quality.services.pattern_actions.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotations.models import Annotation
from projects.models import Project
from quality.engine.habits import FLAG_OF_HABIT, Habit, habit_strength, habits_from_evidence
from quality.models import Flag, Pattern
from quality.selectors.flag_queue import flags_filtered
from quality.selectors.habits import evidence_fold

EXAMPLES = 5  # example flags per habit (3-5 when there are that many)


def pattern_key(kind: str, labeler_id, class_id, other_id) -> str:
    return ":".join(str("-" if v is None else v) for v in (kind, labeler_id, class_id, other_id))


def patterns_refresh(*, project: Project) -> list[Pattern]:
    """Store the habits the project's evidence shows (see the module docstring)."""
    class_ids = {name: pk for pk, name in project.classes.values_list("pk", "name")}
    habits = habits_from_evidence(evidence_fold(project=project))
    now = timezone.now()
    with transaction.atomic():
        existing = {p.key: p for p in Pattern.objects.select_for_update().filter(project=project)}
        kept = []
        for habit in habits:
            ids = (
                habit.labeler,
                class_ids.get(habit.label_class),
                class_ids.get(habit.other_class),
            )
            key = pattern_key(habit.kind, *ids)
            pattern = existing.pop(key, None) or Pattern(
                project=project, key=key, kind=habit.kind, labeler_id=ids[0],
                label_class_id=ids[1], other_class_id=ids[2],
            )  # fmt: skip
            _measure(pattern, habit)
            pattern.found, pattern.computed_at = True, now
            pattern.example_flag_ids = pattern_examples(pattern)
            pattern.save()
            kept.append(pattern)
        for pattern in existing.values():
            if pattern.status == Pattern.Status.OPEN:
                pattern.delete()  # noise that no longer shows, with nothing decided on it
            else:
                pattern.found, pattern.computed_at = False, now
                pattern.save(update_fields=["found", "computed_at"])
                kept.append(pattern)
        for pattern in kept:
            if pattern.decided_at is not None:
                coaching_refresh(pattern=pattern, class_names=class_ids)
    return kept


def _measure(pattern: Pattern, habit: Habit) -> None:
    pattern.strength = habit.strength
    pattern.ci_low, pattern.ci_high = habit.ci
    pattern.support = habit.support
    pattern.size = habit.size[:500]


def coaching_refresh(*, pattern: Pattern, class_names: dict | None = None) -> Pattern:
    """The habit's strength on the label sets submitted after the decision (the labeler's own;
    for a project-level habit, everybody's): the evidence of those images only, folded."""
    submitted = Annotation.objects.filter(
        image__project_id=pattern.project_id,
        kind=Annotation.Kind.LABEL,
        status=Annotation.Status.SUBMITTED,
        submitted_at__gt=pattern.decided_at,
    )
    if pattern.labeler_id is not None:
        submitted = submitted.filter(labeler_id=pattern.labeler_id)
    folded = evidence_fold(project=pattern.project, image_ids=submitted.values("image_id"))
    if class_names is None:
        class_names = {n: pk for pk, n in pattern.project.classes.values_list("pk", "name")}
    names = {pk: n for n, pk in class_names.items()}
    after = habit_strength(
        folded,
        kind=pattern.kind,
        labeler=pattern.labeler_id,
        label_class=names.get(pattern.label_class_id),
        other_class=names.get(pattern.other_class_id),
    )
    if after is None:
        pattern.after_strength = pattern.after_ci_low = pattern.after_ci_high = None
        pattern.after_support = 0
    else:
        pattern.after_strength = after.strength
        pattern.after_ci_low, pattern.after_ci_high = after.ci
        pattern.after_support = after.support
    pattern.save(update_fields=["after_strength", "after_ci_low", "after_ci_high", "after_support"])
    return pattern


def pattern_selections(pattern: Pattern) -> list[dict]:
    """The flag-list filters that select the habit's flags (one per class for an ambiguity)."""
    kind = FLAG_OF_HABIT[pattern.kind]
    if pattern.labeler_id is None:
        classes = [c for c in (pattern.label_class_id, pattern.other_class_id) if c is not None]
        return [{"kind": kind, "label_class": c} for c in classes]
    return [{"kind": kind, "labeler": pattern.labeler_id, "label_class": pattern.label_class_id}]


def pattern_flags(*, pattern: Pattern):
    """The habit's flags (any status but superseded), as the flag list's filters select them."""
    query = Q()
    for filters in pattern_selections(pattern):
        query |= Q(pk__in=flags_filtered(project=pattern.project, filters=filters).values("pk"))
    return Flag.objects.filter(query).order_by("image_id", "id")


def pattern_examples(pattern: Pattern, limit: int = EXAMPLES) -> list[int]:
    """Up to ``limit`` of the habit's flags, open ones first, on as many images as possible."""
    flags = pattern_flags(pattern=pattern)
    open_first = list(flags.filter(status=Flag.Status.OPEN).values_list("pk", "image_id")[:50])
    if len(open_first) < limit:
        open_first += list(
            flags.exclude(status=Flag.Status.OPEN).values_list("pk", "image_id")[:50]
        )
    picked, images = [], set()
    for pk, image in open_first:  # one per image first, then the rest
        if image not in images and len(picked) < limit:
            picked.append(pk)
            images.add(image)
    for pk, _ in open_first:
        if len(picked) >= limit:
            break
        if pk not in picked:
            picked.append(pk)
    return picked
