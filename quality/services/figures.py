"""Per-image figures written when images are assessed (quality.engine.figures), for the summary to fold.

``figures_store`` writes the summable rows for the images an assessment changed
(LabelSetFigures, ClassFigures, ConfusionFigures; the per-image columns are ImageAgreement's,
written with it). quality.selectors.figures adds them up.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from quality.dbcopy import arrays_insert
from quality.engine.figures import ASSESSED_FLAG_KINDS, FIGURES_VERSION, BatchFigures
from quality.models import ClassFigures, ConfusionFigures, LabelSetFigures

if TYPE_CHECKING:
    from quality.selectors.labels import LabelBatch


def image_instruction_versions(labels: LabelBatch) -> np.ndarray:
    """Per image: the newest instruction version number its label sets were made under (0: none)."""
    version = np.zeros(len(labels.image_ids), dtype=np.int64)
    np.maximum.at(version, labels.batch.set_image, labels.set_instruction_version)
    return version


def figures_delete(*, image_ids: list[int]) -> None:
    for model in (LabelSetFigures, ClassFigures, ConfusionFigures):
        model.objects.filter(image_id__in=image_ids).delete()  # one DELETE: nothing cascades


def figures_store(*, labels: LabelBatch, figures: BatchFigures, changed: np.ndarray) -> None:
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
