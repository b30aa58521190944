"""Project and labeler figures: ProjectAgreement and LabelerAgreement rows.

Figures that add up over images (scores and their histogram, K-alpha, pairwise F1, boxes, class
confusion, per class, per instruction version) are stored per image when it is assessed and
folded here (quality.figures): the summary never assesses the project again. The K-alpha
threshold sweep and vitality are not sums; they are computed on a bounded, stable sample of
images (AGREEMENT_SWEEP_SAMPLE), again only when its labels changed.
"""

from __future__ import annotations

import hashlib
import math

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from annotations.models import Annotation
from projects.models import Project
from quality.engine import (
    ENGINE_VERSION,
    agreement_with_reference,
    alpha_sweep,
    vitality,
)
from quality.engine.figures import histogram_edges
from quality.models import Flag, LabelerAgreement, ProjectAgreement, ReportFigures
from quality.selectors.figures import figures_fold, sample_agreements
from quality.selectors.labels import (
    adjudicated_label_sets,
    images_labels,
    params_as_dict,
    project_params,
)
from quality.selectors.report import class_key, flag_counts, image_progress, worst_image_ids

SWEEP = tuple(round(0.1 * k, 1) for k in range(1, 10))


def project_summarize(*, project: Project) -> ProjectAgreement:
    """Store the project's and each labeler's agreement figures, and the report's figures.

    Every figure that adds up over images is folded from the rows stored when the images were
    assessed (quality.figures): no image is assessed again here. Only the K-alpha threshold
    sweep and vitality are computed here, on a bounded sample of images, and only when that
    sample's labels changed since the last summary. The project's habits are refreshed after
    it, by a task of their own (quality.tasks.patterns_schedule): they fold far more rows, and
    the report's figures do not wait for them.
    """
    report_figures_refresh(project=project)
    folded = figures_fold(project=project)
    sampled = _sampled_figures(project)
    return _summary_store(project, folded, sampled)


def report_figures_refresh(*, project: Project) -> ReportFigures:
    """Store the report's progress, flag counts and worst images (ReportFigures).

    Progress and the worst images are read before the row is locked: they take the longest and
    no decision changes them. The flag counts are read after the lock, so a decision committed
    meanwhile is either counted here or applied (flag_counts_move) on top of these counts.
    """
    progress = image_progress(project=project)
    worst = worst_image_ids(project=project)
    with transaction.atomic():
        figures, _ = ReportFigures.objects.get_or_create(
            project=project, defaults={"computed_at": timezone.now()}
        )
        figures = ReportFigures.objects.select_for_update().get(pk=figures.pk)
        counts = flag_counts(project=project)
        figures.progress = progress
        figures.worst_images = worst
        figures.flags_by_kind = counts["flags_by_kind"]
        figures.open_flags_by_class = counts["open_flags_by_class"]
        figures.computed_at = timezone.now()
        figures.save()
    return figures


def _count_add(counts: dict, key: str, step: int) -> None:
    """Add step to counts[key]; a count that reaches zero is dropped, as a recount has none."""
    value = max(counts.get(key, 0) + step, 0)
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)


def flag_counts_move(*, project_id: int, moves: list[tuple[str, int | None, str, str]]) -> None:
    """Move stored flag counts for flags whose status a lead changed, in the caller's transaction.

    ``moves`` holds (kind, label_class_id, old status, new status) per flag. Without stored
    figures there is nothing to move: the report counts live until the next summary.
    """
    moves = [m for m in moves if m[2] != m[3]]
    if not moves:
        return
    figures = ReportFigures.objects.select_for_update().filter(project_id=project_id).first()
    if figures is None:
        return
    by_kind, by_class = figures.flags_by_kind, figures.open_flags_by_class
    for kind, label_class_id, old, new in moves:
        statuses = by_kind.setdefault(kind, {})
        for status, step in ((old, -1), (new, 1)):
            if status != Flag.Status.SUPERSEDED:
                _count_add(statuses, status, step)
            if status == Flag.Status.OPEN:
                _count_add(by_class, class_key(label_class_id), step)
    figures.flags_changed_at = timezone.now()
    figures.save(update_fields=["flags_by_kind", "open_flags_by_class", "flags_changed_at"])


def _sampled_figures(project: Project) -> dict:
    """The threshold sweep and vitality on a sample of at most AGREEMENT_SWEEP_SAMPLE assessed
    images, reused from the stored summary while the sample's labels are unchanged.

    The sample is the images with the lowest ``sample_rank``: adding or changing one image
    changes the sample only if that image is in it, so most summaries reuse the last figures.
    """
    rows = sample_agreements(project=project, size=settings.AGREEMENT_SWEEP_SAMPLE)
    digest = hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()
    out = {"sweep_images": len(rows), "sample_digest": digest}
    stored = ProjectAgreement.objects.filter(project=project).first()
    if stored is not None and stored.params.get("sample_digest") == digest:
        vital = dict(
            LabelerAgreement.objects.filter(project=project).values_list("labeler_id", "vitality")
        )
        return out | {"sweep": stored.threshold_sweep, "vitality": vital}
    groups = images_labels(image_ids=[pk for pk, _ in rows])
    if not groups:
        return out | {"sweep": [], "vitality": {}}
    labels = groups[0]
    sweep = alpha_sweep(labels.batch, SWEEP)
    vital = vitality(labels.batch, labels.params.match_iou)
    return out | {
        "sweep": [[t, _finite(a)] for t, a in sweep.items()],
        "vitality": {labels.labeler_ids[name]: _finite(v) for name, v in vital.items()},
    }


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _adjudicated(project: Project) -> dict[int, float]:
    """Each labeler's mean IoU-weighted F1 against the lead's adjudicated labels."""
    images, references, labeler_ids = adjudicated_label_sets(project=project)
    if not images:
        return {}
    found = agreement_with_reference(images, references, project_params(project))
    return {labeler_ids[name]: r.f1 for name, r in found.items()}


@transaction.atomic
def _summary_store(project: Project, folded: dict, sampled: dict) -> ProjectAgreement:
    now = timezone.now()
    images = folded["images"]
    names = dict(project.classes.values_list("pk", "name"))

    def name(class_id: int | None) -> str:
        return "undecided" if class_id is None else names.get(class_id, str(class_id))

    per_class = {
        name(c): {
            "objects": n,
            "support": support / n,
            "label_confidence": confidence / n,
            "mean_iou": iou / iou_n if iou_n else None,
        }
        for c, (n, support, confidence, iou, iou_n) in folded["per_class"].items()
        if n
    }
    confusion = {(name(a), name(b)): n for (a, b), n in folded["confusion"].items() if n}
    confusion_labels = sorted({a for a, _ in confusion})
    matrix = [[confusion.get((a, b), 0) for b in confusion_labels] for a in confusion_labels]
    edges = histogram_edges()
    histogram = [
        {"from": edges[i], "to": edges[i + 1], "count": c}
        for i, c in enumerate(folded["histogram"])
    ]
    by_version = [
        {
            "version": v or None,
            "images": n,
            "mean_score": total / n if n else None,
            "kalpha": _finite(alpha),
        }
        for v, (n, total, alpha) in sorted(folded["versions"].items())
    ]
    summary, _ = ProjectAgreement.objects.update_or_create(
        project=project,
        defaults={
            "kalpha": _finite(folded["kalpha"]),
            "mean_score": folded["score_sum"] / images if images else None,
            "images_assessed": images,
            "threshold_sweep": sampled["sweep"],
            "class_confusion": {"labels": confusion_labels, "matrix": matrix},
            "per_class": dict(sorted(per_class.items())),
            "score_histogram": histogram,
            "by_instruction_version": by_version,
            "params": params_as_dict(project_params(project))
            | {
                "kalpha_images": images,
                "sweep_images": sampled["sweep_images"],
                "sample_digest": sampled["sample_digest"],
                "images_awaiting_figures": folded["stale"],
            },
            "engine_version": ENGINE_VERSION,
            "computed_at": now,
        },
    )
    _labelers_store(project, folded["labelers"], sampled["vitality"], now)
    return summary


def _labelers_store(project: Project, folded: dict[int, dict], vital: dict, now) -> None:
    submitted = dict(
        Annotation.objects.filter(
            image__project=project,
            kind=Annotation.Kind.LABEL,
            status=Annotation.Status.SUBMITTED,
        )
        .values("labeler_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("labeler_id", "n")
    )
    adjudicated = _adjudicated(project)
    users = set(submitted) | set(folded)
    rows = []
    for user_id in sorted(users):
        row = folded.get(user_id) or {}
        sets = row.get("sets") or 0
        rows.append(
            LabelerAgreement(
                project=project,
                labeler_id=user_id,
                images_submitted=submitted.get(user_id, 0),
                agreement_with_peers=row["f1"] / row["pairs"] if row.get("pairs") else None,
                agreement_with_adjudicated=adjudicated.get(user_id),
                vitality=vital.get(user_id),
                boxes_per_image=row["boxes"] / sets if sets else None,
                peer_boxes_per_image=row["peer"] / sets if sets else None,
                median_seconds=row.get("median_seconds") if sets else None,
                flag_counts=dict(sorted(row.get("flag_counts", {}).items())),
                tied_flag_counts=dict(sorted(row.get("tied_flag_counts", {}).items())),
                computed_at=now,
            )
        )
    LabelerAgreement.objects.filter(project=project).exclude(labeler_id__in=users).delete()
    LabelerAgreement.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["project", "labeler"],
        update_fields=[
            "images_submitted",
            "agreement_with_peers",
            "agreement_with_adjudicated",
            "vitality",
            "boxes_per_image",
            "peer_boxes_per_image",
            "median_seconds",
            "flag_counts",
            "tied_flag_counts",
            "computed_at",
        ],
    )
