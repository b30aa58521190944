"""A model's predictions against the labelers' consensus: pure numpy/scipy.

A model is never a labeler: its boxes take no part in consensus, K-alpha or anyone's figures.
It is compared with what the labelers settled, to find the label errors people miss (the cases
ObjectLab and FiftyOne's "mistakenness" look for):

- *unboxed*: a prediction that overlaps no labeler's box at ``match_iou``: an object the model
  finds that no labeler boxed;
- *relabeled*: a consensus object matched (one to one, optimal IoU, at ``match_iou``) by a
  prediction of another class: the model calls the object something else.

Only predictions scoring at least ``min_score`` are looked at (the caller usually keeps only
those anyway). Inputs are flat arrays with an image index per row; nothing is assumed sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

TIE = -1  # the class code of a consensus object whose labelers' classes tie


@dataclass(frozen=True)
class ModelComparisonResult:
    """Per prediction: ``pred_object`` (the consensus row it matched, -1 for none) and
    ``pred_boxed`` (a labeler's box overlaps it at match_iou). ``unboxed`` and ``relabeled``
    are the prediction rows to flag; ``considered``: the predictions at or above min_score."""

    pred_object: np.ndarray
    pred_boxed: np.ndarray
    considered: np.ndarray
    unboxed: np.ndarray
    relabeled: np.ndarray


def compare_with_consensus(
    *,
    consensus_image: np.ndarray,
    consensus_xywh: np.ndarray,
    consensus_label: np.ndarray,
    labeler_image: np.ndarray,
    labeler_xywh: np.ndarray,
    pred_image: np.ndarray,
    pred_xywh: np.ndarray,
    pred_label: np.ndarray,
    pred_score: np.ndarray,
    match_iou: float = 0.5,
    min_score: float = 0.0,
) -> ModelComparisonResult:
    """Match each image's predictions to its consensus objects and its labelers' boxes.

    Labels are integer codes (consensus ``TIE`` for a class tie: never called relabeled).
    Where candidates compete with equal IoU, rows given first win: pass rows in a stable
    order (the pipeline passes them by box id).
    """
    consensus_image = np.asarray(consensus_image, dtype=np.int64)
    labeler_image = np.asarray(labeler_image, dtype=np.int64)
    pred_image = np.asarray(pred_image, dtype=np.int64)
    consensus_xywh = np.asarray(consensus_xywh, dtype=np.float64).reshape(-1, 4)
    labeler_xywh = np.asarray(labeler_xywh, dtype=np.float64).reshape(-1, 4)
    pred_xywh = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    pred_label = np.asarray(pred_label, dtype=np.int64)
    consensus_label = np.asarray(consensus_label, dtype=np.int64)
    considered = np.asarray(pred_score, dtype=np.float64) >= min_score

    n = len(pred_image)
    pred_object = np.full(n, -1, dtype=np.int64)
    pred_boxed = np.zeros(n, dtype=bool)
    picked = np.flatnonzero(considered)
    if len(picked):
        pred_boxed[picked] = _overlaps_any(
            pred_image[picked], pred_xywh[picked], labeler_image, labeler_xywh, match_iou
        )
        pred_object[picked] = _match_one_to_one(
            pred_image[picked], pred_xywh[picked], consensus_image, consensus_xywh, match_iou
        )
    matched = pred_object >= 0
    object_label = np.full(n, TIE, dtype=np.int64)
    object_label[matched] = consensus_label[pred_object[matched]]
    relabeled = matched & (object_label != TIE) & (object_label != pred_label)
    return ModelComparisonResult(
        pred_object=pred_object,
        pred_boxed=pred_boxed,
        considered=considered,
        unboxed=np.flatnonzero(considered & ~pred_boxed & ~matched),
        relabeled=np.flatnonzero(relabeled),
    )


def _image_pairs(a_image: np.ndarray, b_image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (row of a, row of b) pair within one image, as two index arrays."""
    if not len(a_image) or not len(b_image):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    b_order = np.argsort(b_image, kind="stable")
    b_sorted = b_image[b_order]
    start = np.searchsorted(b_sorted, a_image, side="left")
    stop = np.searchsorted(b_sorted, a_image, side="right")
    counts = stop - start
    a_rows = np.repeat(np.arange(len(a_image)), counts)
    offsets = np.cumsum(counts) - counts
    within = np.arange(counts.sum()) - np.repeat(offsets, counts)
    return a_rows, b_order[np.repeat(start, counts) + within]


def _pair_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return inter / union


def _overlaps_any(image, xywh, other_image, other_xywh, match_iou: float) -> np.ndarray:
    rows, others = _image_pairs(image, other_image)
    hit = _pair_iou(xywh[rows], other_xywh[others]) >= match_iou
    out = np.zeros(len(image), dtype=bool)
    out[rows[hit]] = True
    return out


def _match_one_to_one(image, xywh, obj_image, obj_xywh, match_iou: float) -> np.ndarray:
    """For each row, the object it is matched to (-1): maximum total IoU, pairs >= match_iou.

    Pairs where neither side has another candidate are taken as they are; images where
    candidates compete are solved by the Hungarian method on that image alone.
    """
    out = np.full(len(image), -1, dtype=np.int64)
    rows, objs = _image_pairs(image, obj_image)
    iou = _pair_iou(xywh[rows], obj_xywh[objs])
    keep = iou >= match_iou
    rows, objs, iou = rows[keep], objs[keep], iou[keep]
    if not len(rows):
        return out
    row_degree = np.bincount(rows, minlength=len(image))
    obj_degree = np.bincount(objs, minlength=len(obj_image))
    alone = (row_degree[rows] == 1) & (obj_degree[objs] == 1)
    out[rows[alone]] = objs[alone]
    contested = ~alone
    for img in np.unique(image[rows[contested]]).tolist():
        sel = contested & (image[rows] == img)
        r_ids, r_pos = np.unique(rows[sel], return_inverse=True)
        o_ids, o_pos = np.unique(objs[sel], return_inverse=True)
        cost = np.zeros((len(r_ids), len(o_ids)))
        cost[r_pos, o_pos] = -iou[sel]
        r_sel, o_sel = linear_sum_assignment(cost)
        good = cost[r_sel, o_sel] < 0
        out[r_ids[r_sel[good]]] = o_ids[o_sel[good]]
    return out


def comparison_counts(
    result: ModelComparisonResult,
    *,
    consensus_image: np.ndarray,
    consensus_label: np.ndarray,
    pred_image: np.ndarray,
    pred_label: np.ndarray,
) -> dict[tuple[int, int], list[int]]:
    """Per (image, class code): [consensus, predicted, agreed, other_class, unboxed].

    consensus: consensus objects of the class; predicted: considered predictions of the class;
    agreed / other_class: consensus objects of the class matched by a prediction of the same /
    another class; unboxed: predictions of the class that no labeler boxed.
    """
    out: dict[tuple[int, int], list[int]] = {}

    def add(images, labels, column):
        if not len(images):
            return
        keys, counts = np.unique(np.column_stack([images, labels]), axis=0, return_counts=True)
        for (img, label), n in zip(keys.tolist(), counts.tolist(), strict=True):
            out.setdefault((img, label), [0, 0, 0, 0, 0])[column] += n

    consensus_image = np.asarray(consensus_image, dtype=np.int64)
    consensus_label = np.asarray(consensus_label, dtype=np.int64)
    pred_image = np.asarray(pred_image, dtype=np.int64)
    pred_label = np.asarray(pred_label, dtype=np.int64)
    add(consensus_image, consensus_label, 0)
    c = result.considered
    add(pred_image[c], pred_label[c], 1)
    matched = np.flatnonzero(result.pred_object >= 0)
    objects = result.pred_object[matched]
    decided = consensus_label[objects] != TIE  # a tie is neither agreed with nor contradicted
    same = decided & (consensus_label[objects] == pred_label[matched])
    other = decided & ~same
    add(consensus_image[objects[same]], consensus_label[objects[same]], 2)
    add(consensus_image[objects[other]], consensus_label[objects[other]], 3)
    add(pred_image[result.unboxed], pred_label[result.unboxed], 4)
    return out
