"""Habit evidence written when images are assessed (quality.engine.habit_evidence), for the
summary to fold into the project's habits (quality.services.patterns).

As the per-image figures (quality.services.figures): the rows of the images an assessment
changed are replaced (one DELETE and one COPY/INSERT per table), so the cost of a submit is
bounded by its image, and the summary adds the rows up instead of assessing again. Labelers and
classes are stored by id; code -1 (the project's rows, a class tie) is stored as null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quality.dbcopy import arrays_insert
from quality.engine.habit_evidence import habit_evidence
from quality.engine.habit_tables import LABELER_CLASS
from quality.engine.results import BatchAssessment
from quality.models import HabitEvidence, HabitPairEvidence

if TYPE_CHECKING:
    from quality.selectors.labels import LabelBatch


def habit_evidence_delete(*, image_ids: list[int]) -> None:
    for model in (HabitEvidence, HabitPairEvidence):
        model.objects.filter(image_id__in=image_ids).delete()  # nothing cascades


def habit_evidence_store(*, labels: LabelBatch, result: BatchAssessment, changed: np.ndarray):
    """Replace the habit evidence rows of the ``changed`` images. Call inside the assessment's
    transaction."""
    ids = labels.image_ids
    habit_evidence_delete(image_ids=ids[changed].tolist())
    ev = habit_evidence(result)
    batch = labels.batch
    project = np.int64(labels.project.pk)
    # Code -1 indexes the last entry (stored as null).
    user_of_code = np.array(
        [labels.labeler_id(c) for c in range(len(batch.labeler_names))] + [0], dtype=np.int32
    )
    class_of_code = np.array(
        [labels.class_ids[name] for name in batch.label_names] + [0], dtype=np.int64
    )

    rows = np.flatnonzero(changed[ev.image])
    labeler, label = ev.labeler[rows], ev.label_class[rows]
    arrays_insert(
        HabitEvidence,
        {
            "image_id": ids[ev.image[rows]].astype(np.int64),
            "project_id": np.full(len(rows), project, dtype=np.int64),
            "labeler_id": user_of_code[labeler],
            "label_class_id": class_of_code[label],
            **{
                f"v_{name}": ev.values[rows, k].astype(np.float64)
                for k, name in enumerate(LABELER_CLASS)
            },
        },
        {"labeler_id": labeler < 0, "label_class_id": label < 0},
    )

    rows = np.flatnonzero(changed[ev.pair_image])
    labeler, label, other = ev.pair_labeler[rows], ev.pair_class[rows], ev.pair_other[rows]
    arrays_insert(
        HabitPairEvidence,
        {
            "image_id": ids[ev.pair_image[rows]].astype(np.int64),
            "project_id": np.full(len(rows), project, dtype=np.int64),
            "labeler_id": user_of_code[labeler],
            "label_class_id": class_of_code[label],
            "other_class_id": class_of_code[other],
            "pair_count": ev.pair_count[rows].astype(np.float64),
            "pair_share": ev.pair_share[rows].astype(np.float64),
        },
        {"labeler_id": labeler < 0, "label_class_id": label < 0, "other_class_id": other < 0},
    )
