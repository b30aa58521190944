"""Project-level reports built on assessments: class confusion, agreement with a reference."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

from .api import assess_many
from .results import BatchAssessment
from .types import AgreementParams, LabelSet

# Sorts before any real labeler name, and no labeler is called this.
REFERENCE = "\x00reference"


def class_confusion(
    images: BatchAssessment | Iterable[Sequence[LabelSet]],
    params: AgreementParams | None = None,
) -> tuple[tuple[Hashable, ...], np.ndarray]:
    """Class confusion between labelers on matched objects.

    Every pair of boxes (of two labelers) inside one object counts once in each direction, so
    the matrix is symmetric; the diagonal counts agreements. Returns (labels, counts) with
    ``counts[a, b]`` = times one labeler said ``labels[a]`` where another said ``labels[b]``.
    """
    result = images if isinstance(images, BatchAssessment) else assess_many(images, params)
    labels = result.batch.label_names
    ptr = result.object_member_ptr
    size = np.diff(ptr)
    m = len(result.object_member_rows)
    pos = np.arange(m, dtype=np.int64)
    owner = np.repeat(np.arange(len(size)), size)
    counts = ptr[1:][owner] - pos - 1 if m else pos
    p = np.repeat(pos, counts)
    starts = np.cumsum(counts) - counts
    q = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts - pos - 1, counts)
    code = result.batch.label[result.object_member_rows]
    c = len(labels)
    matrix = np.zeros((c, c), dtype=np.int64)
    np.add.at(matrix, (code[p], code[q]), 1)
    np.add.at(matrix, (code[q], code[p]), 1)
    return labels, matrix


class ReferenceAgreement(NamedTuple):
    images: int  # images this labeler labeled that have a reference
    f1: float  # mean IoU-weighted F1 against the reference
    matched: int  # objects matched to a reference object
    mean_iou: float | None  # over matched objects
    label_accuracy: float | None  # share of matched objects with the reference's class


def agreement_with_reference(
    images: Iterable[Sequence[LabelSet]],
    references: Iterable[LabelSet | None],
    params: AgreementParams | None = None,
) -> dict[str, ReferenceAgreement]:
    """Each labeler's agreement with reference labels (e.g. the lead's adjudicated ones).

    ``references`` runs alongside ``images``: one LabelSet (its labeler name is ignored) or None
    for an image without a reference.
    """
    combined = []
    for sets, ref in zip(images, references, strict=True):
        if ref is None:
            continue
        combined.append([*sets, LabelSet(REFERENCE, ref.boxes, ref.labels)])
    result = assess_many(combined, params)
    names = result.batch.labeler_names
    if REFERENCE not in names:
        return {}
    ref_code = names.index(REFERENCE)
    a, b = result.pair_labeler_a, result.pair_labeler_b
    with_ref = (a == ref_code) | (b == ref_code)
    other = np.where(a == ref_code, b, a)[with_ref]
    f1 = result.pair_f1[with_ref]
    matched = result.pair_matched[with_ref]
    iou = np.nan_to_num(result.pair_mean_iou[with_ref]) * matched
    same = _same_label_counts(result, ref_code)
    out = {}
    for code in np.unique(other).tolist():
        sel = other == code
        n_matched = int(matched[sel].sum())
        agree = same.get(code, 0)
        out[names[code]] = ReferenceAgreement(
            images=int(sel.sum()),
            f1=float(f1[sel].mean()),
            matched=n_matched,
            mean_iou=float(iou[sel].sum() / n_matched) if n_matched else None,
            label_accuracy=agree / n_matched if n_matched else None,
        )
    return out


def _same_label_counts(result: BatchAssessment, ref_code: int) -> dict[int, int]:
    """Per labeler code: matched objects where their class equals the reference's."""
    batch = result.batch
    rows = result.object_member_rows
    owner = np.repeat(
        np.arange(len(result.object_member_ptr) - 1), np.diff(result.object_member_ptr)
    )
    labeler = batch.set_labeler[batch.box_set[rows]]
    ref_label = np.full(len(result.object_member_ptr) - 1, -1, dtype=np.int64)
    is_ref = labeler == ref_code
    ref_label[owner[is_ref]] = batch.label[rows[is_ref]]
    agree = ~is_ref & (batch.label[rows] == ref_label[owner])
    counts = np.bincount(labeler[agree], minlength=len(batch.labeler_names))
    return {code: int(n) for code, n in enumerate(counts.tolist()) if n}
