"""Per-image figures added up: what the project summary stores, read in a few grouped queries.

The rows were written when the images were assessed (quality.services.figures); the summary
thus never runs the engine over the project: its cost is a handful of aggregates over indexed
rows, whatever changed since the last one.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Sum
from django.db.models.functions import Mod

from quality.engine.figures import (
    ASSESSED_FLAG_KINDS,
    FIGURES_VERSION,
    HISTOGRAM_BINS,
)
from quality.models import ClassFigures, ConfusionFigures, ImageAgreement, LabelSetFigures

if TYPE_CHECKING:
    from projects.models import Project


def summary_key(project_id: int, what: str = "pending") -> str:
    """The cache key (Redis, shared by web and workers) of the project's summary state: "pending"
    (scheduled), "running", "again" (asked while running), "seconds" (the last one's duration)."""
    return f"concord:summary-{what}:{project_id}"


def summary_pending(*, project_id: int) -> bool:
    """Whether a summary is scheduled or running: the stored figures are about to change."""
    return bool(cache.get_many([summary_key(project_id), summary_key(project_id, "running")]))


# Multiplicative hashing of the image id: a rank that does not move when other images come and go.
SAMPLE_RANK_FACTOR = 2654435761
SAMPLE_RANK_MODULUS = 2**32


def sample_agreements(*, project: Project, size: int) -> list[tuple[int, str]]:
    """(image id, input digest) of at most ``size`` assessed images of the project: those with
    the lowest rank (a hash of the id), so a new or changed image changes the sample only when
    it is in it."""
    rank = Mod(F("image_id") * SAMPLE_RANK_FACTOR, SAMPLE_RANK_MODULUS)
    return list(
        ImageAgreement.objects.filter(image__project_id=project.pk)
        .annotate(rank=rank)
        .order_by("rank", "image_id")
        .values_list("image_id", "input_digest")[:size]
    )


class _Median(Aggregate):
    """PostgreSQL's interpolated median: the same value as statistics.median."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def figures_fold(*, project: Project) -> dict:
    """The project's stored figures added up: what the summary stores, in a few queries.

    Returns {"images", "score_sum", "kalpha", "histogram", "versions": {number: (images,
    score sum, mean K-alpha)}, "labelers": {user id: {...}}, "per_class": {class id or None:
    (objects, support sum, confidence sum, IoU sum, IoU count)}, "confusion": {(class a id,
    class b id): count}, "stale": images whose figures are missing or of another version}.
    """
    # One grouped read of the images' own columns gives the totals, histogram and versions.
    cells = (
        ImageAgreement.objects.filter(image__project_id=project.pk)
        .order_by()
        .values_list("score_bin", "instruction_version", "figures_version")
        .annotate(n=Count("id"), s=Sum("score"), k=Sum("kalpha"), nk=Count("kalpha"))
    )
    histogram = [0] * HISTOGRAM_BINS
    by_version: dict[int, list] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    images = stale = 0
    for score_bin, version, figures_version, n, score, alpha, n_alpha in cells:
        images += n
        stale += n if figures_version != FIGURES_VERSION else 0
        histogram[min(int(score_bin), HISTOGRAM_BINS - 1)] += n
        cell = by_version[int(version)]
        for j, value in enumerate((n, score or 0.0, alpha or 0.0, n_alpha)):
            cell[j] += value
    alpha_sum = sum(c[2] for c in by_version.values())
    alpha_n = sum(c[3] for c in by_version.values())
    versions = {v: (n, s, a / na if na else None) for v, (n, s, a, na) in by_version.items()}
    return {
        "images": images,
        "score_sum": float(sum(c[1] for c in by_version.values())),
        "kalpha": alpha_sum / alpha_n if alpha_n else None,
        "histogram": histogram,
        "versions": versions,
        "labelers": _labelers_fold(project),
        "per_class": {
            c: (n, float(s), float(k), float(i), ni)
            for c, n, s, k, i, ni in ClassFigures.objects.filter(project_id=project.pk)
            .order_by()
            .values_list("label_class_id")
            .annotate(
                n=Sum("object_count"),
                s=Sum("support_sum"),
                k=Sum("confidence_sum"),
                i=Sum("iou_sum"),
                ni=Sum("iou_count"),
            )
        },
        "confusion": {
            (a, b): n
            for a, b, n in ConfusionFigures.objects.filter(project_id=project.pk)
            .order_by()
            .values_list("class_a_id", "class_b_id")
            .annotate(n=Sum("count"))
        },
        "stale": stale,
    }


def _labelers_fold(project: Project) -> dict[int, dict]:
    rows = LabelSetFigures.objects.filter(project_id=project.pk).order_by()
    extra = (
        {"median_seconds": _Median("active_seconds")} if connection.vendor == "postgresql" else {}
    )
    out = {}
    for row in rows.values("labeler_id").annotate(
        sets=Count("id"),
        f1=Sum("pair_f1_sum"),
        pairs=Sum("pair_count"),
        boxes=Sum("boxes"),
        peer=Sum("peer_boxes"),
        **{f"deviating_{k}": Sum(f"deviating_{k}") for k in ASSESSED_FLAG_KINDS},
        **{f"tied_{k}": Sum(f"tied_{k}") for k in ASSESSED_FLAG_KINDS},
        **extra,
    ):
        row["flag_counts"] = {k: n for k in ASSESSED_FLAG_KINDS if (n := row.pop(f"deviating_{k}"))}
        row["tied_flag_counts"] = {k: n for k in ASSESSED_FLAG_KINDS if (n := row.pop(f"tied_{k}"))}
        out[row["labeler_id"]] = row
    if not extra:  # SQLite (the embedded default, small projects): the median in Python
        seconds = defaultdict(list)
        for user_id, value in rows.values_list("labeler_id", "active_seconds"):
            seconds[user_id].append(value)
        for user_id, values in seconds.items():
            out[user_id]["median_seconds"] = median(values)
    return out
