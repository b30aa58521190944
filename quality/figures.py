"""Per-image figures in the database: stored when images are assessed, folded by the summary.

``figures_store`` writes the summable rows of quality.engine.figures for the images an
assessment changed (ImageAgreement's figure columns, LabelSetFigures, ClassFigures,
ConfusionFigures); ``figures_fold`` adds up a project's rows in a few grouped queries. The
summary thus never runs the engine over the project: its cost is a handful of aggregates over
indexed rows, whatever changed since the last one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from statistics import median
from typing import TYPE_CHECKING

import numpy as np
from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Sum
from django.db.models.functions import Mod

from quality.bulk import arrays_insert
from quality.engine.figures import (
    ASSESSED_FLAG_KINDS,
    FIGURES_VERSION,
    HISTOGRAM_BINS,
    BatchFigures,
)
from quality.models import ClassFigures, ConfusionFigures, ImageAgreement, LabelSetFigures

if TYPE_CHECKING:
    from projects.models import Project
    from quality.selectors import ImageLabels


def image_instruction_versions(labels: ImageLabels) -> np.ndarray:
    """Per image: the newest instruction version number its label sets were made under (0: none)."""
    version = np.zeros(len(labels.image_ids), dtype=np.int64)
    np.maximum.at(version, labels.batch.set_image, labels.set_instruction_version)
    return version


def figures_delete(*, image_ids: list[int]) -> None:
    for model in (LabelSetFigures, ClassFigures, ConfusionFigures):
        model.objects.filter(image_id__in=image_ids).delete()  # one DELETE: nothing cascades


def figures_store(*, labels: ImageLabels, figures: BatchFigures, changed: np.ndarray) -> None:
    """Replace the per-labeler, per-class and confusion rows of the ``changed`` images.

    The per-image columns are ImageAgreement's and are written with it (the caller's rows).
    Call inside the assessment's transaction.
    """
    ids = labels.image_ids
    figures_delete(image_ids=ids[changed].tolist())
    batch = labels.batch
    project = np.int64(labels.project.pk)

    sets = np.flatnonzero(changed[batch.set_image])
    user_of_code = np.array(
        [labels.labeler_id(c) for c in range(len(batch.labeler_names))] or [0], dtype=np.int32
    )
    flag_columns = {}
    for k, kind in enumerate(ASSESSED_FLAG_KINDS):
        flag_columns[f"deviating_{kind}"] = figures.set_flags_deviating[sets, k].astype(np.int32)
        flag_columns[f"tied_{kind}"] = figures.set_flags_tied[sets, k].astype(np.int32)
    arrays_insert(
        LabelSetFigures,
        {
            "image_id": ids[batch.set_image[sets]].astype(np.int64),
            "project_id": np.full(len(sets), project, dtype=np.int64),
            "labeler_id": user_of_code[batch.set_labeler[sets]],
            "pair_f1_sum": figures.set_pair_f1_sum[sets].astype(np.float64),
            "pair_count": figures.set_pair_count[sets].astype(np.int32),
            "boxes": figures.set_boxes[sets].astype(np.int32),
            "peer_boxes": figures.set_peer_boxes[sets].astype(np.float64),
            "active_seconds": np.nan_to_num(labels.set_active_seconds[sets]).astype(np.float64),
            **flag_columns,
        },
        {},
    )

    class_of_code = np.array(
        [labels.class_ids[name] for name in batch.label_names] + [0], dtype=np.int64
    )  # code -1 (undecided): the last entry, stored as null
    rows = np.flatnonzero(changed[figures.class_image])
    code = figures.class_code[rows]
    arrays_insert(
        ClassFigures,
        {
            "image_id": ids[figures.class_image[rows]].astype(np.int64),
            "project_id": np.full(len(rows), project, dtype=np.int64),
            "label_class_id": class_of_code[code],
            "object_count": figures.class_objects[rows].astype(np.int32),
            "support_sum": figures.class_support_sum[rows].astype(np.float64),
            "confidence_sum": figures.class_confidence_sum[rows].astype(np.float64),
            "iou_sum": figures.class_iou_sum[rows].astype(np.float64),
            "iou_count": figures.class_iou_count[rows].astype(np.int32),
        },
        {"label_class_id": code < 0},
    )

    rows = np.flatnonzero(changed[figures.confusion_image])
    arrays_insert(
        ConfusionFigures,
        {
            "image_id": ids[figures.confusion_image[rows]].astype(np.int64),
            "project_id": np.full(len(rows), project, dtype=np.int64),
            "class_a_id": class_of_code[figures.confusion_a[rows]],
            "class_b_id": class_of_code[figures.confusion_b[rows]],
            "count": figures.confusion_count[rows].astype(np.int32),
        },
        {},
    )


def agreement_figure_values(figures: BatchFigures, versions: np.ndarray, i: int) -> tuple:
    """Image i's figure columns of ImageAgreement, in AGREEMENT_FIGURE_FIELDS order."""
    alpha = float(figures.image_kalpha[i])
    return (
        None if math.isnan(alpha) else alpha,
        int(figures.image_score_bin[i]),
        int(versions[i]),
        FIGURES_VERSION,
    )


AGREEMENT_FIGURE_FIELDS = ["kalpha", "score_bin", "instruction_version", "figures_version"]


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
