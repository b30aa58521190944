"""Per-image figures in a summable shape: computed once when images are assessed, folded many times.

The project summary adds these up (in the database, by the pipeline) instead of assessing every
image again. One image gives:

- per image (``image_*``): its score, the histogram bin of that score, its K-alpha at the
  project's match IoU (the mean over images is the project's K-alpha, exactly);
- per label set (``set_*``, the batch's label-set order): the sum and count of the pairwise F1
  of the pairs the labeler is in, the boxes drawn, the peers' mean boxes;
- per label set, per kind the engine raises (``set_flags_deviating``, ``set_flags_tied``):
  the image's flags in which the labeler is the one who deviates, and those that involve the
  labeler with no majority either way (the flags the pipeline keeps live are exactly these);
- per (image, class) (``class_*``): objects, and sums of support, label confidence and mean IoU
  (with the count of objects that have a mean IoU: one box alone has none);
- per (image, class a, class b) (``confusion_*``): how often one labeler said a where another
  said b, inside one object (both directions, the diagonal counts agreements).

A change to what is stored, or to how it is computed, bumps FIGURES_VERSION: stored rows of
another version are assessed again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kalpha import kalpha
from .results import BatchAssessment
from .types import FLAG_KINDS, NEAR_DUPLICATE_CONFLICT

# The kinds an assessment raises per image (near-duplicate conflicts are found across images).
ASSESSED_FLAG_KINDS = tuple(k for i, k in enumerate(FLAG_KINDS) if i != NEAR_DUPLICATE_CONFLICT)

# 2: each image's habit evidence (habit_tables, EVIDENCE_VERSION 1) is stored with its figures,
# so results stored before it are assessed again by the sweep; a bump of EVIDENCE_VERSION bumps
# this too (ImageAgreement.figures_version is what the sweep compares).
FIGURES_VERSION = 2
HISTOGRAM_BINS = 10
UNDECIDED = -1  # class code of objects whose labelers' classes tie


@dataclass(frozen=True, eq=False)
class BatchFigures:
    """Summable figures of every image of a batch (see the module docstring)."""

    image_score: np.ndarray
    image_score_bin: np.ndarray
    image_kalpha: np.ndarray
    set_pair_f1_sum: np.ndarray
    set_pair_count: np.ndarray
    set_boxes: np.ndarray
    set_peer_boxes: np.ndarray
    set_flags_deviating: np.ndarray  # (label sets, ASSESSED_FLAG_KINDS)
    set_flags_tied: np.ndarray
    class_image: np.ndarray
    class_code: np.ndarray
    class_objects: np.ndarray
    class_support_sum: np.ndarray
    class_confidence_sum: np.ndarray
    class_iou_sum: np.ndarray
    class_iou_count: np.ndarray
    confusion_image: np.ndarray
    confusion_a: np.ndarray
    confusion_b: np.ndarray
    confusion_count: np.ndarray


def score_bins(scores: np.ndarray) -> np.ndarray:
    """Histogram bin of each score: HISTOGRAM_BINS bins of equal width over [0, 1], the last
    one closed (1.0 is in it), exactly as ``np.histogram(scores, HISTOGRAM_BINS, (0, 1))``."""
    edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
    bins = np.searchsorted(edges, np.asarray(scores, dtype=np.float64), side="right") - 1
    return np.clip(bins, 0, HISTOGRAM_BINS - 1).astype(np.int16)


def histogram_edges() -> list[float]:
    return np.linspace(0, 1, HISTOGRAM_BINS + 1).round(2).tolist()


def batch_figures(result: BatchAssessment) -> BatchFigures:
    """The summable figures of every image of the assessed batch."""
    batch = result.batch
    n_images, n_sets = batch.n_images, len(batch.set_image)

    # Pairs: each pair's F1 counts once for each of its two label sets.
    pair_sets = np.concatenate(
        [
            _set_index(batch, result.pair_image, result.pair_labeler_a),
            _set_index(batch, result.pair_image, result.pair_labeler_b),
        ]
    )
    pair_f1 = np.concatenate([result.pair_f1, result.pair_f1]).astype(np.float64)
    f1_sum = np.bincount(pair_sets, weights=pair_f1, minlength=n_sets)
    pair_count = np.bincount(pair_sets, minlength=n_sets)

    set_boxes = np.bincount(batch.box_set, minlength=n_sets).astype(np.float64)
    image_boxes = np.bincount(batch.set_image, weights=set_boxes, minlength=n_images)
    image_sets = np.bincount(batch.set_image, minlength=n_images)
    peer = (image_boxes[batch.set_image] - set_boxes) / np.maximum(
        image_sets[batch.set_image] - 1, 1
    )

    deviating, tied = _flag_counts(result, n_sets)
    classes = _class_rows(result)
    confusion = _confusion_rows(result)
    alphas = np.asarray(kalpha(batch, result.params.match_iou).per_image, dtype=np.float64)
    return BatchFigures(
        image_score=result.image_score.astype(np.float64),
        image_score_bin=score_bins(result.image_score),
        image_kalpha=alphas.reshape(n_images),
        set_pair_f1_sum=f1_sum,
        set_pair_count=pair_count.astype(np.int64),
        set_boxes=set_boxes.astype(np.int64),
        set_peer_boxes=peer,
        set_flags_deviating=deviating,
        set_flags_tied=tied,
        **classes,
        **confusion,
    )


def _set_index(batch, image: np.ndarray, labeler: np.ndarray) -> np.ndarray:
    """Index of the label set of each (image, labeler code): label sets are sorted by image,
    then by labeler code, so one sorted search finds them all."""
    width = len(batch.labeler_names) + 1
    key = batch.set_image.astype(np.int64) * width + batch.set_labeler
    return np.searchsorted(key, image.astype(np.int64) * width + labeler)


def _flag_counts(result: BatchAssessment, n_sets: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label set and assessed kind: flags where it deviates; flags it is in, tied."""
    column = np.full(len(FLAG_KINDS), -1, dtype=np.int64)
    column[[FLAG_KINDS.index(k) for k in ASSESSED_FLAG_KINDS]] = np.arange(len(ASSESSED_FLAG_KINDS))
    kind = column[result.flag_kind]
    keep = kind >= 0
    first_set = result.set_image_ptr[result.flag_image][keep]
    kind = kind[keep]
    odd = result.flag_deviating_mask[keep].astype(np.int64)
    involved = result.flag_labeler_mask[keep].astype(np.int64)
    tied_mask = np.where(odd == 0, involved, 0)
    out = []
    for mask in (odd, tied_mask):
        counts = np.zeros((n_sets, len(ASSESSED_FLAG_KINDS)), dtype=np.int64)
        bit = 0
        while mask.any():
            on = (mask & 1).astype(bool)
            np.add.at(counts, (first_set[on] + bit, kind[on]), 1)
            mask = mask >> 1
            bit += 1
        out.append(counts)
    return out[0], out[1]


def _class_rows(result: BatchAssessment) -> dict[str, np.ndarray]:
    """Per (image, class code) of its objects: counts and sums, in (image, code) order."""
    image = result.object_image.astype(np.int64)
    code = result.object_label.astype(np.int64)
    n_codes = len(result.batch.label_names) + 1  # code -1 (undecided) shifted to 0
    keys, owner = np.unique(image * n_codes + (code + 1), return_inverse=True)
    iou = result.object_mean_iou.astype(np.float64)
    has_iou = ~np.isnan(iou)

    def total(values) -> np.ndarray:
        return np.bincount(owner, weights=values, minlength=len(keys))

    return {
        "class_image": keys // n_codes,
        "class_code": keys % n_codes - 1,
        "class_objects": np.bincount(owner, minlength=len(keys)).astype(np.int64),
        "class_support_sum": total(result.object_support.astype(np.float64)),
        "class_confidence_sum": total(result.object_label_confidence.astype(np.float64)),
        "class_iou_sum": total(np.where(has_iou, iou, 0.0)),
        "class_iou_count": np.bincount(owner[has_iou], minlength=len(keys)).astype(np.int64),
    }


def _confusion_rows(result: BatchAssessment) -> dict[str, np.ndarray]:
    """Per (image, class a, class b): pairs of boxes inside one object with those classes,
    counted in both directions (a symmetric matrix per image, as ``class_confusion``)."""
    ptr = result.object_member_ptr
    size = np.diff(ptr)
    m = len(result.object_member_rows)
    pos = np.arange(m, dtype=np.int64)
    owner = np.repeat(np.arange(len(size)), size)
    later = ptr[1:][owner] - pos - 1 if m else pos  # members after each one in its object
    p = np.repeat(pos, later)
    starts = np.cumsum(later) - later
    q = np.arange(int(later.sum()), dtype=np.int64) - np.repeat(starts - pos - 1, later)
    code = result.batch.label[result.object_member_rows].astype(np.int64)
    image = result.object_image.astype(np.int64)[owner[p]] if len(p) else p
    n = len(result.batch.label_names)
    a = np.concatenate([code[p], code[q]])
    b = np.concatenate([code[q], code[p]])
    img = np.concatenate([image, image])
    keys, counts = np.unique((img * n + a) * n + b, return_counts=True)
    return {
        "confusion_image": keys // (n * n) if n else keys,
        "confusion_a": (keys // n) % n if n else keys,
        "confusion_b": keys % n if n else keys,
        "confusion_count": counts.astype(np.int64),
    }
