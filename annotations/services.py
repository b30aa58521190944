"""Services that write labels: the queue hands out images, drafts autosave, labelers submit.

The queue rules (issue 5): never an image the labeler already labeled; never more than the
project's labelers_per_image label sets per image, drafts in progress included; partly labeled
images first so they complete; a draft untouched for QUEUE_DRAFT_TIMEOUT_MINUTES goes back to the
pool; a labeler with an open draft gets that draft back first.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotations.boxes import CleanBox, boxes_clean
from annotations.models import Annotation, Box
from gold import queue as gold_queue
from gold.models import GoldImage
from gold.scoring import GoldAnswerFrozen
from gold.triggers import gold_answer_changed
from projects.instructions import instructions_current
from projects.models import (
    Image,
    InstructionVersion,
    Membership,
    Project,
)
from quality import enqueue

QUEUE_CANDIDATES = 50  # images considered per attempt; the rest wait for the next call
QUEUE_BUSY_RETRIES = 12  # attempts while every candidate is locked by other labelers' requests


# No one spends more than a day of active time on one image; a larger figure is a broken client.
ACTIVE_SECONDS_MAX = 24 * 60 * 60


class InstructionsNotAcknowledged(Exception):
    def __init__(self, version, *, before: str = "you take an image"):
        super().__init__(
            f"Read and acknowledge version {version.number} of the instructions "
            f"(on the project page) before {before}."
        )
        self.version = version


class AnnotationLocked(Exception):
    """A submitted annotation whose grace period for changes is over."""

    def __init__(self, annotation: Annotation, message: str | None = None):
        minutes = settings.LABEL_EDIT_GRACE_MINUTES
        super().__init__(
            message
            or f"This image was submitted more than {minutes} minute{'s' if minutes != 1 else ''} "
            "ago, so its labels can no longer be changed. Your boxes on it are kept as they were."
        )
        self.annotation = annotation


class QueueBusy(Exception):
    """Every candidate image was locked by concurrent requests; the caller may retry."""


def draft_cutoff():
    """Drafts last saved before this moment are abandoned: their slot goes back to the pool."""
    return timezone.now() - timedelta(minutes=settings.QUEUE_DRAFT_TIMEOUT_MINUTES)


def annotation_editable_until(annotation: Annotation):
    """When a submitted annotation stops accepting changes; None while it is a draft."""
    if annotation.status != Annotation.Status.SUBMITTED:
        return None
    return annotation.submitted_at + timedelta(minutes=settings.LABEL_EDIT_GRACE_MINUTES)


def annotation_is_editable(annotation: Annotation) -> bool:
    until = annotation_editable_until(annotation)
    return until is None or timezone.now() < until


def queue_next(*, project: Project, labeler) -> Annotation | None:
    """The labeler's next annotation (their open draft first), or None when nothing is left.

    Raises InstructionsNotAcknowledged when the current instructions are not acknowledged,
    gold.queue.LabelerPaused when the gold checks paused the labeler, and QueueBusy if
    candidate images stayed locked by concurrent requests through every retry.
    Each attempt is one short transaction that only ever skips locked images (never waits on
    them), so concurrent requests cannot deadlock; "nothing left" is only answered when no
    candidate was skipped.
    """
    gold = gold_queue.gold_gate(project=project, labeler=labeler)
    for attempt in range(QUEUE_BUSY_RETRIES):
        try:
            return queue_next_attempt(project=project, labeler=labeler, gold=gold)
        except QueueBusy:
            time.sleep(0.01 * (attempt + 1))
    return queue_next_attempt(project=project, labeler=labeler, gold=gold)


@transaction.atomic
def queue_next_attempt(
    *, project: Project, labeler, gold: gold_queue.Gate | None = None
) -> Annotation | None:
    instructions = _instructions_acknowledged(project=project, labeler=labeler)
    # One queue request per labeler at a time: a double click must not open two drafts.
    Membership.objects.select_for_update().filter(project=project, user=labeler).first()

    draft = (
        Annotation.objects.filter(
            image__project=project,
            labeler=labeler,
            kind__in=Annotation.LABELER_KINDS,
            status=Annotation.Status.DRAFT,
        )
        .select_related("image")
        .order_by("started_at", "id")
        .first()
    )
    if draft is not None:
        draft.save(update_fields=["updated_at"])  # resumed: no longer abandoned
        return draft

    cutoff = draft_cutoff()
    candidate_ids = _queue_candidates(project=project, labeler=labeler, cutoff=cutoff)
    if gold is not None:
        annotation = gold_queue.gold_open(
            gate=gold, regular_left=candidate_ids, instructions=instructions
        )
        if annotation is not None or gold.qualifying:
            return annotation  # a gold image; or none left for a labeler still qualifying
    busy = False
    for image_id in candidate_ids:
        image = Image.objects.select_for_update(skip_locked=True).filter(pk=image_id).first()
        if image is None:
            busy = True
            continue
        annotation = _annotation_open(
            image=image, project=project, labeler=labeler, cutoff=cutoff, instructions=instructions
        )
        if annotation is not None:
            return annotation
    if busy:
        raise QueueBusy()
    return None


GOLD_IMAGES = GoldImage._meta.db_table
QUEUE_CANDIDATES_SQL = f"""
SELECT image_id FROM (
    SELECT image_id, 0 AS part, 0 AS sets FROM (
        SELECT DISTINCT draft.image_id FROM annotations_annotation AS draft
        JOIN projects_image AS image ON image.id = draft.image_id
        WHERE draft.kind = 'label' AND draft.status = 'draft' AND draft.updated_at < %(cutoff)s
            AND image.project_id = %(project)s AND image.label_set_count >= %(needed)s
            AND NOT EXISTS (SELECT 1 FROM annotations_annotation AS mine
                            WHERE mine.image_id = draft.image_id AND mine.labeler_id = %(labeler)s)
            AND NOT EXISTS (SELECT 1 FROM {GOLD_IMAGES} AS gold WHERE gold.image_id = draft.image_id)
        ORDER BY draft.image_id LIMIT %(limit)s
    ) AS abandoned
    UNION ALL
    SELECT image_id, 1 AS part, sets FROM (
        SELECT image.id AS image_id, image.label_set_count AS sets FROM projects_image AS image
        WHERE image.project_id = %(project)s AND image.label_set_count < %(needed)s
            AND NOT EXISTS (SELECT 1 FROM annotations_annotation AS mine
                            WHERE mine.image_id = image.id AND mine.labeler_id = %(labeler)s)
            AND NOT EXISTS (SELECT 1 FROM {GOLD_IMAGES} AS gold WHERE gold.image_id = image.id)
        ORDER BY image.label_set_count DESC, image.id LIMIT %(limit)s
    ) AS free
) AS candidates
ORDER BY part, sets DESC, image_id
"""


def _queue_candidates(*, project: Project, labeler, cutoff) -> list[int]:
    """Up to QUEUE_CANDIDATES images with a free slot the labeler never touched, in queue order.

    Queue order: full images holding an abandoned draft first (its slot is the last one free),
    then partly labeled images (most label sets first), then untouched ones, each by id. All come
    from Image.label_set_count, which triggers keep (annotations migration 0003): every image
    below labelers_per_image has a free slot, and the image_queue_order index walks them in queue
    order, so the query reads about as many rows as it returns whatever the size of the project
    (grouping every live label set of the project took 0.2 s on 100,000 images). An image at
    labelers_per_image has a free slot only if one of its drafts is abandoned; drafts are few,
    and the partial index on their age finds those. One raw statement: the queue runs on every
    labeler's every image, and the ORM spent more time composing these two queries than the
    database running them. _annotation_open checks the slot under the image's lock. Gold images
    are never candidates: gold.queue serves them, to every labeler once.
    """
    params = {
        "cutoff": connection.ops.adapt_datetimefield_value(cutoff),
        "project": project.pk,
        "labeler": labeler.pk,
        "needed": project.labelers_per_image,
        "limit": QUEUE_CANDIDATES,
    }
    with connection.cursor() as cursor:
        cursor.execute(QUEUE_CANDIDATES_SQL, params)
        ids = [image_id for (image_id,) in cursor.fetchall()]
    return ids[:QUEUE_CANDIDATES]  # the two parts are disjoint: full images, then the others


def _instructions_acknowledged(*, project: Project, labeler) -> InstructionVersion | None:
    """The instructions in force (None if the project has none), acknowledged by the labeler.

    Raises InstructionsNotAcknowledged otherwise: the rule of instructions_pending_for, returning
    the version too (the new draft records it), in the one query the queue asks on every request.
    """
    current = instructions_current(project=project, reader=labeler)
    if current is not None and not current.acknowledged:
        raise InstructionsNotAcknowledged(current)
    return current


def _annotation_open(
    *, image: Image, project: Project, labeler, cutoff, instructions
) -> Annotation | None:
    """Open a draft on this image if it still has a free slot. Call with the image row locked.

    A label set of the labeler's own on the image (the candidates exclude them; an adjudication
    made meanwhile) fails the unique (image, labeler) constraint: no draft either. The locked row's
    label_set_count is current; below labelers_per_image a slot is free. At it, only abandoned
    drafts can free one: they are deleted to make room.
    """
    if image.label_set_count >= project.labelers_per_image:
        sets = Annotation.objects.filter(image=image, kind=Annotation.Kind.LABEL)
        abandoned, live = [], 0
        for pk, status, updated_at in sets.values_list("pk", "status", "updated_at"):
            if status == Annotation.Status.DRAFT and updated_at < cutoff:
                abandoned.append(pk)
            else:
                live += 1
        if live >= project.labelers_per_image:
            return None
        Annotation.objects.filter(pk__in=abandoned).delete()
    try:
        with transaction.atomic():
            annotation = Annotation.objects.create(
                image=image,
                labeler=labeler,
                kind=Annotation.Kind.LABEL,
                instruction_version=instructions,
            )
    except IntegrityError:
        return None
    annotation.image = image
    return annotation


@transaction.atomic
def annotation_boxes_replace(
    *, annotation: Annotation, boxes, active_seconds: float | None = None
) -> Annotation:
    """Replace the annotation's boxes with the given ones (autosave), all or nothing.

    Raises annotations.boxes.BoxesInvalid, naming the box and the reason, before anything is
    written. Editing a submitted annotation keeps it submitted and re-triggers its assessment;
    once LABEL_EDIT_GRACE_MINUTES have passed since its submission, AnnotationLocked is raised.
    """
    annotation = _locked(annotation)
    if not annotation_is_editable(annotation):
        raise AnnotationLocked(annotation)
    image = annotation.image
    clean = boxes_clean(
        boxes,
        image_width=image.width,
        image_height=image.height,
        class_ids=image.project.classes.values_list("pk", flat=True),
    )
    annotation.boxes.all().delete()
    Box.objects.bulk_create(box_rows(annotation, clean))
    _active_seconds_set(annotation, active_seconds)
    annotation.save(update_fields=["updated_at", "active_seconds"])
    if annotation.status == Annotation.Status.SUBMITTED:
        _labels_changed(annotation)
    return annotation


@transaction.atomic
def annotation_submit(*, annotation: Annotation, active_seconds: float | None = None) -> Annotation:
    """Submit the labeler's annotation; submitting again changes nothing (idempotent).

    Raises InstructionsNotAcknowledged if instructions newer than the draft's were published and
    the labeler has not acknowledged them: the label set is recorded under the current version,
    so the labeler must have read it. The draft stays as it is.
    """
    annotation = _locked(annotation)
    _active_seconds_set(annotation, active_seconds)
    if annotation.status == Annotation.Status.SUBMITTED:
        annotation.save(update_fields=["active_seconds"])
        return annotation
    try:
        current = _instructions_acknowledged(
            project=annotation.image.project, labeler=annotation.labeler_id
        )
    except InstructionsNotAcknowledged as exc:
        raise InstructionsNotAcknowledged(
            exc.version, before="you submit this image; your boxes are saved"
        ) from None
    annotation.status = Annotation.Status.SUBMITTED
    annotation.submitted_at = timezone.now()
    annotation.instruction_version = current or annotation.instruction_version
    annotation.save(
        update_fields=[
            "status",
            "submitted_at",
            "instruction_version",
            "active_seconds",
            "updated_at",
        ]
    )
    _labels_changed(annotation)
    return annotation


def _labels_changed(annotation: Annotation) -> None:
    """A submitted label set changed: the agreement pipeline looks at the image again; an
    answer on a gold image is scored against the gold instead (gold.triggers; it counts
    nowhere else)."""
    if annotation.kind != Annotation.Kind.GOLD:
        enqueue.image_labels_changed(image_id=annotation.image_id)
        return
    try:
        gold_answer_changed(annotation=annotation)
    except GoldAnswerFrozen:
        raise AnnotationLocked(
            annotation,
            "You have seen the reference boxes of this image, so your boxes on it can no longer "
            "be changed. They are kept as you submitted them.",
        ) from None


def _locked(annotation: Annotation) -> Annotation:
    return (
        Annotation.objects.select_for_update(of=("self",))
        .select_related("image__project", "instruction_version")
        .get(pk=annotation.pk)
    )


def _active_seconds_set(annotation: Annotation, active_seconds: float | None) -> None:
    # The page sends its running total; out-of-order saves must never turn time back.
    if active_seconds is not None:
        seconds = max(annotation.active_seconds, float(active_seconds))
        annotation.active_seconds = min(seconds, ACTIVE_SECONDS_MAX)


def box_rows(annotation: Annotation, clean: list[CleanBox]) -> list[Box]:
    """Unsaved Box rows of the annotation for checked boxes (annotations.boxes.boxes_clean)."""
    return [
        Box(
            annotation=annotation,
            label_class_id=box.label_class_id,
            x=box.x,
            y=box.y,
            width=box.width,
            height=box.height,
        )
        for box in clean
    ]
