"""Services of the lead's review: settle a flag (the adjudication it stores: services.adjudication).

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
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from annotations.boxes import box_dict
from annotations.models import Annotation
from projects.instructions import instructions_current
from projects.models import Image
from projects.services import instruction_version_publish
from quality.aliases import labeler_aliases, names_replaced
from quality.enqueue import project_figures_stale
from quality.models import ConsensusBox, Flag
from quality.selectors.feedback import WORKED_EXAMPLE_MARK
from quality.services.adjudication import adjudication_save, consensus_boxes, labeler_boxes
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
    fields = decision_fields(
        user=user, resolution=resolution, note=note, version=version, at=timezone.now(),
        accepted_labeler=accepted_labeler if resolution == R.ACCEPT_LABELER else None,
    )  # fmt: skip
    for name, value in fields.items():
        setattr(flag, name, value)
    flag.save()
    moves = [(flag.kind, flag.label_class_id, old_status, flag.status)]
    if resolution in IMAGE_DECISIONS:
        moves += image_flags_follow([flag])
    flag_counts_move(project_id=flag.project_id, moves=moves)
    image_open_flag_counts_refresh(image_ids=[flag.image_id])
    # The counts above are current at once; agreement with the adjudications follows shortly.
    project_figures_stale(project_id=flag.project_id)
    return flag


def decision_fields(
    *, user, resolution: str, note: str, version, at, accepted_labeler=None
) -> dict:
    """What the lead's decision writes on the flag it decides, as {field attname: value}: set
    on one flag (flag_resolve) or in one UPDATE of many (a bulk decision)."""
    dismissed = resolution == R.DISMISSED
    return {
        "status": Flag.Status.DISMISSED if dismissed else Flag.Status.RESOLVED,
        "resolution": resolution,
        "resolution_note": note,
        "accepted_labeler_id": accepted_labeler.pk if accepted_labeler else None,
        "instruction_version_id": version.pk if version else None,
        "resolved_by_id": user.pk,
        "resolved_at": at,
        "settled_by_id": None,
        "updated_at": at,
    }


def image_flags_follow(decisions: list[Flag]) -> list[tuple]:
    """Resolve the other flags on each decision's image labels with that decision (one decision
    per image, written already), in one UPDATE; returns the count moves. Call inside a
    transaction."""
    by_image = {d.image_id: d for d in decisions}
    others = list(
        Flag.objects.select_for_update()
        .filter(image_id__in=by_image)
        .exclude(pk__in=[d.pk for d in decisions])
        .exclude(kind=Flag.Kind.NEAR_DUPLICATE_CONFLICT)
        .filter(
            Q(status=Flag.Status.OPEN)
            | Q(status=Flag.Status.RESOLVED, resolution__in=IMAGE_DECISIONS)
        )
        .order_by("pk")
        .values_list("pk", "kind", "label_class_id", "status")
    )
    if not others:
        return []

    def per_image(value_of) -> Value | Case:
        """One value for every image when the decisions agree on it, else a CASE on the image."""
        values = {i: value_of(d) for i, d in by_image.items()}
        if len(set(values.values())) == 1:
            return Value(next(iter(values.values())))
        whens = [When(image_id=i, then=Value(v)) for i, v in values.items()]
        return Case(*whens, default=Value(None))

    Flag.objects.filter(pk__in=[pk for pk, *_ in others]).update(
        status=Flag.Status.RESOLVED,
        resolution=per_image(lambda d: d.resolution),
        accepted_labeler_id=per_image(lambda d: d.accepted_labeler_id),
        instruction_version_id=per_image(lambda d: d.instruction_version_id),
        resolved_by_id=per_image(lambda d: d.resolved_by_id),
        resolved_at=per_image(lambda d: d.resolved_at),
        updated_at=per_image(lambda d: d.resolved_at),
        settled_by_id=per_image(lambda d: d.pk),
        resolution_note=per_image(
            lambda d: f"Settled with flag #{d.pk}, which decided the image's labels."
        ),
    )
    return [(kind, cls, status, Flag.Status.RESOLVED) for _, kind, cls, status in others]


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


def image_review_data(*, image: Image, flags: list[Flag]) -> dict:
    """What the image review screen draws: the image's labels as review_data has them (every
    labeler's: the screen is a lead's), and each of its flags with the boxes it is about."""
    return {
        "flags": [
            {
                "id": f.pk,
                "kind": f.kind,
                "kind_name": f.get_kind_display(),
                "message": f.message,
                "status": f.status,
                "box_ids": list(f.box_ids or []),
                "deviating": f.deviating_usernames,
            }
            for f in flags
        ],
        **image_labels_data(image=image, involved={u.pk for f in flags for u in f.labelers.all()}),
    }


LAYER_MARKS = {Annotation.Kind.MODEL: " (model)", Annotation.Kind.GOLD: " (gold answer)"}


def image_labels_data(*, image: Image, involved: set[int] = frozenset()) -> dict:
    """Every labeler's submitted boxes on the image (and a model's predictions, marked
    "model"), the consensus and the lead's final boxes, as static/js/box_layers.js draws
    them (for leads and engineers only: it names labelers)."""
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
        model = annotation.kind == Annotation.Kind.MODEL
        if model:  # a layer to look at, marked, with each box's score
            boxes = [
                b | {"score": s.score} for b, s in zip(boxes, annotation.boxes.all(), strict=True)
            ]
        labelers.append(
            {
                "id": annotation.labeler_id,
                # A model's layer, or a labeler's answer on a gold image (which counts nowhere
                # else), is marked as such.
                "username": annotation.labeler.username + LAYER_MARKS.get(annotation.kind, ""),
                "model": model,
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
