"""Reads of the gold checks: engine inputs for scoring, and each labeler's figures for the lead.

Labels given to the engine are class ids; box ids ride along so results name stored boxes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, Sum

from annotations.models import Annotation, Box
from gold.models import GoldAnswer, GoldBox, GoldImage, GoldPolicy, LabelerGold
from projects.models import Project
from quality.engine import AgreementParams, LabelSet
from quality.engine.gold import GoldParams, GoldTotals, class_scores, gold_score


def policy_of(project: Project) -> GoldPolicy:
    """The project's gold policy; the defaults (unsaved) when the lead never set one."""
    return GoldPolicy.objects.filter(project=project).first() or GoldPolicy(project=project)


def gold_params(policy: GoldPolicy) -> GoldParams:
    return GoldParams(
        threshold=policy.threshold,
        min_images=policy.min_images,
        confidence=policy.confidence,
        qualify_threshold=policy.qualify_threshold,
    )


def agreement_params(project: Project) -> AgreementParams:
    return AgreementParams(match_iou=project.match_iou, low_iou=project.low_iou)


def _label_sets(rows, keys) -> dict[int, tuple[LabelSet, list[int]]]:
    """(key, box id, class id, x, y, w, h) rows -> {key: (LabelSet of class ids, box ids)};
    a key with no box (box id None) gets an empty LabelSet."""
    grouped: dict[int, list] = {key: [] for key in keys}
    for key, box_id, class_id, *xywh in rows:
        if box_id is not None:
            grouped[key].append((box_id, class_id, xywh))
    return {
        key: (
            LabelSet(
                str(key),
                np.array([xywh for _, _, xywh in boxes], dtype=np.float64).reshape(-1, 4),
                [class_id for _, class_id, _ in boxes],
            ),
            [box_id for box_id, _, _ in boxes],
        )
        for key, boxes in grouped.items()
    }


def answer_label_sets(*, annotation_ids: list[int]) -> dict[int, tuple[LabelSet, list[int]]]:
    rows = Box.objects.filter(annotation_id__in=annotation_ids).order_by("annotation_id", "id")
    return _label_sets(
        rows.values_list("annotation_id", "id", "label_class_id", "x", "y", "width", "height"),
        annotation_ids,
    )


def gold_label_sets(*, gold_ids: list[int]) -> dict[int, tuple[LabelSet, list[int]]]:
    rows = GoldBox.objects.filter(gold_id__in=gold_ids).order_by("gold_id", "id")
    return _label_sets(
        rows.values_list("gold_id", "id", "label_class_id", "x", "y", "width", "height"), gold_ids
    )


def submitted_gold_answers(*, gold: GoldImage) -> list[Annotation]:
    return list(
        Annotation.objects.filter(
            image_id=gold.image_id,
            kind=Annotation.Kind.GOLD,
            status=Annotation.Status.SUBMITTED,
        ).select_related("gold_answer")
    )


FIGURES = ("gold_boxes", "answer_boxes", "matched", "correct", "iou_sum", "iou_sq_sum")


def labeler_totals(
    *, project: Project, labeler_ids=None, since: dict[int, datetime] | None = None
) -> dict[int, GoldTotals]:
    """Per labeler: their gold answers' figures summed (only answers submitted at or after
    ``since[labeler]`` for labelers listed there: the pause rule's window after a resume)."""
    answers = GoldAnswer.objects.filter(project=project)
    if labeler_ids is not None:
        answers = answers.filter(labeler_id__in=list(labeler_ids))
    for labeler_id, moment in (since or {}).items():
        answers = answers.exclude(labeler_id=labeler_id, submitted_at__lt=moment)
    rows = (
        answers.values("labeler_id")
        .order_by()
        .annotate(
            images=Count("pk"),
            kalpha_images=Count("kalpha"),
            kalpha_sum=Sum("kalpha"),
            kalpha_sq_sum=Sum(F("kalpha") * F("kalpha")),
            **{name: Sum(name) for name in FIGURES},
        )
    )
    return {
        row.pop("labeler_id"): GoldTotals(**{k: v or 0 for k, v in row.items()}) for row in rows
    }


def qualification_totals(*, project: Project, labeler_id: int) -> tuple[int, GoldTotals]:
    """(qualification answers submitted, their summed figures)."""
    rows = GoldAnswer.objects.filter(project=project, labeler_id=labeler_id, qualification=True)
    sums = rows.aggregate(n=Count("pk"), **{name: Sum(name) for name in FIGURES})
    n = sums.pop("n")
    return n, GoldTotals(images=n, **{k: v or 0 for k, v in sums.items()})


def _estimate(e) -> dict:
    return {"value": e.value, "ci": [e.low, e.high], "n": e.n}


def score_payload(totals: GoldTotals, params: GoldParams) -> dict:
    score = gold_score(totals, params)
    return {
        "images": score.images,
        "score": score.score.value,
        "ci": [score.score.low, score.score.high],
        "confidence": params.confidence,
        "threshold": params.threshold,
        "precision": _estimate(score.precision),
        "recall": _estimate(score.recall),
        "class_accuracy": _estimate(score.class_accuracy),
        "mean_iou": _estimate(score.mean_iou),
        "kalpha": _estimate(score.kalpha),
    }


def labelers_gold(*, project: Project) -> dict[int, dict]:
    """Per labeler with a gold standing: score with intervals, per class, state.

    One query for a project that never served gold (no standing: the report asks on every
    view), two otherwise: the standings with the policy, and the answers' figures, summed here.
    """
    standings = {
        s.labeler_id: s
        for s in LabelerGold.objects.filter(project=project).select_related("project__gold_policy")
    }
    if not standings:
        return {}
    try:
        policy = next(iter(standings.values())).project.gold_policy
    except GoldPolicy.DoesNotExist:
        policy = GoldPolicy(project=project)
    params = gold_params(policy)
    sums: dict[int, list] = {}
    per_class: dict[int, dict[int, list[int]]] = {}
    rows = GoldAnswer.objects.filter(project=project).values_list(
        "labeler_id", "per_class", "kalpha", *FIGURES
    )
    for labeler_id, classes, kalpha, *figures in rows:
        total = sums.setdefault(labeler_id, [0] * (len(FIGURES) + 4))
        total[0] += 1
        for k, value in enumerate(figures):
            total[1 + k] += value
        if kalpha is not None:
            total[-3] += 1
            total[-2] += kalpha
            total[-1] += kalpha * kalpha
        mine = per_class.setdefault(labeler_id, {})
        for class_id, counts in classes.items():
            cell = mine.setdefault(int(class_id), [0, 0, 0])
            for k in range(3):
                cell[k] += counts[k]
    out = {}
    for labeler_id, standing in sorted(standings.items()):
        totals = GoldTotals(*sums[labeler_id]) if labeler_id in sums else GoldTotals()
        payload = score_payload(totals, params)
        payload["per_class"] = {
            class_id: {
                "gold": row["gold"],
                "answered": row["answered"],
                "correct": row["correct"],
                "recall": _estimate(row["recall"]),
                "precision": _estimate(row["precision"]),
            }
            for class_id, row in class_scores(
                {k: tuple(v) for k, v in per_class.get(labeler_id, {}).items()}, params
            ).items()
        }
        paused = standing.state == LabelerGold.State.PAUSED
        payload["state"] = standing.state
        payload["paused"] = paused
        payload["paused_reason"] = standing.reason if paused else ""
        payload["paused_at"] = standing.paused_at if paused else None
        payload["qualified_at"] = standing.qualified_at
        payload["resumed_at"] = standing.resumed_at
        out[labeler_id] = payload
    return out


def paused_count(*, project: Project) -> int:
    return LabelerGold.objects.filter(project=project, state=LabelerGold.State.PAUSED).count()


def gold_images(*, project: Project) -> list[GoldImage]:
    """The project's gold images, newest first, each with ``box_count``, ``answer_count`` and
    ``mean_score`` (summed correct over summed units of its answers; None before any)."""
    golds = list(
        GoldImage.objects.filter(project=project)
        .select_related("image", "instruction_version", "created_by")
        .annotate(box_count=Count("boxes"))
        .order_by("-id")
    )
    answers = {
        row["gold_id"]: row
        for row in GoldAnswer.objects.filter(project=project)
        .values("gold_id")
        .order_by()
        .annotate(n=Count("pk"), tp=Sum("correct"), g=Sum("gold_boxes"), a=Sum("answer_boxes"))
    }
    for gold in golds:
        row = answers.get(gold.pk)
        units = row["g"] + row["a"] - row["tp"] if row else 0
        gold.answer_count = row["n"] if row else 0
        gold.mean_score = row["tp"] / units if units else None
    return golds


def gold_boxes(*, gold: GoldImage) -> list[dict]:
    return [
        {"x": b.x, "y": b.y, "width": b.width, "height": b.height, "label_class": b.label_class_id}
        for b in gold.boxes.order_by("id")
    ]


def unanswered_gold(*, project: Project, labeler):
    """Active gold images of the project on which the labeler has no label set, by id."""
    theirs = Annotation.objects.filter(image_id=OuterRef("image_id"), labeler=labeler)
    return GoldImage.objects.filter(project=project, active=True).exclude(Exists(theirs))


def gold_remaining(*, project: Project, labeler) -> int:
    """Gold images the queue may still give the labeler: those they have not had, while they
    qualify or while the project mixes gold in (0 otherwise)."""
    if not GoldImage.objects.filter(project=project, active=True).exists():
        return 0
    standing = LabelerGold.objects.filter(project=project, labeler=labeler).first()
    qualifying = standing is not None and standing.state == LabelerGold.State.QUALIFYING
    if not qualifying and policy_of(project).rate <= 0:
        return 0
    return unanswered_gold(project=project, labeler=labeler).count()


def gold_card(*, project: Project) -> dict:
    """What the data card says of gold: how many gold images, each labeler's score against
    them with its interval, and that gold answers are in no export but the gold source."""
    golds = GoldImage.objects.filter(project=project)
    policy = policy_of(project)
    rows = labelers_gold(project=project)
    names = dict(get_user_model().objects.filter(pk__in=list(rows)).values_list("pk", "username"))
    return {
        "images": golds.count(),
        "served": golds.filter(active=True).count(),
        "threshold": policy.threshold,
        "confidence": policy.confidence,
        "labelers": [
            {
                "labeler": names[pk],
                "gold_images": row["images"],
                "score": row["score"],
                "ci": row["ci"],
                "paused": row["paused"],
            }
            for pk, row in sorted(rows.items(), key=lambda item: names[item[0]])
            if row["images"]
        ],
    }
