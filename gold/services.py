"""Writes of the gold checks: the lead makes an image gold (from an adjudication, the consensus,
given boxes or an import), retires it, resumes a paused labeler, sets the project's gold policy."""

from __future__ import annotations

import math

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotations.boxes import CleanBox, boxes_clean
from annotations.models import Annotation, Box
from gold.models import GoldBox, GoldImage, GoldPolicy, LabelerGold
from gold.scoring import answers_score
from gold.selectors import submitted_gold_answers
from gold.standing import standing_refresh
from projects.instructions import instructions_current
from projects.models import Image, Project
from quality.engine.geometry import iou_matrix_xywh
from quality.models import ConsensusBox, ImageAgreement

Source = GoldImage.Source


class GoldInvalid(ValueError):
    """The request cannot be carried out; ``message`` says why and what to do instead."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@transaction.atomic
def gold_image_save(
    *,
    project: Project,
    image: Image,
    user,
    source: str,
    boxes=None,
    active: bool | None = None,
) -> GoldImage:
    """Make the image gold with its true boxes, or give a gold image new boxes.

    ``source``: "adjudication" (the lead's adjudicated boxes), "consensus" (the labelers'
    consensus; refused while an object's class is a tie), "boxes" (``boxes`` as the labeling
    API takes them) or "import" (``boxes`` read from a label file: imports.gold). New boxes raise the gold's version, record the instructions in force and
    re-score every submitted answer on it. ``active`` False stops serving it (answers stay).
    """
    if image.project_id != project.pk:
        raise GoldInvalid(f"Image {image.pk} is not in this project.")
    clean = _gold_boxes(project=project, image=image, source=source, boxes=boxes)
    _check_no_duplicates(clean, project.match_iou)
    gold = GoldImage.objects.select_for_update().filter(image=image).first()
    instructions = instructions_current(project=project)
    if gold is None:
        gold = GoldImage.objects.create(
            project=project,
            image=image,
            source=source,
            instruction_version=instructions,
            active=True if active is None else active,
            created_by=user,
        )
        _boxes_store(gold, clean)
        return gold
    changed = _stored(gold) != sorted(_key(b) for b in clean)
    if changed:
        gold.version += 1
        gold.instruction_version = instructions
        gold.boxes.all().delete()
        _boxes_store(gold, clean)
    gold.source = source
    if active is not None:
        gold.active = active
    gold.save()
    if changed:
        gold_answers_rescore(gold=gold)
    return gold


@transaction.atomic
def gold_image_activate(*, gold: GoldImage, active: bool) -> GoldImage:
    gold.active = active
    gold.save(update_fields=["active", "updated_at"])
    return gold


def gold_answers_rescore(*, gold: GoldImage) -> None:
    """Score the gold image's submitted answers again (its boxes changed) and apply the rules
    to their labelers. Answers whose feedback was shown are re-scored too: gold corrections
    apply to everyone."""
    answers = submitted_gold_answers(gold=gold)
    answers_score(gold=gold, annotations=answers)
    for labeler_id in sorted({a.labeler_id for a in answers}):
        standing_refresh(project=gold.project, labeler_id=labeler_id)


@transaction.atomic
def labeler_resume(*, project: Project, labeler, user) -> LabelerGold:
    """The lead lets a paused labeler continue; the pause rule then counts only the gold
    answers they submit from now on."""
    standing = (
        LabelerGold.objects.select_for_update().filter(project=project, labeler=labeler).first()
    )
    if standing is None or standing.state != LabelerGold.State.PAUSED:
        raise GoldInvalid(f"{labeler.username} is not paused.")
    now = timezone.now()
    if standing.reason == LabelerGold.Reason.QUALIFICATION:
        standing.qualified_at = now
    standing.state, standing.reason = LabelerGold.State.ACTIVE, ""
    standing.resumed_at, standing.resumed_by = now, user
    standing.save()
    return standing


POLICY_FIELDS = (
    "rate",
    "qualification_size",
    "qualify_threshold",
    "threshold",
    "min_images",
    "confidence",
    "feedback",
    "feedback_limit",
)


@transaction.atomic
def gold_policy_save(*, project: Project, **changes) -> GoldPolicy:
    """Save the project's gold policy. Raises GoldInvalid naming the first bad field."""
    policy = GoldPolicy.objects.select_for_update().filter(project=project).first()
    policy = policy or GoldPolicy(project=project)
    for field, value in changes.items():
        if field not in POLICY_FIELDS:
            raise GoldInvalid(f"Unknown gold setting {field!r}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise GoldInvalid(f"{field}: give a number.")
        setattr(policy, field, value)
    try:
        policy.full_clean(exclude=["project"])
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        raise GoldInvalid(f"{field}: {' '.join(errors)}") from None
    policy.save()
    return policy


# -- the gold boxes --------------------------------------------------------------------------


def _gold_boxes(*, project: Project, image: Image, source: str, boxes) -> list[CleanBox]:
    if source == Source.ADJUDICATION:
        rows = Box.objects.filter(
            annotation__image=image,
            annotation__kind=Annotation.Kind.ADJUDICATION,
            annotation__status=Annotation.Status.SUBMITTED,
        )
        if not Annotation.objects.filter(
            image=image,
            kind=Annotation.Kind.ADJUDICATION,
            status=Annotation.Status.SUBMITTED,
        ).exists():
            raise GoldInvalid(
                f"Image {image.pk} has no adjudication: adjudicate it on its review page first, "
                "or send its true boxes."
            )
        return [_clean(b.label_class_id, b) for b in rows.order_by("id")]
    if source == Source.CONSENSUS:
        if not ImageAgreement.objects.filter(image=image).exists():
            raise GoldInvalid(
                f"Image {image.pk} has no consensus yet: it needs all its label sets, assessed. "
                "Adjudicate it, or send its true boxes."
            )
        rows = list(ConsensusBox.objects.filter(image=image).order_by("index"))
        if any(r.label_class_id is None for r in rows):
            raise GoldInvalid(
                f"The labelers tied on the class of an object in image {image.pk}: adjudicate "
                "it, then make it gold from the adjudication."
            )
        return [_clean(r.label_class_id, r) for r in rows]
    if source in (Source.BOXES, Source.IMPORT):
        if boxes is None:
            raise GoldInvalid('Send the true boxes as "boxes", or a "source".')
        return boxes_clean(
            boxes,
            image_width=image.width,
            image_height=image.height,
            class_ids=project.classes.values_list("pk", flat=True),
        )
    raise GoldInvalid(f'Unknown source {source!r}: use "adjudication", "consensus" or "boxes".')


def _clean(class_id: int, row) -> CleanBox:
    return CleanBox(row.x, row.y, row.width, row.height, class_id)


def _check_no_duplicates(boxes: list[CleanBox], match_iou: float) -> None:
    """Two gold boxes that overlap at match_iou or more would read as one object boxed twice."""
    if len(boxes) < 2:
        return
    xywh = np.array([[b.x, b.y, b.width, b.height] for b in boxes], dtype=np.float64)
    iou = np.triu(iou_matrix_xywh(xywh, xywh), k=1)
    i, j = np.unravel_index(int(np.argmax(iou)), iou.shape)
    if iou[i, j] >= match_iou:
        raise GoldInvalid(
            f"Gold boxes {i + 1} and {j + 1} overlap at IoU {iou[i, j]:.2f} (the project "
            f"matches boxes from {match_iou}): they would count as one object boxed twice. "
            "Keep one of them."
        )


def _key(b) -> tuple:
    return (b.label_class_id, round(b.x, 3), round(b.y, 3), round(b.width, 3), round(b.height, 3))


def _stored(gold: GoldImage) -> list[tuple]:
    return sorted(_key(b) for b in gold.boxes.all())


def _boxes_store(gold: GoldImage, boxes: list[CleanBox]) -> None:
    GoldBox.objects.bulk_create(
        GoldBox(
            gold=gold, label_class_id=b.label_class_id, x=b.x, y=b.y, width=b.width, height=b.height
        )
        for b in boxes
    )
