"""The engine's shortcuts give what the plain computation gives (flattening, sweep, members)."""

import numpy as np
import pytest

from quality.engine import BoxBatch, LabelSet, assess_image, assess_many
from quality.engine.consensus import _group_members
from quality.engine.geometry import SHORT_RUN, _run_lengths

BOXES = np.array([[0, 0, 10, 10], [40, 0, 10, 10], [80, 0, 10, 10]], dtype=float)


def test_label_codes_follow_sorted_class_names_whatever_order_they_come_in():
    batch = BoxBatch.from_label_sets(
        [
            [LabelSet("bob", BOXES, ["truck", "car", "bus"])],
            [LabelSet("ann", BOXES[:2], ["car", "car"])],
        ]
    )
    assert batch.label_names == ("bus", "car", "truck")
    assert batch.label.tolist() == [2, 1, 0, 1, 1]
    assert batch.box_ref.tolist() == [0, 1, 2, 0, 1]


def test_classes_of_mixed_types_are_ordered_without_comparing_them():
    batch = BoxBatch.from_label_sets([[LabelSet("ann", BOXES, [2, "car", 1])]])
    assert batch.label_names == (1, 2, "car")
    assert batch.label.tolist() == [1, 2, 0]


def test_boxes_given_as_a_strided_view_are_read_correctly():
    table = np.c_[BOXES, np.arange(3.0)]  # an extra column: table[:, :4] is not contiguous
    view = LabelSet("ann", table[:, :4], ["car"] * 3)
    copy = LabelSet("bob", BOXES.copy(), ["car"] * 3)
    assert view.boxes.flags.c_contiguous
    result = assess_image([view, copy])
    assert result.score == 1.0
    assert result.flags == []


def test_a_bad_box_is_still_named_after_fast_flattening():
    bad = BOXES.copy()
    bad[2, 3] = np.nan
    images = [
        [LabelSet("ann", BOXES, ["car"] * 3), LabelSet("bob", BOXES, ["car"] * 3)],
        [LabelSet("bob", BOXES, ["car"] * 3), LabelSet("ann", bad, ["car"] * 3)],
    ]
    with pytest.raises(ValueError, match="box 2 of labeler 'ann' in image 1 has a non-finite"):
        assess_many(images)


def test_labelers_in_any_order_and_empty_label_sets_flatten_alike():
    sets = [
        LabelSet("cho", BOXES[:1], ["car"]),
        LabelSet("ann", np.zeros((0, 4)), []),
        LabelSet("bob", BOXES, ["car", "bus", "car"]),
    ]
    shuffled = assess_many([sets, sets[::-1]])
    assert shuffled[0].as_dict() == shuffled[1].as_dict()
    assert shuffled[0].labelers == ["ann", "bob", "cho"]


def test_run_lengths_equal_a_binary_search_for_short_and_long_runs():
    rng = np.random.default_rng(4)
    # Nested wide boxes make runs far longer than SHORT_RUN; small ones keep them short.
    x1 = np.sort(np.r_[rng.uniform(0, 100, 300), rng.uniform(0, 5, 40)])
    width = np.where(rng.random(len(x1)) < 0.1, 200.0, rng.uniform(0.5, 3, len(x1)))
    key, end_key = x1, x1 + width
    expected = np.maximum(np.searchsorted(key, end_key, side="left") - np.arange(len(key)) - 1, 0)
    counts = _run_lengths(key, end_key)
    assert counts.max() > 2 * SHORT_RUN and (counts < SHORT_RUN).any()
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("kmax", [3, 60])
def test_members_are_sorted_by_object_then_labeler(kmax):
    rng = np.random.default_rng(kmax)
    obj = np.repeat(np.arange(50), 3)
    lab = np.concatenate([rng.choice(kmax, 3, replace=False) for _ in range(50)])
    perm = rng.permutation(len(obj))
    live = np.arange(len(obj)) * 2  # box numbers need not be contiguous
    members, size, labmask = _group_members(live, obj[perm], lab[perm], 50, kmax)
    order = np.argsort(obj[perm] * kmax + lab[perm], kind="stable")
    np.testing.assert_array_equal(members, live[order])
    assert size.tolist() == [3] * 50
    assert labmask.tolist() == [
        int(np.bitwise_or.reduce(1 << lab[3 * k : 3 * k + 3])) for k in range(50)
    ]


def test_members_with_a_repeated_labeler_fall_back_to_a_sort():
    obj = np.array([0, 0, 1, 1])
    lab = np.array([1, 1, 0, 2])  # object 0 holds two boxes of labeler 1 (never made by the engine)
    members, size, labmask = _group_members(np.arange(4), obj, lab, 2, 3)
    assert members.tolist() == [0, 1, 2, 3]
    assert labmask.tolist() == [0b10, 0b101]
