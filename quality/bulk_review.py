"""Settle many flags in one decision: the flag queue's filters and one action.

The selection is the open flags that the flag list shows for the same filters
(``report.flags_filtered``: kind, status, labeler, label_class); flags of another status are
never changed here. The decisions mean what they mean for one flag (``review.flag_resolve``):

- ``accept_consensus``: per image, the consensus becomes the image's adjudication through
  flag_resolve on the image's first selected flag, which settles the image's other open flags
  with it (so a filter on one kind settles the other kinds on those images too, as one decision
  on one flag would). An image whose consensus cannot be accepted (a class tie, or the lead
  labeled it) is skipped and its flags stay open.
- ``dismiss``: the selected flags only, each with the lead's note (required), in one UPDATE.

One call works on at most ``settings.FLAG_BULK_IMAGES`` images, in one transaction; the answer
says how many selected flags remain, and the caller calls again for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from projects.models import Project
from quality.models import Flag
from quality.report import flags_filtered
from quality.review import flag_resolve
from quality.services import image_open_flag_counts_refresh
from quality.services_summary import flag_counts_move

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
        image_ids = list(
            selected.order_by("image_id")
            .values_list("image_id", flat=True)
            .distinct()[: settings.FLAG_BULK_IMAGES]
        )
        chosen = selected.filter(image_id__in=image_ids)
        if action == "dismiss":
            settled, skipped = _dismiss(project=project, user=user, flags=chosen, note=note)
        else:
            settled, skipped = _accept_consensus(user=user, flags=chosen, note=note)
    return BulkOutcome(count=count, settled=settled, skipped=skipped, remaining=selected.count())


def _dismiss(*, project: Project, user, flags, note: str) -> tuple[int, int]:
    rows = list(
        flags.select_for_update(of=("self",)).values_list(
            "pk", "kind", "label_class_id", "image_id"
        )
    )
    now = timezone.now()
    Flag.objects.filter(pk__in=[r[0] for r in rows], status=Flag.Status.OPEN).update(
        status=Flag.Status.DISMISSED,
        resolution=Flag.Resolution.DISMISSED,
        resolution_note=note,
        accepted_labeler=None,
        instruction_version=project.current_instructions,
        resolved_by=user,
        resolved_at=now,
        settled_by=None,
        updated_at=now,
    )
    moves = [(kind, cls, Flag.Status.OPEN, Flag.Status.DISMISSED) for _, kind, cls, _ in rows]
    flag_counts_move(project_id=project.pk, moves=moves)
    image_open_flag_counts_refresh(image_ids=sorted({r[3] for r in rows}))
    return len(rows), 0


def _accept_consensus(*, user, flags, note: str) -> tuple[int, int]:
    """One flag_resolve per image (it settles the image's other open flags); a selected flag it
    leaves open (a near-duplicate conflict, which is about another image too) gets its own."""
    by_image: dict[int, list[int]] = {}
    for pk, image_id in flags.order_by("image_id", "pk").values_list("pk", "image_id"):
        by_image.setdefault(image_id, []).append(pk)
    settled = skipped = 0
    for image_id, selected in by_image.items():
        before = _open_on(image_id)
        try:
            with transaction.atomic():
                _resolve(selected[0], user=user, note=note)
                # The image decision settled the rest, but for flags about another image too.
                rest = Flag.objects.filter(pk__in=selected[1:], status=Flag.Status.OPEN)
                for pk in rest.order_by("pk").values_list("pk", flat=True):
                    _resolve(pk, user=user, note=note)
        except ValidationError:
            skipped += len(selected)
            continue
        settled += before - _open_on(image_id)
    return settled, skipped


def _resolve(pk: int, *, user, note: str) -> None:
    # flag_resolve loads the flag again, locked: the id is all it needs.
    flag_resolve(
        flag=Flag(pk=pk), user=user, resolution=Flag.Resolution.ACCEPT_CONSENSUS, note=note
    )


def _open_on(image_id: int) -> int:
    return Flag.objects.filter(image_id=image_id, status=Flag.Status.OPEN).count()
