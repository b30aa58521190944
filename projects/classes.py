"""Services for a project's label classes beyond saving one (projects.services.label_class_save):
delete, merge into another class, reorder, and what the new-class form suggests.

A class that boxes use cannot simply go: the boxes would lose their class. It is either kept or
merged into another class, which moves its boxes (labelers', adjudications', consensus) and
sends the images concerned back to the agreement pipeline.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from annotations.models import Annotation, Box
from projects.models import LabelClass, Project
from projects.palette import RESERVED_KEYS, class_color_unused, hotkey_free
from quality.enqueue import images_relabeled
from quality.models import ConsensusBox, Flag

HOTKEY_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def label_class_suggestion(*, project: Project) -> dict:
    """An unused palette colour and the next free hotkey (a digit, then a letter the labeling
    page does not keep for itself) for the project's next class."""
    used = list(project.classes.values_list("color", "hotkey"))
    hotkeys = {hotkey for _, hotkey in used}
    hotkey = hotkey_free(hotkeys) or next(
        (k for k in HOTKEY_LETTERS if k not in hotkeys and k not in RESERVED_KEYS), ""
    )
    return {"color": class_color_unused(color for color, _ in used), "hotkey": hotkey}


def label_class_usage(*, project: Project) -> dict[int, dict]:
    """Per class id: {"boxes", "images"} of the labelers' and leads' boxes, in one query."""
    rows = (
        Box.objects.filter(label_class__project=project)
        .values("label_class")
        .annotate(boxes=Count("pk"), images=Count("annotation__image", distinct=True))
        .order_by()
    )
    return {r["label_class"]: {"boxes": r["boxes"], "images": r["images"]} for r in rows}


@transaction.atomic
def label_class_delete(*, label_class: LabelClass) -> None:
    """Delete a class no box uses; otherwise refuse, saying how many boxes use it."""
    label_class = LabelClass.objects.select_for_update().get(pk=label_class.pk)
    used = Box.objects.filter(label_class=label_class).aggregate(
        boxes=Count("pk"), images=Count("annotation__image", distinct=True)
    )
    if used["boxes"]:
        raise ValidationError(
            f"{label_class.name} cannot be deleted: {used['boxes']} box"
            f"{'es' if used['boxes'] != 1 else ''} on {used['images']} image"
            f"{'s' if used['images'] != 1 else ''} use it. Merge it into another class instead "
            "(its boxes move there), or keep it."
        )
    label_class.delete()


@transaction.atomic
def label_class_merge(*, source: LabelClass, target: LabelClass) -> dict:
    """Move every box of ``source`` to ``target`` (same project), delete ``source``, and send
    the images whose labels changed to the agreement pipeline. Returns {"boxes", "images"}."""
    if source.project_id != target.project_id:
        raise ValidationError("Classes can only be merged within one project.")
    if source.pk == target.pk:
        raise ValidationError("Choose another class to merge into.")

    source, target = (
        LabelClass.objects.select_for_update().get(pk=pk) for pk in (source.pk, target.pk)
    )
    boxes = Box.objects.filter(label_class=source)
    annotation_ids = list(boxes.values_list("annotation_id", flat=True).distinct())
    image_ids = list(
        Annotation.objects.filter(pk__in=annotation_ids)
        .values_list("image_id", flat=True)
        .distinct()
    )
    moved = boxes.update(label_class=target)
    # The labels changed now: the stale-assessment sweep finds these images even if the
    # enqueued assessment is lost.
    Annotation.objects.filter(pk__in=annotation_ids).update(updated_at=timezone.now())
    ConsensusBox.objects.filter(label_class=source).update(label_class=target)
    Flag.objects.filter(label_class=source).update(label_class=target)
    source.delete()
    images_relabeled(project_id=target.project_id, image_ids=image_ids)
    return {"boxes": moved, "images": len(image_ids)}


@transaction.atomic
def label_class_move(*, label_class: LabelClass, step: int) -> None:
    """Move the class one place up (step -1) or down (+1) in the project's order."""
    ordered = list(LabelClass.objects.select_for_update().filter(project_id=label_class.project_id))
    index = next(i for i, c in enumerate(ordered) if c.pk == label_class.pk)
    other = index + (1 if step > 0 else -1)
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    for order, item in enumerate(ordered):
        item.order = order
    LabelClass.objects.bulk_update(ordered, ["order"])
