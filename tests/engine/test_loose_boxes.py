"""Loose boxes (same class, IoU under match_iou) next to boxes that look like groups.

Cut down from generated scenes (tests/engine/scenes.py, seed 7) where a big box seemed to group
two boxes only because one of them was loosely boxed by the big box's own labeler: once that
loose pair is one object, the big box groups nothing and is itself a loose box of its object.
"""

from quality.engine import LabelSet, assess_image


def kinds(label_sets):
    return sorted((f.kind, f.deviating) for f in assess_image(label_sets).flags)


def test_person_and_bag_both_boxed_loosely_by_one_of_two_labelers():
    sets = [
        LabelSet("ann", [[577.4, 351.2, 12.5, 18.3], [574, 305.4, 42.3, 114]], ["bag", "person"]),
        LabelSet(
            "bob", [[591.9, 312.1, 23.6, 85.1], [572.8, 346.5, 23.6, 23.9]], ["person", "bag"]
        ),
    ]
    # Not a group and two opposite 'missing' flags: two loose boxes, 1-1, nobody named.
    assert kinds(sets) == [("low_overlap", ()), ("low_overlap", ())]


def test_two_of_five_labelers_loose_on_a_person_and_her_bag():
    sets = [
        LabelSet(
            "bob", [[704.4, 582.6, 10.7, 12.5], [686.7, 545.8, 29.2, 63.3]], ["bag", "person"]
        ),
        LabelSet("dan", [[705.8, 583.5, 5.5, 8.8], [687.4, 547.3, 17.2, 47.1]], ["bag", "person"]),
        LabelSet("cho", [[687.2, 545.6, 28, 60.1], [704.2, 582.7, 10.9, 12.2]], ["person", "bag"]),
        LabelSet("ann", [[705.6, 583.4, 5.6, 9], [688.8, 554, 15.9, 49.7]], ["bag", "person"]),
        LabelSet("eve", [[704.3, 583.1, 11, 12.1], [687.4, 547.3, 28.9, 60.9]], ["bag", "person"]),
    ]
    assert kinds(sets) == [("low_overlap", ("ann", "dan")), ("low_overlap", ("ann", "dan"))]


def test_two_crowd_persons_each_boxed_loosely_by_another_labeler():
    sets = [
        LabelSet("ann", [[539.9, 72.4, 43.8, 60.5], [510.1, 11.3, 51.8, 136.9]], ["person"] * 2),
        LabelSet("bob", [[514, 20.1, 35.3, 76.3], [535, 34.4, 51.7, 115.9]], ["person"] * 2),
    ]
    assert kinds(sets) == [("low_overlap", ()), ("low_overlap", ())]
