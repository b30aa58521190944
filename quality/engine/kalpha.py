"""K-alpha: Krippendorff's alpha for boxes (Tschirschwitz et al. 2022), as kalphacv computes it.

Per image, a reliability matrix of labelers x units is built by matching boxes: the labelers
are taken in name order; each new labeler's boxes are matched (Hungarian on 1 - IoU, a match
needs 1 - IoU < 1 - threshold) against the units already filled by each earlier labeler in turn,
where the new labeler has no box yet; boxes left over open new units. A labeler without a box
in a unit gets the filler class. Nominal alpha (the ``krippendorff`` package) over that matrix
is the image's alpha; one class only gives 1, an undefined alpha gives 0, values are rounded
to 4 places - all as in the reference implementation ``kalphacv``. The mean over images is K-alpha.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import krippendorff
import numpy as np
from scipy.optimize import linear_sum_assignment

from .batch import BoxBatch
from .geometry import canonical_order, iou_matrix_xywh, sweep_keys
from .types import LabelSet

DEFAULT_THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(1, 10))


class KAlpha(NamedTuple):
    mean: float  # mean over images; NaN for no image
    per_image: list[float]


def _as_batch(images) -> BoxBatch:
    return images if isinstance(images, BoxBatch) else BoxBatch.from_label_sets(images)


def kalpha(
    images: Iterable[Sequence[LabelSet]] | BoxBatch,
    match_iou: float = 0.5,
    *,
    exclude: str | None = None,
) -> KAlpha:
    """K-alpha of many images at one IoU threshold; ``exclude`` leaves one labeler out."""
    batch = _as_batch(images)
    per_image = [_image_alpha(*parts, match_iou) for parts in _images(batch, exclude)]
    mean = sum(per_image) / len(per_image) if per_image else math.nan
    return KAlpha(mean, per_image)


def alpha_sweep(
    images: Iterable[Sequence[LabelSet]] | BoxBatch,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
) -> dict[float, float]:
    """Mean K-alpha for each IoU threshold (default 0.1, 0.2, ..., 0.9)."""
    batch = _as_batch(images)
    parts = list(_images(batch, None))
    out = {}
    for t in thresholds:
        values = [_image_alpha(*p, t) for p in parts]
        out[t] = sum(values) / len(values) if values else math.nan
    return out


def vitality(
    images: Iterable[Sequence[LabelSet]] | BoxBatch, match_iou: float = 0.5
) -> dict[str, float]:
    """Per labeler: K-alpha with everyone minus K-alpha without them.

    Only images the labeler labeled together with at least two others count (with one other
    left, alpha without them is undefined). Positive: the labeler raises agreement. NaN when
    no image qualifies.
    """
    batch = _as_batch(images)
    counts = np.bincount(batch.set_image, minlength=batch.n_images)
    out = {}
    for code, name in enumerate(batch.labeler_names):
        with_them = batch.set_image[(batch.set_labeler == code) & (counts[batch.set_image] >= 3)]
        if len(with_them) == 0:
            out[name] = math.nan
            continue
        keep = np.zeros(batch.n_images, dtype=bool)
        keep[with_them] = True
        all_in = [_image_alpha(*p, match_iou) for i, p in enumerate(_images(batch)) if keep[i]]
        without = [
            _image_alpha(*p, match_iou) for i, p in enumerate(_images(batch, name)) if keep[i]
        ]
        out[name] = sum(all_in) / len(all_in) - sum(without) / len(without)
    return out


def _images(batch: BoxBatch, exclude: str | None = None):
    """Per image: (xywh, class codes starting at 1, labeler index per box, labeler count)."""
    image = batch.set_image[batch.box_set]
    key, _ = sweep_keys(image, batch.xywh)
    n_labels = max(len(batch.label_names), 1)
    order = canonical_order(key, batch.xywh, batch.box_set * n_labels + batch.label)
    # Within an image: by labeler, then canonical order (the reference uses input order;
    # it matters only for exact ties).
    order = order[np.argsort(batch.box_set[order], kind="stable")]
    skip = -1
    if exclude is not None and exclude in batch.labeler_names:
        skip = batch.labeler_names.index(exclude)
    box_ptr = np.searchsorted(image[order], np.arange(batch.n_images + 1))
    set_ptr = np.searchsorted(batch.set_image, np.arange(batch.n_images + 1))
    for i in range(batch.n_images):
        labelers = batch.set_labeler[set_ptr[i] : set_ptr[i + 1]]
        rows = order[box_ptr[i] : box_ptr[i + 1]]
        local = batch.box_set[rows] - set_ptr[i]
        if skip >= 0 and (labelers == skip).any():
            gone = int(np.flatnonzero(labelers == skip)[0])
            keep = local != gone
            rows, local = rows[keep], local[keep]
            local = local - (local > gone)
            n_labelers = len(labelers) - 1
        else:
            n_labelers = len(labelers)
        yield batch.xywh[rows], batch.label[rows] + 1, local, n_labelers


def _image_alpha(
    xywh: np.ndarray, classes: np.ndarray, labeler: np.ndarray, n_labelers: int, threshold: float
) -> float:
    units = _reliability_matrix(xywh, labeler, n_labelers, threshold)
    data = np.where(units >= 0, classes[np.maximum(units, 0)], 0).astype(np.float64)
    if len(np.unique(data)) <= 1:
        return 1.0
    alpha = round(float(krippendorff.alpha(data, level_of_measurement="nominal")), 4)
    return 0.0 if math.isnan(alpha) else alpha


def _reliability_matrix(
    xywh: np.ndarray, labeler: np.ndarray, n_labelers: int, threshold: float
) -> np.ndarray:
    """Labelers x units of box indices (-1: no box), built as kalphacv builds it."""
    boxes_of = [np.flatnonzero(labeler == k) for k in range(n_labelers)]
    if n_labelers == 0:
        return np.zeros((0, 0), dtype=np.int64)
    cost = 1.0 - iou_matrix_xywh(xywh, xywh)
    limit = 1.0 - threshold
    units = np.full((n_labelers, len(boxes_of[0])), -1, dtype=np.int64)
    units[0] = boxes_of[0]
    for k in range(1, n_labelers):
        unmatched = boxes_of[k]
        for earlier in range(k):
            if len(unmatched) == 0:
                break
            cols = np.flatnonzero((units[k] < 0) & (units[earlier] >= 0))
            if len(cols) == 0:
                continue
            sub = cost[np.ix_(units[earlier, cols], unmatched)]
            close = sub < limit
            row_ok, col_ok = close.any(axis=1), close.any(axis=0)
            if not row_ok.any():
                continue
            sub = sub[np.ix_(row_ok, col_ok)]
            r, c = linear_sum_assignment(sub)
            good = sub[r, c] < limit
            units[k, cols[row_ok][r[good]]] = unmatched[col_ok][c[good]]
            unmatched = np.setdiff1d(unmatched, unmatched[col_ok][c[good]])
        if len(unmatched):
            extra = np.full((n_labelers, len(unmatched)), -1, dtype=np.int64)
            extra[k] = unmatched
            units = np.concatenate([units, extra], axis=1)
    return units
