"""Stored habit evidence added up (GROUP BY labeler and class, SUM every column) into the
engine's folded Evidence, over the whole project or over some of its images.

Labelers are coded by user id and classes by class id (-1: none); ``labeler_names`` maps a
user id to itself (a habit names its labeler by id) and ``label_names`` a class id to its name
(the habit's words name classes). quality.engine.habits only compares codes and looks names up.
"""

from __future__ import annotations

import numpy as np
from django.db.models import QuerySet, Sum

from projects.models import Project
from quality.engine.habit_tables import LABELER_CLASS, Evidence
from quality.models import HabitEvidence, HabitPairEvidence


def evidence_fold(*, project: Project, image_ids: QuerySet | None = None) -> Evidence:
    """The project's evidence summed per (labeler, class) and (labeler, class, other class);
    with ``image_ids`` (a values("image_id") queryset or a list), only those images' rows."""
    cells = HabitEvidence.objects.filter(project_id=project.pk)
    pairs = HabitPairEvidence.objects.filter(project_id=project.pk)
    if image_ids is not None:
        cells, pairs = cells.filter(image_id__in=image_ids), pairs.filter(image_id__in=image_ids)
    sums = {f"s{k}": Sum(f"v_{name}") for k, name in enumerate(LABELER_CLASS)}
    rows = list(cells.order_by().values_list("labeler_id", "label_class_id").annotate(**sums))
    pair_rows = list(
        pairs.order_by()
        .values_list("labeler_id", "label_class_id", "other_class_id")
        .annotate(n=Sum("pair_count"), s=Sum("pair_share"))
    )
    labelers = {r[0] for r in rows if r[0] is not None} | {
        r[0] for r in pair_rows if r[0] is not None
    }
    code = lambda v: -1 if v is None else v  # noqa: E731
    values = np.array([[float(x or 0.0) for x in r[2:]] for r in rows], dtype=np.float64)
    return Evidence(
        {u: u for u in labelers},
        dict(project.classes.values_list("pk", "name")),
        None,
        np.array([code(r[0]) for r in rows], dtype=np.int64),
        np.array([code(r[1]) for r in rows], dtype=np.int64),
        values.reshape(len(rows), len(LABELER_CLASS)),
        None,
        np.array([code(r[0]) for r in pair_rows], dtype=np.int64),
        np.array([code(r[1]) for r in pair_rows], dtype=np.int64),
        np.array([code(r[2]) for r in pair_rows], dtype=np.int64),
        np.array([float(r[3] or 0.0) for r in pair_rows], dtype=np.float64),
        np.array([float(r[4] or 0.0) for r in pair_rows], dtype=np.float64),
    )
