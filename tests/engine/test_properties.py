"""Invariants of the engine, checked with hypothesis."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quality.engine import FLAG_KINDS, LabelSet, assess_image, assess_many

from .strategies import label_set_lists, make, summary, transformed, without_duplicates

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(label_set_lists(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_labeler_order(sets, rnd):
    shuffled = list(sets)
    rnd.shuffle(shuffled)
    assert summary(assess_image(shuffled), shuffled) == summary(assess_image(sets), sets)


@SETTINGS
@given(label_set_lists(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_box_order(sets, rnd):
    shuffled = []
    for s in sets:
        perm = list(range(len(s.labels)))
        rnd.shuffle(perm)
        shuffled.append(LabelSet(s.labeler, s.boxes[perm], [s.labels[k] for k in perm]))
    assert summary(assess_image(shuffled), shuffled) == summary(assess_image(sets), sets)


@SETTINGS
@given(label_set_lists(), st.integers(-500, 500), st.integers(-500, 500))
def test_result_does_not_depend_on_translation(sets, dx, dy):
    moved = transformed(sets, dx=dx, dy=dy)
    assert summary(assess_image(moved), moved, with_boxes=False) == summary(
        assess_image(sets), sets, with_boxes=False
    )


@SETTINGS
@given(label_set_lists(), st.sampled_from([0.25, 0.5, 2.0, 8.0]))
def test_result_does_not_depend_on_uniform_scaling(sets, scale):
    scaled = transformed(sets, scale=scale)
    assert summary(assess_image(scaled), scaled, with_boxes=False) == summary(
        assess_image(sets), sets, with_boxes=False
    )


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 200), st.integers(1, 80), st.integers(1, 80)),
        max_size=8,
    ),
    st.integers(2, 5),
    st.data(),
)
def test_identical_label_sets_score_one_without_flags(boxes, k, data):
    labels = [data.draw(st.sampled_from(["car", "truck"])) for _ in boxes]
    boxes, labels = without_duplicates(boxes, labels)
    sets = [make(name, boxes, labels) for name in ["ann", "bob", "cho", "dan", "eve"][:k]]
    result = assess_image(sets)
    assert result.score == 1.0
    assert result.flags == []
    assert all(o.support == 1.0 and o.label_confidence == 1.0 for o in result.objects)


@SETTINGS
@given(label_set_lists(max_labelers=5))
def test_scores_stay_between_zero_and_one(sets):
    result = assess_image(sets)
    assert 0.0 <= result.score <= 1.0
    for p in result.pairs:
        assert 0.0 <= p.f1 <= 1.0
        assert p.mean_iou is None or 0.0 < p.mean_iou <= 1.0 + 1e-12
    for o in result.objects:
        assert 0.0 < o.support <= 1.0
        assert 0.0 < o.label_confidence <= 1.0


@SETTINGS
@given(label_set_lists(min_labelers=2, max_labelers=3), st.integers(0, 2**32 - 1))
def test_pairwise_results_are_symmetric(sets, seed):
    # Renaming the labelers swaps who is 'a' and who is 'b' in each pair; values must not move.
    # Exact ties (identical boxes) are settled by name order, so the boxes get a tiny jitter.
    rng = np.random.default_rng(seed)
    sets = [
        LabelSet(s.labeler, s.boxes + rng.uniform(0, 1e-3, s.boxes.shape), s.labels) for s in sets
    ]
    names = [s.labeler for s in sets]
    new_names = list(reversed(names))
    rename = dict(zip(names, new_names, strict=True))
    renamed = [LabelSet(rename[s.labeler], s.boxes, s.labels) for s in sets]

    def by_pair(result, back):
        return {
            frozenset((back[p.labeler_a], back[p.labeler_b])): (p.matched, p.f1, p.mean_iou)
            for p in result.pairs
        }

    identity = {n: n for n in names}
    back = {v: k for k, v in rename.items()}
    assert by_pair(assess_image(renamed), back) == by_pair(assess_image(sets), identity)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(label_set_lists(max_labelers=4), min_size=1, max_size=6))
def test_assess_many_equals_assess_image_per_image(images):
    batch = assess_many(images)
    assert len(batch) == len(images)
    for view, sets in zip(batch, images, strict=True):
        assert view.as_dict() == assess_image(sets).as_dict()


def test_same_input_gives_same_output():
    rng = np.random.default_rng(3)
    sets = [
        make(n, rng.integers(0, 100, (6, 4)) + [0, 0, 5, 5], ["car"] * 6) for n in ["x", "y", "z"]
    ]
    assert assess_image(sets).as_dict() == assess_image(sets).as_dict()


def test_assess_many_is_a_sequence_of_image_assessments():
    sets = [make("ann", [[0, 0, 5, 5]], ["car"]), make("bob", [[0, 0, 5, 5]], ["car"])]
    result = assess_many([sets, sets, sets])
    assert len(result) == 3
    assert list(result) == [assess_image(sets)] * 3
    assert result[-1] == result[0] and len(result[1:]) == 2


def _row_scenario(n_cars, tight_others, loose_others, empty_other):
    """A row of touching cars: ann boxes it once, others box each car (tight or loose)."""
    w, h = 40.0, 20.0
    sets = [make("ann", [[0, 0, n_cars * w, h]], ["car"])]
    names = iter(["bob", "cho", "dan", "eve", "fay", "gus"])
    splitters = []
    for _ in range(tight_others):
        name = next(names)
        splitters.append(name)
        sets.append(make(name, [[k * w, 0, w, h] for k in range(n_cars)], ["car"] * n_cars))
    for g in loose_others:
        name = next(names)
        splitters.append(name)
        boxes = [
            [k * w - gk * w, -gk * h, w * (1 + 2 * gk), h * (1 + 2 * gk)]
            for k, gk in zip(range(n_cars), g, strict=False)
        ]
        sets.append(make(name, boxes, ["car"] * n_cars))
    if empty_other:
        sets.append(make(next(names), [], []))
    return sets, splitters


@SETTINGS
@given(
    st.integers(3, 4),
    st.integers(0, 2),
    st.lists(st.lists(st.floats(0.0, 0.2), min_size=4, max_size=4), max_size=2),
    st.booleans(),
)
def test_a_row_boxed_once_is_one_grouping_flag_naming_every_splitter(n_cars, tight, loose, empty):
    if tight + len(loose) == 0:
        tight = 1
    sets, splitters = _row_scenario(n_cars, tight, loose, empty)
    result = assess_image(sets)
    groupings = [f for f in result.flags if f.kind == "grouping"]
    assert len(groupings) == 1, result.flags
    assert set(groupings[0].labelers) == {"ann", *splitters}
    assert ("ann", 0) in groupings[0].boxes
    for f in result.flags:
        if f.kind in ("missing", "low_overlap"):
            assert ("ann", 0) not in f.boxes, f
            assert "ann" not in f.labelers, f


def _big_boxes_never_missing(batch):
    kinds = batch.flag_kind
    missing_or_low = {FLAG_KINDS.index("missing"), FLAG_KINDS.index("low_overlap")}
    grouping = FLAG_KINDS.index("grouping")
    big = set()
    others = []
    for f in range(len(kinds)):
        lo, hi = batch.flag_box_ptr[f], batch.flag_box_ptr[f + 1]
        rows = batch.flag_box_rows[lo:hi]
        if kinds[f] == grouping:
            big.update(rows[batch.flag_box_roles[lo:hi] == 1].tolist())
        elif kinds[f] in missing_or_low:
            others.append(rows.tolist())
    for rows in others:
        assert not big.intersection(rows)
    return len(big)


@SETTINGS
@given(st.lists(label_set_lists(max_labelers=5), min_size=1, max_size=4))
def test_no_missing_or_low_overlap_flag_names_a_grouping_big_box(images):
    _big_boxes_never_missing(assess_many(images))


def test_no_missing_or_low_overlap_flag_names_a_grouping_big_box_on_bench_data():
    from bench.engine import generate

    assert _big_boxes_never_missing(assess_many(generate(400, seed=5))) > 0


def test_at_most_one_low_overlap_flag_per_object_and_outliers_are_in_every_low_pair():
    from bench.engine import generate

    batch = assess_many(generate(300, seed=11))
    low = FLAG_KINDS.index("low_overlap")
    seen = set()
    for f in np.flatnonzero(batch.flag_kind == low).tolist():
        lo, hi = batch.flag_box_ptr[f], batch.flag_box_ptr[f + 1]
        rows = batch.flag_box_rows[lo:hi]
        objects = set(batch.box_object[rows].tolist())
        assert len(objects) == 1 and not objects & seen
        seen |= objects
        roles = batch.flag_box_roles[lo:hi]
        assert roles.sum() <= 1
        message = batch.flag(f).message
        assert ("'s box overlaps the others only" in message) == (roles.sum() == 1)
