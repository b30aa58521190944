"""A model's predictions against the consensus (quality.engine.model_compare), pure numpy."""

import numpy as np

from quality.engine.model_compare import TIE, compare_with_consensus, comparison_counts

CAR, TRUCK = 0, 1


def compare(consensus, labeler_boxes, predictions, **kwargs):
    """consensus: [(image, x, y, w, h, label)]; labeler_boxes: [(image, x, y, w, h)];
    predictions: [(image, x, y, w, h, label, score)]."""
    c = np.array(consensus, dtype=float).reshape(-1, 6)
    lb = np.array(labeler_boxes, dtype=float).reshape(-1, 5)
    p = np.array(predictions, dtype=float).reshape(-1, 7)
    args = {
        "consensus_image": c[:, 0].astype(int), "consensus_xywh": c[:, 1:5],
        "consensus_label": c[:, 5].astype(int), "labeler_image": lb[:, 0].astype(int),
        "labeler_xywh": lb[:, 1:5], "pred_image": p[:, 0].astype(int), "pred_xywh": p[:, 1:5],
        "pred_label": p[:, 5].astype(int), "pred_score": p[:, 6],
    }  # fmt: skip
    return compare_with_consensus(**args, **kwargs), args


def test_a_confident_box_no_labeler_drew_is_unboxed():
    result, _ = compare(
        [(0, 10, 10, 50, 50, CAR)],
        [(0, 10, 10, 50, 50), (0, 11, 10, 50, 50)],
        [(0, 10, 10, 50, 50, CAR, 0.9), (0, 300, 300, 40, 40, TRUCK, 0.8)],
    )
    assert result.unboxed.tolist() == [1]
    assert result.relabeled.tolist() == []
    assert result.pred_object.tolist() == [0, -1]


def test_an_object_one_labeler_boxed_is_not_unboxed():
    # Not in the consensus (one of two labelers boxed it: a missing flag already says so).
    result, _ = compare([], [(0, 300, 300, 40, 40)], [(0, 302, 300, 40, 40, TRUCK, 0.9)])
    assert result.unboxed.tolist() == [] and result.pred_boxed.tolist() == [True]


def test_the_model_calling_a_consensus_object_another_class_is_relabeled_but_not_a_tie():
    result, _ = compare(
        [(0, 10, 10, 50, 50, CAR), (0, 200, 10, 50, 50, TIE)],
        [(0, 10, 10, 50, 50), (0, 200, 10, 50, 50)],
        [(0, 12, 10, 50, 50, TRUCK, 0.95), (0, 200, 12, 50, 50, TRUCK, 0.9)],
    )
    assert result.relabeled.tolist() == [0]
    assert result.unboxed.tolist() == []


def test_predictions_below_the_threshold_are_not_looked_at():
    result, _ = compare([], [], [(0, 1, 1, 9, 9, CAR, 0.2)], min_score=0.5)
    assert result.unboxed.tolist() == [] and not result.considered.any()


def test_competing_matches_take_the_best_total_overlap():
    # Objects A (x 0-60) and B (x 30-90); prediction p0 (x 10-70) overlaps A best (IoU 0.71)
    # and B (0.5), p1 (x -10-50) only A (0.71). Greedy p0-A would leave p1 out; the best total
    # pairs p0 with B and p1 with A.
    result, _ = compare(
        [(0, 0, 0, 60, 60, CAR), (0, 30, 0, 60, 60, CAR)],
        [(0, 0, 0, 60, 60), (0, 30, 0, 60, 60)],
        [(0, 10, 0, 60, 60, CAR, 0.9), (0, -10, 0, 60, 60, CAR, 0.9)],
        match_iou=0.4,
    )
    assert result.pred_object.tolist() == [1, 0]


def test_images_are_never_mixed():
    result, _ = compare(
        [(0, 10, 10, 50, 50, CAR)], [(0, 10, 10, 50, 50)], [(1, 10, 10, 50, 50, CAR, 0.9)]
    )
    assert result.pred_object.tolist() == [-1] and result.unboxed.tolist() == [0]


def test_counts_per_image_and_class():
    result, args = compare(
        [(0, 10, 10, 50, 50, CAR), (0, 100, 10, 50, 50, CAR), (0, 200, 10, 50, 50, TRUCK)],
        [(0, 10, 10, 50, 50), (0, 100, 10, 50, 50), (0, 200, 10, 50, 50)],
        [(0, 10, 10, 50, 50, CAR, 0.9), (0, 100, 10, 50, 50, TRUCK, 0.9),
         (0, 400, 300, 50, 50, TRUCK, 0.9)],
    )  # fmt: skip
    counts = comparison_counts(
        result, consensus_image=args["consensus_image"], consensus_label=args["consensus_label"],
        pred_image=args["pred_image"], pred_label=args["pred_label"],
    )  # fmt: skip
    # [consensus, predicted, agreed, other_class, unboxed]
    assert counts == {(0, CAR): [2, 1, 1, 1, 0], (0, TRUCK): [1, 2, 0, 0, 1]}
