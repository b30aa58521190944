"""The lead's adjudication: the image's final label set, which exports prefer to the consensus.

``adjudications_save`` stores it for many images in a bounded number of queries (a bulk
decision on the flag queue); ``adjudication_save`` is the same for one image.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotations.boxes import BoxesInvalid, CleanBox, box_dict, boxes_clean
from annotations.models import Annotation, Box
from annotations.services import box_rows
from projects.instructions import instructions_current
from projects.models import Image
from quality.dbcopy import BULK_BATCH
from quality.models import ConsensusBox


def adjudication_save(*, image: Image, lead, boxes: Iterable[dict]) -> Annotation:
    """Store `boxes` as the lead's label set for the image, replacing any earlier adjudication.

    Boxes are dicts with x, y, width, height (pixels) and label_class (an id of the image's
    project). They are clipped to the image; a box with no area left is refused.
    """
    saved, refused = adjudications_save(lead=lead, boxes_by_image={image: boxes})
    if refused:
        raise ValidationError(refused[image.pk])
    return saved[image.pk]


@transaction.atomic
def adjudications_save(
    *, lead, boxes_by_image: dict[Image, Iterable[dict]]
) -> tuple[dict[int, Annotation], dict[int, str]]:
    """adjudication_save for many images of one project in a bounded number of queries:
    (annotations saved by image id, why each refused image was refused). A refused image
    changes nothing; the others are saved."""
    images = list(boxes_by_image)
    if not images:
        return {}, {}
    project = images[0].project
    class_ids = list(project.classes.values_list("id", flat=True))
    refused, cleaned = {}, {}
    for image in images:
        try:
            cleaned[image.pk] = _clean_boxes(
                image=image, boxes=boxes_by_image[image], class_ids=class_ids
            )
        except ValidationError as error:
            refused[image.pk] = " ".join(error.messages)
    existing = {
        a.image_id: a
        for a in Annotation.objects.select_for_update().filter(
            image_id__in=list(cleaned), kind=Annotation.Kind.ADJUDICATION
        )
    }
    labeled = set(
        Annotation.objects.filter(image_id__in=[i for i in cleaned if i not in existing])
        .filter(labeler=lead)
        .values_list("image_id", flat=True)
    )
    for image_id in labeled:
        refused[image_id] = (
            f"{lead.username} labeled this image as a labeler, so cannot also adjudicate it; "
            "ask another lead."
        )
        del cleaned[image_id]
    now = timezone.now()
    version = instructions_current(project=project)
    saved = {i: existing.get(i) for i in cleaned}
    for image in images:
        if image.pk in saved and saved[image.pk] is None:
            saved[image.pk] = Annotation(image=image, kind=Annotation.Kind.ADJUDICATION)
    for annotation in saved.values():
        annotation.labeler = lead
        annotation.status = Annotation.Status.SUBMITTED
        annotation.submitted_at = now
        annotation.instruction_version = version
        annotation.updated_at = now  # bulk_update leaves auto_now fields alone
    Annotation.objects.bulk_create([a for a in saved.values() if a.pk is None])
    Annotation.objects.bulk_update(
        [existing[i] for i in saved if i in existing],
        ["labeler", "status", "submitted_at", "instruction_version", "updated_at"],
        batch_size=BULK_BATCH,
    )
    Box.objects.filter(annotation__in=[a.pk for a in saved.values()]).delete()
    Box.objects.bulk_create(
        [row for i, boxes in cleaned.items() for row in box_rows(saved[i], boxes)],
        batch_size=BULK_BATCH,
    )
    return saved, refused


CLASS_TIE = (
    "The labelers tie on the class of an object, so the consensus has no class for it. "
    "Accept one labeler's version or adjudicate instead."
)


def consensus_boxes(*, image: Image) -> list[dict]:
    """The image's consensus boxes as adjudication input; a class tie must be settled first."""
    boxes = images_consensus_boxes(image_ids=[image.pk])
    if boxes.get(image.pk) is None:
        raise ValidationError(CLASS_TIE)
    return boxes[image.pk]


def images_consensus_boxes(*, image_ids: list[int]) -> dict[int, list[dict] | None]:
    """consensus_boxes of many images in one query; None for an image with a class tie."""
    out: dict[int, list[dict] | None] = {i: [] for i in image_ids}
    rows = ConsensusBox.objects.filter(image_id__in=image_ids).order_by("image_id", "index")
    for r in rows:
        if r.label_class_id is None:
            out[r.image_id] = None
        if out[r.image_id] is not None:
            out[r.image_id].append(box_dict(r))
    return out


def labeler_boxes(*, image: Image, labeler) -> list[dict]:
    annotation = (
        Annotation.objects.filter(
            image=image,
            labeler=labeler,
            kind=Annotation.Kind.LABEL,
            status=Annotation.Status.SUBMITTED,
        )
        .prefetch_related("boxes")
        .first()
    )
    if annotation is None:
        raise ValidationError(f"{labeler.username} has no submitted labels on this image.")
    return [box_dict(box) for box in annotation.boxes.all()]


def _clean_boxes(*, image: Image, boxes: Iterable[dict], class_ids: list[int]) -> list[CleanBox]:
    """The lead's boxes checked and clipped as a labeler's are (annotations.boxes)."""
    try:
        return boxes_clean(
            list(boxes), image_width=image.width, image_height=image.height, class_ids=class_ids
        )
    except BoxesInvalid as error:
        raise ValidationError(error.message) from None
