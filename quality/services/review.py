"""Services of the lead's review: settle a flag, store the lead's adjudicated labels.

A lead settles a flag in one of five ways (Flag.Resolution). Accepting the consensus or one
labeler's version, or drawing the final boxes, stores the image's adjudication: the lead's own
label set (Annotation kind=adjudication), which overrides the consensus in exports. "Instructions
unclear" publishes the next instruction version, with this case written up as a worked example,
and rests the flag on it; labelers acknowledge it before their next image.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotations.boxes import BoxesInvalid, CleanBox, box_dict, boxes_clean
from annotations.models import Annotation, Box
from annotations.services import box_rows
from projects.instructions import instructions_current
from projects.models import Image
from projects.services import instruction_version_publish
from quality.aliases import labeler_aliases, names_replaced
from quality.enqueue import project_figures_stale
from quality.models import ConsensusBox, Flag
from quality.selectors.feedback import WORKED_EXAMPLE_MARK
from quality.services.assessment import flag_message_renamed, image_open_flag_counts_refresh
from quality.services.summary import flag_counts_move

R = Flag.Resolution
RULE_PLACEHOLDER = (
    "_write the rule that settles this case (which class, how tight a box, one box or many) "
    "and why._"
)


# Decisions that set the image's final labels: every other flag on its labels follows them.
IMAGE_DECISIONS = (R.ACCEPT_CONSENSUS, R.ACCEPT_LABELER, R.ADJUDICATED)


@transaction.atomic
def flag_resolve(
    *,
    flag: Flag,
    user,
    resolution: str,
    note: str = "",
    accepted_labeler=None,
    boxes: Iterable[dict] | None = None,
    instructions_body: str = "",
    instructions_summary: str = "",
) -> Flag:
    """Settle a flag as the lead `user` decided; raise ValidationError with a reason otherwise.

    - accept_consensus: the consensus boxes become the image's adjudication.
    - accept_labeler: `accepted_labeler`'s submitted boxes become the adjudication.
    - adjudicated: `boxes` ([{x, y, width, height, label_class}]) become the adjudication.
    - dismissed: nothing changes in the labels; `note` says why.
    - instructions: publishes `instructions_body` as the next instruction version.

    The first three settle the whole image's labels, so the image's other open flags are
    resolved with the same decision and point to this flag (settled_by); so are flags an
    earlier decision on the image's labels settled, since these labels replace those.
    Near-duplicate conflicts are left alone: they are about another image too. The report's
    stored flag counts and the image's open flag count move in the same transaction.
    """
    flag = Flag.objects.select_for_update().select_related("image", "project").get(pk=flag.pk)
    if flag.status == Flag.Status.SUPERSEDED:
        raise ValidationError(
            "The labels of this image changed after this flag was raised; the flag is "
            "superseded. Review the image's current flags instead."
        )
    if resolution not in R.values:
        raise ValidationError(f"Unknown resolution {resolution!r}; use one of {', '.join(R)}.")
    note = (note or "").strip()
    version = instructions_current(project=flag.project)
    old_status = flag.status
    flag.accepted_labeler = None
    if resolution == R.ACCEPT_CONSENSUS:
        adjudication_save(image=flag.image, lead=user, boxes=consensus_boxes(image=flag.image))
    elif resolution == R.ACCEPT_LABELER:
        if accepted_labeler is None:
            raise ValidationError("Choose the labeler whose version you accept.")
        adjudication_save(
            image=flag.image,
            lead=user,
            boxes=labeler_boxes(image=flag.image, labeler=accepted_labeler),
        )
        flag.accepted_labeler = accepted_labeler
    elif resolution == R.ADJUDICATED:
        if boxes is None:
            raise ValidationError("Draw the final boxes before saving an adjudication.")
        adjudication_save(image=flag.image, lead=user, boxes=boxes)
    elif resolution == R.DISMISSED:
        if not note:
            raise ValidationError("Say why you dismiss this flag; the labelers will read it.")
    elif resolution == R.INSTRUCTIONS:
        if RULE_PLACEHOLDER in instructions_body:
            raise ValidationError(
                "Replace the placeholder under “The rule” with the rule that settles this case."
            )
        version = instruction_version_publish(
            project=flag.project,
            author=user,
            body=instructions_body,
            summary=instructions_summary or f"Clarified after flag #{flag.pk}: {flag.message}",
        )
    flag.status = Flag.Status.DISMISSED if resolution == R.DISMISSED else Flag.Status.RESOLVED
    flag.resolution = resolution
    flag.resolution_note = note
    flag.instruction_version = version
    flag.resolved_by = user
    flag.resolved_at = timezone.now()
    flag.settled_by = None
    flag.save()
    moves = [(flag.kind, flag.label_class_id, old_status, flag.status)]
    if resolution in IMAGE_DECISIONS:
        moves += _image_flags_follow(flag)
    flag_counts_move(project_id=flag.project_id, moves=moves)
    image_open_flag_counts_refresh(image_ids=[flag.image_id])
    # The counts above are current at once; agreement with the adjudications follows shortly.
    project_figures_stale(project_id=flag.project_id)
    return flag


def _image_flags_follow(decision: Flag) -> list[tuple]:
    """Resolve the image's other flags on its labels with `decision`; returns the count moves."""
    others = list(
        Flag.objects.select_for_update()
        .filter(image_id=decision.image_id)
        .exclude(pk=decision.pk)
        .exclude(kind=Flag.Kind.NEAR_DUPLICATE_CONFLICT)
        .filter(
            Q(status=Flag.Status.OPEN)
            | Q(status=Flag.Status.RESOLVED, resolution__in=IMAGE_DECISIONS)
        )
        .order_by("pk")
    )
    moves = []
    for other in others:
        moves.append((other.kind, other.label_class_id, other.status, Flag.Status.RESOLVED))
        other.status = Flag.Status.RESOLVED
        other.resolution = decision.resolution
        other.accepted_labeler = decision.accepted_labeler
        other.resolution_note = (
            f"Settled with flag #{decision.pk}, which decided the image's labels."
        )
        other.instruction_version = decision.instruction_version
        other.resolved_by = decision.resolved_by
        other.resolved_at = decision.resolved_at
        other.settled_by = decision
    Flag.objects.bulk_update(
        others,
        [
            "status",
            "resolution",
            "accepted_labeler",
            "resolution_note",
            "instruction_version",
            "resolved_by",
            "resolved_at",
            "settled_by",
        ],
    )
    return moves


@transaction.atomic
def adjudication_save(*, image: Image, lead, boxes: Iterable[dict]) -> Annotation:
    """Store `boxes` as the lead's label set for the image, replacing any earlier adjudication.

    Boxes are dicts with x, y, width, height (pixels) and label_class (an id of the image's
    project). They are clipped to the image; a box with no area left is refused.
    """
    cleaned = _clean_boxes(image=image, boxes=boxes)
    now = timezone.now()
    annotation = (
        Annotation.objects.select_for_update()
        .filter(image=image, kind=Annotation.Kind.ADJUDICATION)
        .first()
    )
    if annotation is None:
        if Annotation.objects.filter(image=image, labeler=lead).exists():
            raise ValidationError(
                f"{lead.username} labeled this image as a labeler, so cannot also adjudicate it; "
                "ask another lead."
            )
        annotation = Annotation(image=image, kind=Annotation.Kind.ADJUDICATION)
    annotation.labeler = lead
    annotation.status = Annotation.Status.SUBMITTED
    annotation.submitted_at = now
    annotation.instruction_version = instructions_current(project=image.project)
    annotation.save()
    annotation.boxes.all().delete()
    Box.objects.bulk_create(box_rows(annotation, cleaned))
    return annotation


def consensus_boxes(*, image: Image) -> list[dict]:
    """The image's consensus boxes as adjudication input; a class tie must be settled first."""
    rows = list(ConsensusBox.objects.filter(image=image).order_by("index"))
    if any(row.label_class_id is None for row in rows):
        raise ValidationError(
            "The labelers tie on the class of an object, so the consensus has no class for it. "
            "Accept one labeler's version or adjudicate instead."
        )
    return [box_dict(row) for row in rows]


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


def instructions_draft(*, flag: Flag) -> tuple[str, str]:
    """(body, summary) prefilled for "instructions unclear": the current instructions with
    this case appended as a worked example (what the labelers did, what the rule is).

    Instructions are read by every labeler: the sentence names labelers as "labeler A", "labeler
    B"... by who they are (flag_message_renamed), never by searching their names in text.
    """
    current = instructions_current(project=flag.project)
    body = current.body.rstrip() if current else ""
    aliases = labeler_aliases(image_ids=[flag.image_id])[flag.image_id]
    happened = flag_message_renamed(flag=flag, name=lambda username: aliases[username])
    if happened is None:  # not the engine's flag (any more): its stored sentence, names replaced
        happened = names_replaced(flag.message, aliases)
    subject = f" ({flag.label_class.name})" if flag.label_class else ""
    example = (
        f"\n\n## Worked example: {flag.get_kind_display().lower()}{subject}\n\n"
        f"{WORKED_EXAMPLE_MARK.format(id=flag.pk)}\n"
        f"**What happened** (image {flag.image.original_name}): "
        f"{happened.rstrip('.')}.\n\n"
        f"**The rule:** {RULE_PLACEHOLDER}\n"
    )
    summary = f"Worked example: {flag.get_kind_display().lower()}{subject}."
    return (body + example).lstrip(), summary


def _clean_boxes(*, image: Image, boxes: Iterable[dict]) -> list[CleanBox]:
    """The lead's boxes checked and clipped as a labeler's are (annotations.boxes)."""
    try:
        return boxes_clean(
            list(boxes),
            image_width=image.width,
            image_height=image.height,
            class_ids=image.project.classes.values_list("id", flat=True),
        )
    except BoxesInvalid as error:
        raise ValidationError(error.message) from None


LABELER_COLORS = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4",
    "#f032e6", "#9a6324", "#469990", "#800000", "#808000",
]  # fmt: skip


def review_data(*, flag: Flag) -> dict:
    """What the review page draws: every labeler's boxes, the consensus, the adjudication."""
    involved = set(flag.labelers.values_list("id", flat=True))
    return {
        "flag": {
            "id": flag.pk,
            "kind": flag.kind,
            "message": flag.message,
            "status": flag.status,
            "box_ids": list(flag.box_ids or []),
        },
        **image_labels_data(image=flag.image, involved=involved),
    }


def image_labels_data(*, image: Image, involved: set[int] = frozenset()) -> dict:
    """Every labeler's submitted boxes on the image, the consensus and the lead's final boxes,
    as static/js/box_layers.js draws them (for leads and engineers only: it names labelers)."""
    annotations = list(
        Annotation.objects.filter(image=image, status=Annotation.Status.SUBMITTED)
        .select_related("labeler")
        .prefetch_related("boxes")
        .order_by("kind", "labeler__username")
    )
    labelers, adjudication = [], None
    for annotation in annotations:
        boxes = [box_dict(box) | {"id": box.pk} for box in annotation.boxes.all()]
        if annotation.kind == Annotation.Kind.ADJUDICATION:
            adjudication = {"by": annotation.labeler.username, "boxes": boxes}
            continue
        labelers.append(
            {
                "id": annotation.labeler_id,
                "username": annotation.labeler.username,
                "color": LABELER_COLORS[len(labelers) % len(LABELER_COLORS)],
                "involved": annotation.labeler_id in involved,
                "boxes": boxes,
                "seconds": annotation.active_seconds,
            }
        )
    consensus = [
        box_dict(row) | {"support": row.support}
        for row in ConsensusBox.objects.filter(image=image).order_by("index")
    ]
    return {
        "image": {
            "id": image.pk,
            "name": image.original_name,
            "width": image.width,
            "height": image.height,
        },
        "classes": [
            {"id": c.pk, "name": c.name, "color": c.color, "hotkey": c.hotkey}
            for c in image.project.classes.all()
        ],
        "labelers": labelers,
        "consensus": consensus,
        "adjudication": adjudication,
    }
