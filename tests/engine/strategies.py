"""Hypothesis strategies and helpers shared by the engine's property tests."""

import numpy as np
from hypothesis import strategies as st

from quality.engine import LabelSet
from quality.engine.geometry import iou_matrix_xywh

NAMES = ["ann", "bob", "cho", "dan", "eve"]
CLASSES = ["car", "truck", "person"]

box = st.tuples(st.integers(0, 120), st.integers(0, 120), st.integers(1, 60), st.integers(1, 60))


def without_duplicates(boxes, labels, match_iou=0.5):
    """Drop boxes that overlap an earlier box of the same labeler at match_iou or more."""
    if not boxes:
        return boxes, labels
    arr = np.array(boxes, dtype=float)
    iou = iou_matrix_xywh(arr, arr)
    keep = []
    for k in range(len(boxes)):
        if all(iou[k, j] < match_iou for j in keep):
            keep.append(k)
    return [boxes[k] for k in keep], [labels[k] for k in keep]


@st.composite
def label_set_lists(draw, min_labelers=2, max_labelers=4, max_boxes=6):
    """Several labelers' boxes on one image, with integer pixels (so transforms are exact)."""
    k = draw(st.integers(min_labelers, max_labelers))
    sets = []
    # Labelers partly copy a shared truth so that matches, conflicts and misses all happen.
    truth = draw(st.lists(box, max_size=max_boxes))
    for name in NAMES[:k]:
        boxes = [b for b in truth if draw(st.booleans())]
        boxes += draw(st.lists(box, max_size=2))
        jitter = draw(st.lists(st.integers(-3, 3), min_size=len(boxes), max_size=len(boxes)))
        boxes = [(x + d, y, w, h) for (x, y, w, h), d in zip(boxes, jitter, strict=True)]
        labels = [draw(st.sampled_from(CLASSES)) for _ in boxes]
        sets.append(make(name, boxes, labels))
    return sets


def make(name, boxes, labels):
    return LabelSet(name, np.array(boxes, dtype=float).reshape(-1, 4), list(labels))


def summary(result, sets, with_boxes=True):
    """Order-free description of a result.

    With ``with_boxes`` boxes are named by value (so reordering them changes nothing), else by
    index (for transforms, which change the values but keep the order) and the consensus box
    is left out.
    """
    by_name = {s.labeler: s for s in sets}

    def box_id(labeler, index):
        if not with_boxes:
            return (labeler, index)
        s = by_name[labeler]
        return (labeler, tuple(s.boxes[index].tolist()), s.labels[index])

    objects = sorted(
        (
            tuple(sorted(box_id(n, i) for n, i in o.members.items())),
            o.label,
            round(o.support, 9),
            round(o.label_confidence, 9),
            None if o.mean_iou is None else round(o.mean_iou, 9),
            tuple(round(v, 6) for v in o.box) if with_boxes else None,
        )
        for o in result.objects
    )
    flags = sorted(
        (f.kind, f.labelers, tuple(sorted(box_id(n, i) for n, i in f.boxes)), f.message)
        for f in result.flags
    )
    pairs = sorted(
        (
            p.labeler_a,
            p.labeler_b,
            p.matched,
            round(p.f1, 9),
            None if p.mean_iou is None else round(p.mean_iou, 9),
        )
        for p in result.pairs
    )
    return round(result.score, 9), objects, flags, pairs


def transformed(sets, scale=1.0, dx=0.0, dy=0.0):
    out = []
    for s in sets:
        b = s.boxes.copy() * scale
        b[:, 0] += dx
        b[:, 1] += dy
        out.append(LabelSet(s.labeler, b, s.labels))
    return out
