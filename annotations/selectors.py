"""Reads for the labeling pages and API. Everything here is the caller's own work only."""

from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from annotations.boxes import box_dict
from annotations.models import Annotation
from gold.selectors import gold_remaining
from projects.models import Image, Project
from projects.permissions import Capability, has_capability, membership_role, role_remember


def submitted_label_sets_count():
    """Per image (annotate an Image queryset with it): how many labelers submitted, 0 if none."""
    per_image = (
        Annotation.objects.filter(
            image=OuterRef("pk"), kind=Annotation.Kind.LABEL, status=Annotation.Status.SUBMITTED
        )
        .order_by()
        .values("image")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_image, output_field=IntegerField()), 0)


def annotation_of_owner(*, annotation_id: int, user) -> Annotation:
    """The user's own label set, or Http404 — also for other labelers' and for leads.

    Labeling is blind: this is the only way the labeling API reaches an annotation, and it never
    reveals whether someone else's annotation exists. A labeler who left the project (no LABEL
    capability any more) cannot reach their old annotations either.
    """
    annotation = (
        Annotation.objects.filter(pk=annotation_id, labeler=user, kind__in=Annotation.LABELER_KINDS)
        .select_related("image__project")
        .annotate(labeler_role=membership_role(user, "image__project"))
        .first()
    )
    if annotation is not None:
        role_remember(user, annotation.image.project_id, annotation.labeler_role)
    if annotation is None or not has_capability(user, annotation.image.project, Capability.LABEL):
        raise Http404("No annotation of yours with this id.")
    return annotation


def annotation_boxes(*, annotation: Annotation) -> list[dict]:
    return [box_dict(box) for box in annotation.boxes.order_by("id")]


def my_work(*, project: Project, labeler) -> QuerySet[Annotation]:
    """The labeler's own annotations in the project, newest first, with their own box count."""
    return (
        Annotation.objects.filter(
            image__project=project, labeler=labeler, kind__in=Annotation.LABELER_KINDS
        )
        .select_related("image", "instruction_version")
        .annotate(box_count=Count("boxes"))
        .order_by(F("submitted_at").desc(nulls_first=True), "-updated_at", "-id")
    )


def my_work_totals(*, project: Project, labeler) -> dict:
    rows = Annotation.objects.filter(
        image__project=project,
        labeler=labeler,
        kind__in=Annotation.LABELER_KINDS,
        status=Annotation.Status.SUBMITTED,
    )
    seconds = sum(rows.values_list("active_seconds", flat=True))
    return {"submitted": rows.count(), "active_seconds": seconds}


QUEUE_REMAINING_CAP = 1000


def queue_remaining(*, project: Project, labeler) -> int:
    """About how many more images the queue can hand this labeler, counted up to the cap.

    Images with a free slot that the labeler has not labeled (their open draft not included),
    and the gold images the queue may still give them (gold.selectors.gold_remaining: taking a
    gold image lowers the count by one, as taking any other does). Others take slots
    meanwhile, so it is an estimate for "image 3 of 12"; counting stops at QUEUE_REMAINING_CAP
    so that the answer stays cheap on a project of 100,000 images.
    """
    mine = Annotation.objects.filter(image=OuterRef("pk"), labeler=labeler)
    free = Image.objects.filter(
        project=project, label_set_count__lt=project.labelers_per_image, gold__isnull=True
    ).exclude(Exists(mine))
    regular = free.order_by()[:QUEUE_REMAINING_CAP].count()
    if regular == 0:
        return 0  # gold comes only between other images
    return min(regular + gold_remaining(project=project, labeler=labeler), QUEUE_REMAINING_CAP)
