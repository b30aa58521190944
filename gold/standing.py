"""A labeler's standing in the gold checks: qualifying -> active <-> paused.

``standing_refresh`` is the one place the state changes by rule: after a gold answer is scored,
after gold boxes change (answers re-scored), and when the queue finds a qualification that can
go no further. The lead's resume is in gold.services.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from gold.models import LabelerGold
from gold.selectors import gold_params, labeler_totals, policy_of, qualification_totals
from projects.models import Project
from quality.engine.gold import GoldTotals, gold_paused, gold_qualified

logger = logging.getLogger(__name__)

State, Reason = LabelerGold.State, LabelerGold.Reason


def standing_refresh(
    *, project: Project, labeler_id: int, qualification_over: bool = False
) -> LabelerGold:
    """Apply the qualification and pause rules to the labeler's current gold figures.

    Call inside a transaction. Qualifying: judged once ``qualification_size`` qualification
    answers are scored (or ``qualification_over``: no more to answer), pass -> active, fail ->
    paused. Active: paused when the pause rule says so, counting answers since the lead last
    resumed them. Paused by a rule that no longer holds (gold boxes corrected since): active.
    """
    standing, _ = LabelerGold.objects.select_for_update().get_or_create(
        project=project, labeler_id=labeler_id
    )
    policy = policy_of(project)
    params = gold_params(policy)
    now = timezone.now()
    before = (standing.state, standing.reason)
    if standing.state == State.QUALIFYING or (
        standing.state == State.PAUSED
        and standing.reason == Reason.QUALIFICATION
        and standing.resumed_at is None
    ):
        n, totals = qualification_totals(project=project, labeler_id=labeler_id)
        judged = n >= policy.qualification_size or qualification_over
        if standing.state == State.PAUSED or judged:
            if gold_qualified(totals.correct, totals.units, params):
                standing.state, standing.reason = State.ACTIVE, ""
                standing.qualified_at = standing.qualified_at or now
            else:
                standing.state, standing.reason = State.PAUSED, Reason.QUALIFICATION
    else:
        since = {labeler_id: standing.resumed_at} if standing.resumed_at else None
        totals = labeler_totals(project=project, labeler_ids=[labeler_id], since=since).get(
            labeler_id, GoldTotals()
        )
        paused = bool(gold_paused(totals.correct, totals.units, totals.images, params))
        if paused and standing.state == State.ACTIVE:
            standing.state, standing.reason = State.PAUSED, Reason.GOLD_SCORE
        elif not paused and standing.state == State.PAUSED and standing.reason == Reason.GOLD_SCORE:
            standing.state, standing.reason = State.ACTIVE, ""
    if (standing.state, standing.reason) != before:
        if standing.state == State.PAUSED:
            standing.paused_at = now
            logger.warning(
                "gold: labeler %s paused in project %s (%s)",
                labeler_id,
                project.pk,
                standing.reason,
            )
        standing.save()
    return standing
