"""Habit evidence: hand-checked rows on small images, and the folding that the store relies on
(evidence of a batch, folded, equals the fold of its parts' evidence)."""

import numpy as np
import pytest

from quality.engine import LabelSet, assess_many
from quality.engine.habit_tables import COLUMN, LABELER_CLASS, fold
from quality.engine.habits import habit_evidence
from tests.engine import scenes as sc


def evidence_of(*images):
    return habit_evidence(assess_many([list(image) for image in images]))


def row(ev, labeler, label_class, image=0) -> dict:
    """One (image, labeler, class) row as {column: value}; zeros when there is none."""
    lab = -1 if labeler is None else ev.labeler_names.index(labeler)
    cls = ev.label_names.index(label_class)
    hit = (ev.labeler == lab) & (ev.label_class == cls)
    if ev.image is not None:
        hit &= ev.image == image
    values = ev.values[hit].sum(axis=0) if hit.any() else np.zeros(len(LABELER_CLASS))
    return {name: float(values[k]) for name, k in COLUMN.items()}


def pairs(ev) -> dict:
    name = {-1: None} | dict(enumerate(ev.labeler_names))
    cls = dict(enumerate(ev.label_names))
    return {
        (name[lab], cls[c], cls[o]): (n, s)
        for lab, c, o, n, s in zip(
            ev.pair_labeler.tolist(), ev.pair_class.tolist(), ev.pair_other.tolist(),
            ev.pair_count.tolist(), ev.pair_share.tolist(), strict=True,
        )
    }  # fmt: skip


def test_a_box_with_a_low_bottom_edge_is_measured_against_the_median_edges():
    ev = evidence_of(
        [
            LabelSet("ann", [[100, 100, 50, 40]], ["car"]),
            LabelSet("bob", [[100, 100, 50, 40]], ["car"]),
            LabelSet("cho", [[100, 100, 50, 48]], ["car"]),
        ]
    )
    cho, ann = row(ev, "cho", "car"), row(ev, "ann", "car")
    assert cho["fit_n"] == 1
    assert cho["bottom"] == pytest.approx(8 / 40)
    assert cho["bottom_px"] == pytest.approx(8) and cho["bottom_px_sq"] == pytest.approx(64)
    assert cho["left"] == cho["top"] == cho["right"] == 0
    assert cho["area"] == pytest.approx(np.log(1.2))
    assert ann["fit_n"] == 1 and ann["bottom"] == 0 and ann["area"] == 0


def test_two_boxes_of_an_object_are_not_judged_for_fit_or_class():
    ev = evidence_of(
        [
            LabelSet("ann", [[100, 100, 50, 40]], ["car"]),
            LabelSet("bob", [[100, 100, 50, 48]], ["truck"]),
        ]
    )
    assert row(ev, "bob", "truck")["fit_n"] == 0
    assert row(ev, "bob", "truck")["class_n"] == 0
    assert row(ev, "bob", "truck")["boxes"] == 1


def test_misses_count_by_class_and_size_bucket():
    tiny, big = [300, 300, 15, 15], [10, 10, 100, 60]
    ev = evidence_of(
        [
            LabelSet("ann", [tiny, big], ["sign", "car"]),
            LabelSet("bob", [tiny, big], ["sign", "car"]),
            LabelSet("cho", [big], ["car"]),
        ]
    )
    cho_sign, cho_car = row(ev, "cho", "sign"), row(ev, "cho", "car")
    assert (cho_sign["seen_0"], cho_sign["missed_0"]) == (1, 1)
    assert (cho_car["seen_2"], cho_car["missed_2"]) == (1, 0)
    assert (row(ev, "ann", "sign")["seen_0"], row(ev, "ann", "sign")["missed_0"]) == (1, 0)


def test_a_class_given_against_the_majority_is_a_confusion_row_and_a_split_object():
    box = [[10, 10, 100, 60]]
    ev = evidence_of(
        [
            LabelSet("ann", box, ["car"]),
            LabelSet("bob", box, ["car"]),
            LabelSet("cho", box, ["truck"]),
        ]
    )
    cho = row(ev, "cho", "car")
    assert (cho["class_n"], cho["class_wrong"]) == (1, 1)
    assert row(ev, "ann", "car")["class_wrong"] == 0
    got = pairs(ev)
    assert got[("cho", "car", "truck")] == (1, 1)
    assert got[(None, "car", "truck")] == pytest.approx((1, 2 / 3))
    assert got[(None, "truck", "car")] == pytest.approx((1, 1 / 3))
    assert row(ev, None, "car")["objects"] == 1 and row(ev, None, "truck")["objects"] == 1


def test_a_row_boxed_as_one_counts_for_the_grouper_only_and_its_cars_are_not_misses():
    cars = [[0, 0, 60, 40], [61, 0, 60, 40], [122, 0, 60, 40]]
    ev = evidence_of(
        [
            LabelSet("ann", cars, ["car"] * 3),
            LabelSet("bob", cars, ["car"] * 3),
            LabelSet("cho", [[0, 0, 182, 40]], ["car"]),
        ]
    )
    cho, ann = row(ev, "cho", "car"), row(ev, "ann", "car")
    assert (cho["rows"], cho["rows_grouped"]) == (1, 1)
    assert (cho["group_boxes"], cho["group_objects"]) == (1, 3)
    assert sum(cho[f"seen_{b}"] for b in range(3)) == 0
    assert (ann["rows"], ann["rows_grouped"], ann["group_boxes"]) == (1, 0, 0)


def test_a_second_box_of_one_object_is_a_duplicate():
    ev = evidence_of(
        [
            LabelSet("ann", [[10, 10, 100, 60], [12, 11, 98, 60]], ["car", "car"]),
            LabelSet("bob", [[10, 10, 100, 60]], ["car"]),
        ]
    )
    assert (row(ev, "ann", "car")["boxes"], row(ev, "ann", "car")["duplicates"]) == (2, 1)
    assert row(ev, "bob", "car")["duplicates"] == 0


@pytest.fixture(scope="module")
def scenes():
    return sc.make_scenes(60, (3, 6), seed=11)


def assert_same(a, b):
    assert a.labeler_names == b.labeler_names and a.label_names == b.label_names
    np.testing.assert_array_equal(a.labeler, b.labeler)
    np.testing.assert_array_equal(a.label_class, b.label_class)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(
        np.c_[a.pair_labeler, a.pair_class, a.pair_other],
        np.c_[b.pair_labeler, b.pair_class, b.pair_other],
    )
    np.testing.assert_allclose(np.c_[a.pair_count, a.pair_share], np.c_[b.pair_count, b.pair_share])


def test_evidence_of_a_batch_folds_to_the_sum_of_its_parts(scenes):
    whole = evidence_of(*(s.label_sets for s in scenes))
    first = evidence_of(*(s.label_sets for s in scenes[:25]))
    second = evidence_of(*(s.label_sets for s in scenes[25:]))
    assert_same(fold(whole), fold([first, second]))
    # Rows of some images, folded separately, add up as well.
    half = np.arange(30)
    parts = fold([whole.of_images(half), whole.of_images(np.arange(30, 60))])
    assert_same(fold(whole), parts)


def test_evidence_does_not_depend_on_the_order_of_label_sets(scenes):
    rng = np.random.default_rng(3)
    shuffled = [[s.label_sets[i] for i in rng.permutation(len(s.label_sets))] for s in scenes]
    assert_same(fold(evidence_of(*(s.label_sets for s in scenes))), fold(evidence_of(*shuffled)))


def test_fold_maps_codes_of_batches_with_different_labelers():
    box = [[10, 10, 100, 60]]
    a = evidence_of([LabelSet(n, box, ["car"]) for n in ("ann", "bob", "cho")])
    b = evidence_of([LabelSet(n, box, ["truck"]) for n in ("bob", "cho", "dan")])
    folded = fold([a, b])
    assert folded.labeler_names == ("ann", "bob", "cho", "dan")
    assert row(folded, "bob", "car")["boxes"] == 1 and row(folded, "bob", "truck")["boxes"] == 1
    assert row(folded, "dan", "truck")["boxes"] == 1 and row(folded, "dan", "car")["boxes"] == 0


def test_an_empty_batch_has_empty_evidence():
    ev = habit_evidence(assess_many([]))
    assert len(ev.labeler) == 0 and len(ev.pair_count) == 0
    assert len(fold(ev).labeler) == 0
