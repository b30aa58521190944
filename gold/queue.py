"""Gold in the labeling queue: qualification first, then gold at the project's rate, blind.

annotations.services.queue_next asks ``gold_gate`` once per request (outside its retried
transaction: a labeler whose qualification is decided here is told at once), then
``gold_open`` inside its transaction, after the labeler's open draft and with the regular
candidates in hand. A gold image is served as an Annotation of kind "gold" whose payload, URL
and page are those of any other image; never twice to one labeler (one label set per image and
labeler), and only while regular images are left, so the end of the queue looks the same too.

Which queue draw is gold is decided by a keyed hash of (project, labeler, how many images the
labeler has had): reproducible, but not predictable without the server's secret.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery

from annotations.models import Annotation
from gold.models import GoldImage, GoldPolicy, LabelerGold
from gold.selectors import gold_answer_count, policy_of, unanswered_gold
from projects.models import InstructionVersion, Project


class LabelerPaused(Exception):
    """The labeler may not take images now; the message says why and what happens next."""

    MESSAGES = {
        LabelerGold.Reason.QUALIFICATION: (
            "Your first images were a check of how closely your boxes follow the instructions, "
            "and they did not meet this project's bar yet. The project lead has been told and "
            "can let you continue; please reread the instructions meanwhile."
        ),
        LabelerGold.Reason.GOLD_SCORE: (
            "Your labeling in this project is paused: checks against the project's reference "
            "labels show your boxes differ from them more often than the project allows. The "
            "project lead has been told and can let you continue; please reread the "
            "instructions meanwhile."
        ),
    }

    def __init__(self, standing: LabelerGold):
        super().__init__(self.MESSAGES.get(standing.reason, self.MESSAGES["gold_score"]))
        self.standing = standing


@dataclass
class Gate:
    project: Project
    labeler: object
    policy: GoldPolicy
    standing: LabelerGold

    @property
    def qualifying(self) -> bool:
        return self.standing.state == LabelerGold.State.QUALIFYING


def gold_gate(*, project: Project, labeler) -> Gate | None:
    """None when the project serves no gold; raises LabelerPaused for a paused labeler.

    One query when the project has no gold image and the labeler no standing (the common
    case); a labeler's first draw in a project with gold makes their standing (qualifying if
    the project asks for qualification and they never labeled an image of it).
    """
    row = (
        Project.objects.filter(pk=project.pk)
        .annotate(
            has_gold=Exists(GoldImage.objects.filter(project=OuterRef("pk"), active=True)),
            standing=Subquery(
                LabelerGold.objects.filter(project=OuterRef("pk"), labeler=labeler).values("pk")[:1]
            ),
        )
        .values("has_gold", "standing")
        .get()
    )
    if row["standing"] is None and not row["has_gold"]:
        return None
    policy = policy_of(project)
    standing = LabelerGold.objects.filter(pk=row["standing"]).first() or _standing_create(
        project=project, labeler=labeler, policy=policy
    )
    if standing.state == LabelerGold.State.QUALIFYING:
        standing = _qualification_settle(standing=standing, policy=policy)
    if standing.state == LabelerGold.State.PAUSED:
        raise LabelerPaused(standing)
    if not row["has_gold"]:
        return None
    return Gate(project=project, labeler=labeler, policy=policy, standing=standing)


def _standing_create(*, project: Project, labeler, policy: GoldPolicy) -> LabelerGold:
    labeled_before = Annotation.objects.filter(
        image__project=project, labeler=labeler, kind=Annotation.Kind.LABEL
    ).exists()
    qualifying = policy.qualification_size > 0 and not labeled_before
    standing, _ = LabelerGold.objects.get_or_create(
        project=project,
        labeler=labeler,
        defaults={
            "state": LabelerGold.State.QUALIFYING if qualifying else LabelerGold.State.ACTIVE
        },
    )
    return standing


def _qualification_settle(*, standing: LabelerGold, policy: GoldPolicy) -> LabelerGold:
    """Decide the qualification once the labeler can answer no more of it (all answered, or no
    gold image left for them); otherwise leave them qualifying."""
    from gold.standing import standing_refresh

    answered = gold_answer_count(project=standing.project, labeler_id=standing.labeler_id)
    left = unanswered_gold(project=standing.project, labeler=standing.labeler_id).exists()
    if answered < policy.qualification_size and left:
        return standing
    with transaction.atomic():
        return standing_refresh(
            project=standing.project, labeler_id=standing.labeler_id, qualification_over=True
        )


def gold_open(
    *, gate: Gate, regular_left: bool, instructions: InstructionVersion | None
) -> Annotation | None:
    """A gold image for the labeler now, opened as their draft, or None for a regular image.

    Call inside queue_next's transaction, with the labeler's Membership row locked.
    """
    if not regular_left:
        return None
    project, labeler, policy = gate.project, gate.labeler, gate.policy
    if gate.standing.state == LabelerGold.State.QUALIFYING:
        gold = (
            unanswered_gold(project=project, labeler=labeler)
            .select_related("image")
            .order_by("id")
            .first()
        )
        return _open(gold, labeler, instructions) if gold else None
    if policy.rate <= 0:
        return None
    position = Annotation.objects.filter(
        image__project=project, labeler=labeler, kind__in=Annotation.LABELER_KINDS
    ).count()
    if not gold_due(
        project_id=project.pk, labeler_id=labeler.pk, position=position, rate=policy.rate
    ):
        return None
    # The least answered gold image first (spreads exposure), ties in a per-labeler order.
    answered = Count("image__annotations", filter=Q(image__annotations__kind=Annotation.Kind.GOLD))
    candidates = unanswered_gold(project=project, labeler=labeler).annotate(answered=answered)
    choices = list(candidates.values_list("pk", "answered"))
    if not choices:
        return None
    pk = min(choices, key=lambda c: (c[1], _draw(f"{labeler.pk}:{c[0]}")))[0]
    return _open(GoldImage.objects.select_related("image").get(pk=pk), labeler, instructions)


def gold_due(*, project_id: int, labeler_id: int, position: int, rate: float) -> bool:
    """Is the labeler's ``position``-th image (from 0) a gold one, at this rate?"""
    return _draw(f"{project_id}:{labeler_id}:{position}") < rate


def _draw(text: str) -> float:
    key = hashlib.blake2b(settings.SECRET_KEY.encode(), digest_size=32).digest()
    digest = hashlib.blake2b(text.encode(), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _open(gold: GoldImage, labeler, instructions) -> Annotation | None:
    try:
        with transaction.atomic():
            annotation = Annotation.objects.create(
                image_id=gold.image_id,
                labeler=labeler,
                kind=Annotation.Kind.GOLD,
                instruction_version=instructions,
            )
    except IntegrityError:
        return None
    annotation.image = gold.image
    return annotation
