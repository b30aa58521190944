"""The lead's image browser: a page of a project's images with their state, agreement and open
flags (filtered, sorted), what deleting one would remove, and deleting it.

An image's state comes from its stored label-set count (kept by triggers, indexed with the
project): untouched with none; complete with labelers_per_image of them and no draft among
them; in progress otherwise. Drafts are few at any time, so "no draft" is a cheap anti-join.
Agreement and open flags are the stored ImageAgreement row (one join, no per-image query).
"""

import logging

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from annotations.models import Annotation, Box
from projects.models import Image, Project
from projects.thumbnails import thumbnail_delete
from quality.enqueue import project_figures_stale
from quality.models import ConsensusBox, Flag, ImageAgreement
from quality.services.summary import flag_counts_move

log = logging.getLogger(__name__)

STATES = {
    "untouched": "Untouched",
    "in_progress": "In progress",
    "complete": "Complete",
}
AGREEMENT_FILTERS = {
    "low": ("Below 0.5", Q(agreement__score__lt=0.5)),
    "mid": ("0.5 to 0.8", Q(agreement__score__gte=0.5, agreement__score__lt=0.8)),
    "high": ("0.8 and above", Q(agreement__score__gte=0.8)),
    "none": ("Not assessed", Q(agreement__isnull=True)),
}
FLAG_FILTERS = {
    "open": ("With open flags", Q(agreement__open_flag_count__gt=0)),
    "none": ("No open flags", Q(agreement__isnull=True) | Q(agreement__open_flag_count=0)),
}
# (label, ordering, assessed images only). Sorts by agreement list assessed images only, in
# the order of an index on the stored agreement (quality migration 0004), so a page of 100,000
# images is a short index walk, not a sort of the whole project.
SORTS = {
    "upload": ("Upload order", ["id"], False),
    "name": ("File name", ["original_name", "id"], False),
    "worst": ("Lowest agreement first", ["agreement__score", "agreement__image_id"], True),
    "best": ("Highest agreement first", ["-agreement__score", "-agreement__image_id"], True),
    "flags": (
        "Most open flags first",
        [F("agreement__open_flag_count").desc(), "agreement__image_id"],
        True,
    ),
}


def _drafts():
    return Annotation.objects.filter(
        image=OuterRef("pk"), kind=Annotation.Kind.LABEL, status=Annotation.Status.DRAFT
    )


def _with_drafts():
    """Images with a labeler's draft: few at any time, read once (a hashed subplan) through the
    drafts' partial index rather than probed image by image."""
    return Q(
        pk__in=Annotation.objects.filter(
            kind=Annotation.Kind.LABEL, status=Annotation.Status.DRAFT
        ).values("image_id")
    )


def images_browse(*, project: Project, filters: dict) -> QuerySet[Image]:
    """The project's images as the browser lists them: filtered by ``state``, ``agreement``,
    ``flags`` and a file-name fragment ``q``, ordered by ``sort``. Unknown values are ignored
    (the form only offers known ones). Rows carry ``has_draft`` and ``agreement`` (or None)."""
    needed = project.labelers_per_image
    images = (
        Image.objects.filter(project=project)
        .select_related("agreement")
        .annotate(has_draft=Exists(_drafts()))
        .only(
            "id",
            "project_id",
            "original_name",
            "width",
            "height",
            "label_set_count",
            "agreement__score",
            "agreement__open_flag_count",
            "agreement__image_id",
        )
    )
    state = filters.get("state")
    if state == "untouched":
        images = images.filter(label_set_count=0)
    elif state == "complete":
        images = images.filter(label_set_count__gte=needed).exclude(_with_drafts())
    elif state == "in_progress":
        images = images.filter(
            Q(label_set_count__gt=0, label_set_count__lt=needed)
            | Q(label_set_count__gte=needed) & _with_drafts()
        )
    if filters.get("agreement") in AGREEMENT_FILTERS:
        images = images.filter(AGREEMENT_FILTERS[filters["agreement"]][1])
    if filters.get("flags") in FLAG_FILTERS:
        images = images.filter(FLAG_FILTERS[filters["flags"]][1])
    if filters.get("q"):
        images = images.filter(original_name__icontains=filters["q"].strip())
    _, order, assessed_only = SORTS.get(filters.get("sort"), SORTS["upload"])
    if assessed_only:
        images = images.filter(agreement__isnull=False)
    return images.order_by(*order)


def image_state(image: Image, project: Project) -> str:
    """untouched / in_progress / complete, for a row of images_browse."""
    if image.label_set_count == 0:
        return "untouched"
    if image.label_set_count >= project.labelers_per_image and not image.has_draft:
        return "complete"
    return "in_progress"


def image_delete_effects(*, image: Image) -> dict:
    """What deleting the image removes, counted: label sets (drafts and the lead's final
    labels included), boxes, flags (also near-duplicate ones that name it as the other image),
    consensus boxes, and whether it has a stored agreement."""

    sets = Annotation.objects.filter(image=image).aggregate(
        label_sets=Count("pk", filter=Q(kind=Annotation.Kind.LABEL)),
        drafts=Count("pk", filter=Q(kind=Annotation.Kind.LABEL, status=Annotation.Status.DRAFT)),
        adjudications=Count("pk", filter=Q(kind=Annotation.Kind.ADJUDICATION)),
    )
    flags = Flag.objects.filter(Q(image=image) | Q(other_image=image)).aggregate(
        flags=Count("pk"),
        open_flags=Count("pk", filter=Q(status=Flag.Status.OPEN)),
        settled_flags=Count(
            "pk", filter=Q(status__in=[Flag.Status.RESOLVED, Flag.Status.DISMISSED])
        ),
    )
    return {
        **sets,
        "boxes": Box.objects.filter(annotation__image=image).count(),
        **flags,
        "consensus_boxes": ConsensusBox.objects.filter(image=image).count(),
        "assessed": ImageAgreement.objects.filter(image=image).exists(),
    }


@transaction.atomic
def image_delete(*, image: Image) -> dict:
    """Delete the image with its label sets, boxes, flags, consensus and agreement; its file
    and thumbnail leave storage once the deletion commits. Returns image_delete_effects."""

    image = Image.objects.select_for_update().get(pk=image.pk)
    effects = image_delete_effects(image=image)
    flags = Flag.objects.filter(Q(image=image) | Q(other_image=image))
    # Deleted flags leave the stored counts as a superseded flag does (no longer live).
    moves = [
        (kind, label_class, status, Flag.Status.SUPERSEDED)
        for kind, label_class, status in flags.values_list("kind", "label_class", "status")
    ]
    flag_counts_move(project_id=image.project_id, moves=moves)
    name, project_id, sha256 = image.file.name, image.project_id, image.sha256
    storage = image.file.storage
    image.delete()
    transaction.on_commit(lambda: _files_delete(storage, name, project_id, sha256), robust=True)
    project_figures_stale(project_id=project_id)
    return effects


def _files_delete(storage, name: str, project_id: int, sha256: str) -> None:
    if Image.objects.filter(project_id=project_id, sha256=sha256).exists():
        return  # uploaded again meanwhile: the same bytes are stored under the same name
    try:
        storage.delete(name)
    except OSError:
        log.warning("could not remove %s from storage", name)
    thumbnail_delete(project_id=project_id, sha256=sha256)
