"""Gold in the labeling queue: qualification first, then gold at the project's rate, blind.

annotations.services.queue_next asks ``gold_gate`` once per request (outside its retried
transaction: a labeler whose qualification is decided here is told at once), then
``gold_open`` inside its transaction, after the labeler's open draft and with the regular
candidates in hand. A gold image is served as an Annotation of kind "gold" whose payload, URL
and page are those of any other image; never twice to one labeler (one label set per image and
labeler), and only while regular images are left, so the end of the queue looks the same too.

Which queue draw is gold is decided by a keyed hash of (project, labeler, the regular image it
would otherwise be, the gold images the labeler has left): reproducible, but not predictable
without the server's secret.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from annotations.models import Annotation
from gold.models import GoldImage, GoldPolicy, LabelerGold
from gold.scoring import gold_answer_score
from gold.standing import standing_refresh
from projects.models import Image, InstructionVersion, Project


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
    gold_left: int  # active gold images the labeler has no label set on

    @property
    def qualifying(self) -> bool:
        return self.standing.state == LabelerGold.State.QUALIFYING


GATE_SQL = f"""
SELECT
    EXISTS (SELECT 1 FROM {GoldImage._meta.db_table} AS g
            WHERE g.project_id = %(project)s AND g.active) AS has_gold,
    standing.id, standing.state, standing.reason,
    policy.id, policy.rate, policy.qualification_size,
    (SELECT count(*) FROM {GoldImage._meta.db_table} AS g
     WHERE g.project_id = %(project)s AND g.active)
    - (SELECT count(*) FROM {Annotation._meta.db_table} AS mine
       JOIN {GoldImage._meta.db_table} AS g ON g.image_id = mine.image_id
       WHERE mine.labeler_id = %(labeler)s AND g.project_id = %(project)s AND g.active
    ) AS gold_left,
    CASE WHEN standing.state = %(qualifying)s THEN (
        SELECT count(*) FROM {Annotation._meta.db_table} AS mine
        JOIN {Image._meta.db_table} AS image ON image.id = mine.image_id
        WHERE mine.labeler_id = %(labeler)s AND mine.kind = %(gold)s
            AND image.project_id = %(project)s) END AS gold_taken,
    CASE WHEN standing.state = %(qualifying)s THEN (
        SELECT count(*) FROM {Annotation._meta.db_table} AS mine
        JOIN {Image._meta.db_table} AS image ON image.id = mine.image_id
        WHERE mine.labeler_id = %(labeler)s AND mine.kind = %(gold)s
            AND mine.status = %(draft)s AND image.project_id = %(project)s) END AS gold_drafts
FROM (SELECT 1) AS one
LEFT JOIN {LabelerGold._meta.db_table} AS standing
    ON standing.project_id = %(project)s AND standing.labeler_id = %(labeler)s
LEFT JOIN {GoldPolicy._meta.db_table} AS policy ON policy.project_id = %(project)s
"""


def gold_gate(*, project: Project, labeler) -> Gate | None:
    """None when the project serves no gold; raises LabelerPaused for a paused labeler.

    One statement, for every project: whether it has gold, the labeler's standing, the policy,
    how many gold images the labeler has not had, and while they qualify, how many they have
    had and have open (raw SQL: the ORM took longer to compose
    it than the database to run it, on every labeler's every image). A labeler's first draw in
    a project with gold makes their standing (qualifying if the project asks for qualification
    and they never labeled an image of it); a qualification is decided here once no more of it
    can be served.
    """
    params = {
        "project": project.pk,
        "labeler": labeler.pk,
        "qualifying": LabelerGold.State.QUALIFYING,
        "gold": Annotation.Kind.GOLD,
        "draft": Annotation.Status.DRAFT,
    }
    with connection.cursor() as cursor:
        cursor.execute(GATE_SQL, params)
        row = cursor.fetchone()
    has_gold, standing_id, state, reason, policy_id, rate, size, gold_left = row[:8]
    taken = (row[8], row[9]) if row[8] is not None else None  # a qualifying labeler's
    if standing_id is None and not has_gold:
        return None
    policy = GoldPolicy(project=project)  # the defaults, unless the lead set a policy
    if policy_id is not None:
        policy.pk, policy.rate, policy.qualification_size = policy_id, rate, size
    if standing_id is None:
        standing = _standing_create(project=project, labeler=labeler, policy=policy)
    else:
        standing = LabelerGold(
            pk=standing_id, project=project, labeler=labeler, state=state, reason=reason
        )
    if standing.state == LabelerGold.State.QUALIFYING:
        standing = _qualification_settle(
            standing=standing, policy=policy, gold_left=gold_left, taken=taken
        )
    if standing.state == LabelerGold.State.PAUSED:
        raise LabelerPaused(standing)
    if not has_gold:
        return None
    return Gate(
        project=project, labeler=labeler, policy=policy, standing=standing, gold_left=gold_left
    )


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


def _qualification_settle(
    *, standing: LabelerGold, policy: GoldPolicy, gold_left: int, taken: tuple | None = None
) -> LabelerGold:
    """Decide the qualification once the labeler can answer no more of it (all answered, or no
    gold image left for them) and has no qualification image open; else leave them qualifying.
    (Submitting the last one of the set decides it too: gold.standing.)

    ``taken``: (gold images the labeler has, of them drafts), as GATE_SQL counted them; None:
    count them here (a standing made by this draw)."""
    answers = Annotation.objects.filter(
        image__project=standing.project, labeler=standing.labeler, kind=Annotation.Kind.GOLD
    )
    if taken is None:
        taken = (answers.count(), answers.filter(status=Annotation.Status.DRAFT).count())
    count, drafts = taken
    if drafts:
        return standing
    if count < policy.qualification_size and gold_left > 0:
        return standing
    with transaction.atomic():
        # Answers whose scoring task has not run yet (the labeler was quick) are scored now.
        for annotation in answers.filter(gold_answer__isnull=True).select_related("image"):
            gold_answer_score(annotation=annotation)
        return standing_refresh(
            project=standing.project, labeler_id=standing.labeler_id, qualification_over=True
        )


# The gold image is chosen first, then read by its key (joining every gold image to its image
# row let the planner scan the project's images: ~3 ms at 10,000 images).
GOLD_PICK_SQL = f"""
SELECT image.* FROM {Image._meta.db_table} AS image
WHERE image.id = (
    SELECT g.image_id FROM (
        SELECT g.id, g.image_id FROM {GoldImage._meta.db_table} AS g
        WHERE g.project_id = %(project)s AND g.active
            AND NOT EXISTS (SELECT 1 FROM {Annotation._meta.db_table} AS mine
                            WHERE mine.image_id = g.image_id AND mine.labeler_id = %(labeler)s)
        ORDER BY g.id
        LIMIT %(window)s
    ) AS g
    ORDER BY {{order}}
    LIMIT 1
)
"""
# The qualification set: the same images, in the same order, for everyone.
QUALIFICATION_PICK_SQL = GOLD_PICK_SQL.format(order="g.id")
# Mixing: of the next GOLD_WINDOW gold images the labeler has not had (by id), the least
# answered (spreads each one's exposure), ties in an order of the labeler's own (a keyed hash).
# The window bounds the draw's work whatever the number of gold images (sorting 2,000 of them
# by their answers took ~4 ms); as labelers answer, it moves on.
MIXING_PICK_SQL = GOLD_PICK_SQL.format(
    order=f"""(SELECT count(*) FROM {Annotation._meta.db_table} AS answer
               WHERE answer.image_id = g.image_id AND answer.kind = %(gold)s),
              MD5(%(tie_key)s || CAST(g.id AS TEXT)), g.id"""
)
GOLD_WINDOW = 64


def gold_open(
    *, gate: Gate, regular_left: list[int], instructions: InstructionVersion | None
) -> Annotation | None:
    """A gold image for the labeler now, opened as their draft, or None for a regular image.

    ``regular_left``: the regular candidates the queue would serve (gold comes only between
    regular images). Call inside queue_next's transaction, with the labeler's Membership row
    locked. Whether this draw is gold is a keyed hash of the regular image it would otherwise
    be and of how many gold images the labeler has left: a new draw after every image taken,
    with no query. A draw that comes out gold asks the database as much as a regular one (one
    statement picks the image and reads it, then the draft is made), so its time does not
    tell it apart.
    """
    if not regular_left or gate.gold_left == 0:
        return None
    project, labeler, policy = gate.project, gate.labeler, gate.policy
    if gate.qualifying:
        sql = QUALIFICATION_PICK_SQL
    elif policy.rate > 0 and gold_due(
        project_id=project.pk,
        labeler_id=labeler.pk,
        draw=f"{regular_left[0]}:{gate.gold_left}",
        rate=policy.rate,
    ):
        sql = MIXING_PICK_SQL
    else:
        return None
    params = {
        "project": project.pk,
        "labeler": labeler.pk,
        "gold": Annotation.Kind.GOLD,
        "tie_key": _key("gold-order").hex() + f":{labeler.pk}:",
        "window": GOLD_WINDOW,
    }
    image = next(iter(Image.objects.raw(sql, params)), None)
    return _open(image, labeler, instructions) if image is not None else None


def gold_due(*, project_id: int, labeler_id: int, draw: str, rate: float) -> bool:
    """Is the labeler's next image a gold one, at this rate? ``draw`` names the moment."""
    return _draw(f"{project_id}:{labeler_id}:{draw}") < rate


def _draw(text: str) -> float:
    digest = hashlib.blake2b(text.encode(), key=_key(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _key(purpose: str = "") -> bytes:
    """A key derived from the server's secret, one per purpose (the draws' has none, as
    before purposes were named: the same secret gives the same draws)."""
    return hashlib.blake2b(
        settings.SECRET_KEY.encode(), digest_size=32, person=purpose.encode()
    ).digest()


def _open(image: Image, labeler, instructions) -> Annotation | None:
    try:
        with transaction.atomic():
            annotation = Annotation.objects.create(
                image=image,
                labeler=labeler,
                kind=Annotation.Kind.GOLD,
                instruction_version=instructions,
            )
    except IntegrityError:
        return None
    return annotation
