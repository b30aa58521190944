"""Habits from folded evidence: planted habits are found, noise is not a habit, coaching shows.

The generated projects (tests/engine/habit_projects.py) are kept few here so the test stays
fast; bench/habits.py runs the measure on 50+ projects (BENCHMARKS.md, "Habits").
"""

import numpy as np
import pytest
from scipy import stats

from quality.engine.habits import (
    Evidence,
    HabitParams,
    fold,
    habit_strength,
    habits_from_evidence,
    mean_ci,
    wilson,
)
from tests.engine import habit_projects as hp
from tests.engine import scenes as sc

FLOOR = 0.95


def habits_of(project, params=None):
    return habits_from_evidence(fold(hp.project_evidence(project)), params)


def test_wilson_interval_matches_the_textbook_values():
    assert wilson(5, 10, 0.95) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(0, 20, 0.95) == pytest.approx((0.0, 0.1611), abs=1e-4)
    assert wilson(0, 0, 0.95) == (0.0, 1.0)


def test_mean_interval_from_sums_matches_the_t_interval_of_the_values():
    values = np.random.default_rng(1).normal(0.1, 0.05, 40)
    mean, sd, (lo, hi) = mean_ci(len(values), values.sum(), (values**2).sum(), 0.95)
    expected = stats.t.interval(0.95, len(values) - 1, values.mean(), stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert sd == pytest.approx(values.std(ddof=1))
    assert (lo, hi) == pytest.approx(expected)


@pytest.mark.parametrize("seed,labelers", [(1, 5), (2, 6), (3, 7)])
def test_planted_habits_are_found_and_honest_labelers_have_none(seed, labelers):
    project = hp.make_project(seed, n_images=200, n_labelers=labelers)
    score, wrong, missed = hp.score(project, habits_of(project))
    assert score.honest_flagged == 0, wrong
    assert score.precision >= FLOOR, wrong
    assert score.recall >= FLOOR, missed


def test_noise_alone_is_no_habit():
    project = hp.make_project(40, n_images=200, planted=())
    assert habits_of(project) == []


def test_a_habit_with_too_little_support_is_measured_but_not_reported():
    planted = (hp.Planted("cho", "loose_boxes", "car", rate=0.2, edge="bottom"),)
    project = hp.make_project(5, n_images=6, planted=planted)
    folded = fold(hp.project_evidence(project))
    assert habits_from_evidence(folded) == []
    measured = habit_strength(folded, kind="loose_boxes", labeler="cho", label_class="car")
    assert measured is not None and not measured.found
    assert measured.support < HabitParams().min_boxes
    assert measured.strength == pytest.approx(0.2, abs=0.03)


def test_an_ambiguous_pair_of_classes_is_the_projects_habit_not_each_labelers():
    planted = tuple(
        hp.Planted(name, "class_confusion", "truck", "car", rate=0.5) for name in sc.NAMES[:5]
    )
    habits = habits_of(hp.make_project(7, n_images=200, planted=planted))
    assert [(h.kind, h.labeler, {h.label_class, h.other_class}) for h in habits] == [
        ("ambiguity", None, {"car", "truck"})
    ]


def test_one_labelers_confusion_is_not_an_ambiguity():
    planted = (hp.Planted("bob", "class_confusion", "truck", "car", rate=0.45),)
    habits = habits_of(hp.make_project(8, n_images=200, planted=planted))
    assert [(h.kind, h.labeler, h.label_class, h.other_class) for h in habits] == [
        ("class_confusion", "bob", "truck", "car")
    ]


def test_coached_habits_fall_in_strength_after_the_cut():
    project = hp.make_project(3, n_images=200, coached_after=100)
    evidence = hp.project_evidence(project)
    before = fold(evidence.of_images(np.arange(100)))
    after = fold(evidence.of_images(np.arange(100, 200)))
    for p in project.planted:
        key = {"kind": p.kind, "labeler": p.labeler, "label_class": p.label_class}
        old = habit_strength(before, **key, other_class=p.other_class)
        new = habit_strength(after, **key, other_class=p.other_class)
        assert old.found, old
        assert new.ci[1] < old.ci[0], (old, new)


def test_habit_words_name_no_labeler():
    project = hp.make_project(1, n_images=200)
    habits = habits_of(project)
    assert habits
    for habit in habits:
        assert not any(name in habit.size for name in sc.NAMES), habit.size


def test_habits_read_sums_keyed_by_a_stores_own_ids():
    """A store folds with GROUP BY on its ids (user id, class id) and passes names by id."""
    project = hp.make_project(2, n_images=200)
    folded = fold(hp.project_evidence(project))
    user_ids = {code: 1000 + 7 * code for code in range(len(folded.labeler_names))} | {-1: -1}
    class_ids = {code: 50 + code for code in range(len(folded.label_names))} | {-1: -1}

    def ids(codes, mapping):
        return np.array([mapping[c] for c in codes.tolist()], dtype=np.int64)

    stored = Evidence(
        labeler_names={user_ids[c]: n for c, n in enumerate(folded.labeler_names)},
        label_names={class_ids[c]: n for c, n in enumerate(folded.label_names)},
        image=None,
        labeler=ids(folded.labeler, user_ids),
        label_class=ids(folded.label_class, class_ids),
        values=folded.values,
        pair_image=None,
        pair_labeler=ids(folded.pair_labeler, user_ids),
        pair_class=ids(folded.pair_class, class_ids),
        pair_other=ids(folded.pair_other, class_ids),
        pair_count=folded.pair_count,
        pair_share=folded.pair_share,
    )
    assert habits_from_evidence(stored) == habits_from_evidence(folded) != []


def test_tight_boxes_duplicates_and_misses_of_a_whole_class_are_found():
    planted = (
        hp.Planted("ann", "tight_boxes", "truck", rate=0.15, edge="top"),
        hp.Planted("bob", "duplicates", "bike", rate=0.3),
        hp.Planted("cho", "misses_class", "car", rate=0.3),
    )
    project = hp.make_project(9, n_images=200, n_labelers=6, planted=planted)
    habits = habits_of(project)
    assert {(h.labeler, h.kind, h.label_class) for h in habits} == {
        (p.labeler, p.kind, p.label_class) for p in planted
    }
    tight = next(h for h in habits if h.kind == "tight_boxes")
    assert tight.strength == pytest.approx(-0.15, abs=0.02) and "top edge" in tight.size
