"""Settle many flags in one decision: the flag queue's filters and one action.

The selection is the open flags that the flag list shows for the same filters
(``selectors.flag_queue.flags_filtered``: kind, status, labeler, label_class); flags of another status are
never changed here. The decisions mean what they mean for one flag (``services.review.flag_resolve``):

- ``accept_consensus``: per image, the consensus becomes the image's adjudication and the
  image's first selected flag is the decision, which settles the image's other flags with it
  (so a filter on one kind settles the other kinds on those images too, as one decision on one
  flag would). An image whose consensus cannot be accepted (a class tie, or the lead labeled
  it) is skipped and its flags stay open. All of it in a bounded number of queries.
- ``dismiss``: the selected flags only, each with the lead's note (required), in one UPDATE.

One call works on at most ``settings.FLAG_BULK_IMAGES`` images, in one transaction; the answer
says how many selected flags remain, and the caller calls again for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from projects.instructions import instructions_current
from projects.models import Image, Project
from quality.enqueue import project_figures_stale
from quality.models import ConsensusBox, Flag
from quality.selectors.flag_queue import flags_filtered
from quality.services.adjudication import adjudications_save, images_consensus_boxes
from quality.services.assessment import image_open_flag_counts_refresh
from quality.services.review import decision_fields, flag_resolve, image_flags_follow
from quality.services.summary import flag_counts_move

BULK_ACTIONS = {
    "accept_consensus": Flag.Resolution.ACCEPT_CONSENSUS,
    "dismiss": Flag.Resolution.DISMISSED,
}


@dataclass(frozen=True)
class BulkOutcome:
    count: int  # open flags the filters selected, before this call
    settled: int  # flags this call settled, with those settled along on the same images
    skipped: int  # selected flags left open: their image's consensus cannot be accepted
    remaining: int  # selected flags still open after this call (skipped ones included)


def flags_bulk_settle(
    *,
    project: Project,
    user,
    filters: dict,
    action: str,
    note: str = "",
    dry_run: bool = False,
) -> BulkOutcome:
    """Apply ``action`` to the open flags ``filters`` select (see the module docstring); with
    ``dry_run`` only count them. Raises ValidationError (bad action, a dismissal without a
    note) or ParamError (bad filters) before anything changes."""
    if action not in BULK_ACTIONS:
        raise ValidationError(f"Unknown action {action!r}; use one of {', '.join(BULK_ACTIONS)}.")
    note = (note or "").strip()
    if action == "dismiss" and not note and not dry_run:
        raise ValidationError("Say why you dismiss these flags; the labelers will read it.")
    selected = flags_filtered(project=project, filters=filters).filter(status=Flag.Status.OPEN)
    count = selected.count()
    if dry_run or not count:
        return BulkOutcome(count=count, settled=0, skipped=0, remaining=count)
    with transaction.atomic():
        candidates, tied = selected, 0
        if action == "accept_consensus":
            # Images whose consensus has a class tie can never be accepted: left out of the
            # batch (so that many of them cannot fill every batch and stall the calls), and
            # their selected flags counted as skipped.
            tie = ConsensusBox.objects.filter(
                image_id=OuterRef("image_id"), label_class__isnull=True
            )
            candidates = selected.filter(~Exists(tie))
            tied = selected.filter(Exists(tie)).count()
        image_ids = list(
            candidates.order_by("image_id")
            .values_list("image_id", flat=True)
            .distinct()[: settings.FLAG_BULK_IMAGES]
        )
        chosen = candidates.filter(image_id__in=image_ids)
        if action == "dismiss":
            settled, skipped = _dismiss(project=project, user=user, flags=chosen, note=note)
        else:
            settled, skipped = _accept_consensus(
                project=project, user=user, flags=chosen, note=note
            )
        skipped += tied
        if settled:
            # Counts moved at once; agreement with the adjudications follows shortly.
            project_figures_stale(project_id=project.pk)
    return BulkOutcome(count=count, settled=settled, skipped=skipped, remaining=selected.count())


def _dismiss(*, project: Project, user, flags, note: str) -> tuple[int, int]:
    chosen = list(
        flags.select_for_update(of=("self",)).values_list(
            "pk", "kind", "label_class_id", "image_id"
        )
    )
    fields = decision_fields(
        user=user, resolution=Flag.Resolution.DISMISSED, note=note,
        version=instructions_current(project=project), at=timezone.now(),
    )  # fmt: skip
    Flag.objects.filter(pk__in=[pk for pk, *_ in chosen]).update(**fields)
    moves = [(kind, cls, Flag.Status.OPEN, fields["status"]) for _, kind, cls, _ in chosen]
    flag_counts_move(project_id=project.pk, moves=moves)
    image_open_flag_counts_refresh(image_ids=sorted({image for *_, image in chosen}))
    return len(chosen), 0


def _accept_consensus(*, project: Project, user, flags, note: str) -> tuple[int, int]:
    """flag_resolve's accept_consensus for the selected flags of many images at once: each
    image's consensus becomes its adjudication, its first selected flag is the decision, and
    the decision settles the image's other flags (image_flags_follow). A selected near-
    duplicate conflict, which is about another image too, is decided on its own."""
    chosen = list(flags.select_for_update(of=("self",)).order_by("image_id", "pk"))
    consensus = images_consensus_boxes(image_ids=sorted({f.image_id for f in chosen}))
    images = {
        i.pk: i
        for i in Image.objects.filter(pk__in=[i for i, b in consensus.items() if b is not None])
    }
    _, refused = adjudications_save(
        lead=user, boxes_by_image={images[i]: consensus[i] for i in sorted(images)}
    )
    accepted = [f for f in chosen if f.image_id in images and f.image_id not in refused]
    skipped = len(chosen) - len(accepted)
    fields = decision_fields(
        user=user, resolution=Flag.Resolution.ACCEPT_CONSENSUS, note=note,
        version=instructions_current(project=project), at=timezone.now(),
    )  # fmt: skip
    decisions, own = {}, []
    for flag in accepted:
        if flag.kind == Flag.Kind.NEAR_DUPLICATE_CONFLICT:
            own.append(flag)
        elif flag.image_id not in decisions:
            decisions[flag.image_id] = flag
    decided = [*decisions.values(), *own]
    for flag in decided:
        for name, value in fields.items():
            setattr(flag, name, value)
    Flag.objects.filter(pk__in=[f.pk for f in decided]).update(**fields)
    moves = [(f.kind, f.label_class_id, Flag.Status.OPEN, f.status) for f in decided]
    moves += image_flags_follow(list(decisions.values()))
    flag_counts_move(project_id=project.pk, moves=moves)
    image_open_flag_counts_refresh(image_ids=sorted({f.image_id for f in accepted}))
    return sum(old == Flag.Status.OPEN for _, _, old, _ in moves), skipped


def image_flags_settle(
    *, image: Image, user, resolution: str, note: str = "", accepted_labeler=None
) -> int:
    """One decision on all of an image's open flags (the image review screen's): accept the
    consensus or one labeler's version (the image's labels, which settle its flags along), or
    dismiss them all with the note. Returns how many flags were settled; raises
    ValidationError with the reason when the decision cannot be taken (a class tie in the
    consensus, a dismissal without a note, an unknown resolution)."""
    selection = {"image": image.pk, "status": Flag.Status.OPEN}
    if resolution in (Flag.Resolution.ACCEPT_CONSENSUS, Flag.Resolution.DISMISSED):
        action = "accept_consensus" if resolution == Flag.Resolution.ACCEPT_CONSENSUS else "dismiss"
        outcome = flags_bulk_settle(
            project=image.project, user=user, filters=selection, action=action, note=note
        )
        if outcome.skipped:
            raise ValidationError(
                "The consensus of this image cannot be accepted: the labelers tie on a class "
                "(or you labeled it). Accept one labeler's version or dismiss the flags."
            )
        return outcome.settled
    if resolution != Flag.Resolution.ACCEPT_LABELER:
        raise ValidationError("Settle the image's flags by accepting or dismissing them.")
    open_flags = flags_filtered(project=image.project, filters=selection)
    first = open_flags.exclude(kind=Flag.Kind.NEAR_DUPLICATE_CONFLICT).first() or open_flags.first()
    if first is None:
        return 0
    before = open_flags.count()
    flag_resolve(
        flag=first, user=user, resolution=resolution, note=note, accepted_labeler=accepted_labeler
    )
    return before - open_flags.count()
