"""Scoring labelers' answers on gold images (the engine's quality.engine.gold) and storing the
summable figures, box by box details included (what the feedback draws)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from annotations.models import Annotation
from gold.models import GoldAnswer, GoldImage, LabelerGold
from gold.selectors import agreement_params, answer_label_sets, gold_label_sets, policy_of
from gold.standing import standing_refresh
from quality.engine.gold import score_answers


class GoldAnswerFrozen(Exception):
    """The labeler saw the gold's feedback on this answer: it can no longer change."""


def answers_score(*, gold: GoldImage, annotations: list[Annotation]) -> list[GoldAnswer]:
    """Score submitted answers against the gold image's current boxes; upsert their rows.

    One engine pass for all of them. Call inside a transaction.
    """
    if not annotations:
        return []
    ids = [a.pk for a in annotations]
    answers = answer_label_sets(annotation_ids=ids)
    gold_set, gold_box_ids = gold_label_sets(gold_ids=[gold.pk])[gold.pk]
    scored = score_answers(
        [answers[pk][0] for pk in ids], [gold_set] * len(ids), agreement_params(gold.project)
    )
    existing = {row.annotation_id: row for row in GoldAnswer.objects.filter(annotation_id__in=ids)}
    qualifying = set(
        LabelerGold.objects.filter(
            project_id=gold.project_id,
            labeler_id__in={a.labeler_id for a in annotations},
            state=LabelerGold.State.QUALIFYING,
        ).values_list("labeler_id", flat=True)
    )
    now = timezone.now()
    out = []
    for i, annotation in enumerate(annotations):
        s = scored.answer(i)
        box_ids = answers[annotation.pk][1]
        row = existing.get(annotation.pk) or GoldAnswer(
            annotation=annotation,
            gold=gold,
            project_id=gold.project_id,
            labeler_id=annotation.labeler_id,
            qualification=annotation.labeler_id in qualifying,
        )
        row.gold_version = gold.version
        row.submitted_at = annotation.submitted_at
        row.scored_at = now
        row.gold_boxes, row.answer_boxes = s.gold_boxes, s.answer_boxes
        row.matched, row.correct = s.matched, s.correct
        row.iou_sum, row.iou_sq_sum, row.kalpha = s.iou_sum, s.iou_sq_sum, s.kalpha
        row.per_class = {str(k): list(v) for k, v in s.per_class.items()}
        row.details = {
            "missed": [gold_box_ids[g] for g in s.missed],
            "extra": [box_ids[b] for b in s.extra],
            "wrong_class": [[box_ids[b], gold_box_ids[g]] for b, g in s.wrong_class],
            "loose": [[box_ids[b], gold_box_ids[g], iou] for b, g, iou in s.loose],
        }
        row.save()
        out.append(row)
    return out


@transaction.atomic
def gold_answer_score(*, annotation: Annotation, feedback: bool = False) -> GoldAnswer:
    """Score the labeler's submitted answer on a gold image and apply the rules to them.

    ``feedback``: the labeler is shown this answer's feedback next, so its score keeps this
    first attempt. Raises GoldAnswerFrozen for an answer whose feedback they have seen.
    """
    row = GoldAnswer.objects.filter(annotation=annotation).first()
    if row is not None and row.feedback_at is not None:
        raise GoldAnswerFrozen()
    gold = GoldImage.objects.select_related("project").get(image_id=annotation.image_id)
    (row,) = answers_score(gold=gold, annotations=[annotation])
    if feedback:
        row.feedback_at = timezone.now()
        row.save(update_fields=["feedback_at"])
    standing_refresh(project=gold.project, labeler_id=annotation.labeler_id)
    return row


def gold_answer_score_by_id(*, annotation_id: int) -> None:
    """The task's entry: score the answer if it is still a submitted gold answer (an answer
    frozen by its feedback was scored when it was given)."""
    annotation = Annotation.objects.filter(
        pk=annotation_id, kind=Annotation.Kind.GOLD, status=Annotation.Status.SUBMITTED
    ).first()
    if annotation is None:
        return
    try:
        gold_answer_score(annotation=annotation)
    except GoldAnswerFrozen:
        return


def feedback_due(*, project, labeler_id: int) -> bool:
    """Immediate feedback on a first submission: the project gives it, and the labeler has had
    fewer than feedback_limit (each one shows them a gold image's answer)."""
    policy = policy_of(project)
    if not policy.feedback:
        return False
    given = GoldAnswer.objects.filter(
        project=project, labeler_id=labeler_id, feedback_at__isnull=False
    ).count()
    return given < policy.feedback_limit
