"""Bad input raises a ValueError that says which box of which labeler is wrong."""

import numpy as np
import pytest

from quality.engine import AgreementParams, BoxBatch, LabelSet, assess_image, assess_many

GOOD = [[0, 0, 10, 10], [20, 20, 5, 5]]


def assess_with_bob(boxes, labels=("car", "car")):
    return assess_image(
        [
            LabelSet("ann", np.array(GOOD, float), ["car", "car"]),
            LabelSet("bob", np.array(boxes, float), list(labels)),
        ]
    )


@pytest.mark.parametrize(
    ("bad_box", "words"),
    [
        ([20, 20, float("nan"), 5], "non-finite"),
        ([20, float("inf"), 5, 5], "non-finite"),
        ([20, 20, -5, 5], "width -5.0"),
        ([20, 20, 5, 0], "height 0.0"),
    ],
)
def test_bad_box_values_name_the_box_and_the_labeler(bad_box, words):
    with pytest.raises(ValueError, match="box 1 of labeler 'bob'") as info:
        assess_with_bob([GOOD[0], bad_box])
    assert words in str(info.value)


def test_bad_box_in_a_batch_names_the_image():
    images = [
        [LabelSet("ann", np.array(GOOD, float), ["car", "car"])],
        [LabelSet("ann", np.array([[0, 0, 1, 1], [0, 0, 0, 1]], float), ["car", "car"])],
    ]
    with pytest.raises(ValueError, match="box 1 of labeler 'ann' in image 1"):
        assess_many(images)


def test_boxes_and_labels_of_different_length():
    with pytest.raises(ValueError, match="labeler 'bob' has 2 boxes but 1 labels"):
        LabelSet("bob", np.array(GOOD, float), ["car"])


@pytest.mark.parametrize("shape", [(2, 3), (8,), (2, 4, 1)])
def test_boxes_of_the_wrong_shape(shape):
    with pytest.raises(ValueError, match="boxes of labeler 'bob' must have shape"):
        LabelSet("bob", np.ones(shape), ["car"] * 2)


def test_boxes_that_are_not_numbers():
    with pytest.raises(ValueError, match="boxes of labeler 'bob' are not numbers"):
        LabelSet("bob", [["a", "b", "c", "d"]], ["car"])


def test_a_labeler_twice_in_one_image():
    with pytest.raises(ValueError, match="labeler 'ann' has two label sets in image 0"):
        assess_image([LabelSet("ann"), LabelSet("ann")])


def test_empty_label_sets_are_valid():
    result = assess_image([LabelSet("ann", [], []), LabelSet("bob", np.zeros((0, 4)), [])])
    assert result.score == 1.0
    assert result.flags == []


@pytest.mark.parametrize("field", ["match_iou", "low_iou", "group_cover"])
def test_thresholds_out_of_range(field):
    with pytest.raises(ValueError, match=field):
        AgreementParams(**{field: 1.5})


def test_columnar_input_checks_codes_and_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        BoxBatch.from_arrays([0], [0, 0], np.ones((1, 4)), [0], labeler_names=["ann"])
    with pytest.raises(ValueError, match="labeler code 3"):
        BoxBatch.from_arrays([0], [3], np.ones((1, 4)), [0], labeler_names=["ann"])
    with pytest.raises(ValueError, match="box 0 of labeler 'ann' in image 0 has width"):
        BoxBatch.from_arrays([0], [0], [[0, 0, -1, 1]], [0], labeler_names=["ann"])
