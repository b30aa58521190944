"""Labelers against gold: each answer on a gold image matched to the true boxes, scored, and a
sequential rule that pauses a labeler once we are sure they are below the bar.

An answer and its gold boxes are assessed as one image with two raters (``assess_many``: the
engine's matching, one to one on IoU, duplicates and loose boxes as it sees them). Per answer:

- *correct*: answer boxes matched to a gold box (IoU >= match_iou) with the gold class;
- *matched*: matched to a gold box whatever the class (class accuracy = correct / matched);
- precision = correct / answer boxes, recall = correct / gold boxes;
- the **gold score** = correct / (gold boxes + answer boxes - correct), i.e. TP / (TP + FP + FN)
  of a detection evaluation: a missed gold box and an extra box cost one unit each, a box of the
  wrong class (or too loose to match) two (a false positive of its class and a false negative of
  the gold one). A 10% class-swap habit gives 0.9 / 1.1 = 0.82 and a 20% miss rate 0.8, where
  an F1 or a class accuracy would give 0.9; an honest labeler stays about 0.95-0.97.

The score is a proportion of ``units`` = gold + answer - correct, so its interval is Wilson's.
Objects of one image are not independent, so the interval is a little optimistic when a
labeler's errors cluster on some images; the pause rule's minimum of gold images and the
simulations of tests/engine/gold_sim.py (bench/gold.py) are what its defaults rest on.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from .api import assess_many
from .kalpha import kalpha
from .types import AgreementParams, LabelSet

GOLD = "\x00gold"  # sorts before any labeler name; the answer's own name does not matter
ANSWER = "answer"

# Per answer box: what became of it. Per gold box: found or missed.
CORRECT, WRONG_CLASS, LOOSE, EXTRA = range(4)
FOUND, MISSED = 0, 1


@dataclass(frozen=True, slots=True)
class GoldParams:
    """The bar and how sure we must be before acting on it.

    ``threshold``: a labeler is paused once the upper bound of their gold score's interval is
    under it (and they answered at least ``min_images`` gold images). ``confidence``: of the
    two-sided intervals reported (the pause uses the upper end). ``qualify_threshold``: the
    gold score a new labeler needs over the qualification set.
    """

    threshold: float = 0.9
    min_images: int = 12
    confidence: float = 0.9
    qualify_threshold: float = 0.8

    def __post_init__(self) -> None:
        for name in ("threshold", "qualify_threshold"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value!r}")
        if not 0.5 <= self.confidence < 1.0:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence!r}")
        if self.min_images < 1:
            raise ValueError(f"min_images must be at least 1, got {self.min_images!r}")

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(0.5 + self.confidence / 2)


class AnswerScore(NamedTuple):
    """One answer against its gold image: summable figures and what went wrong, box by box.

    Box numbers are indices into the answer's and the gold LabelSet's boxes.
    """

    gold_boxes: int
    answer_boxes: int
    matched: int
    correct: int
    iou_sum: float  # over matched boxes
    iou_sq_sum: float
    kalpha: float | None  # K-alpha of the answer and the gold (None when not asked for)
    per_class: dict[Hashable, tuple[int, int, int]]  # gold class -> (gold, answered, correct)
    missed: tuple[int, ...]  # gold boxes with no answer box on them
    extra: tuple[int, ...]  # answer boxes on no gold box (a second box on one included)
    wrong_class: tuple[tuple[int, int], ...]  # (answer box, gold box) of another class
    loose: tuple[tuple[int, int, float], ...]  # (answer box, gold box, IoU) under low_iou

    @property
    def units(self) -> int:
        return self.gold_boxes + self.answer_boxes - self.correct


@dataclass(frozen=True, eq=False)
class GoldAnswers:
    """Many answers scored at once, as arrays (one entry per answer; ``class_*`` per answer
    and class, columns in ``labels`` order). ``answer(i)`` gives answer i as an AnswerScore."""

    labels: tuple[Hashable, ...]
    gold_boxes: np.ndarray
    answer_boxes: np.ndarray
    matched: np.ndarray
    correct: np.ndarray
    iou_sum: np.ndarray
    iou_sq_sum: np.ndarray
    kalpha: np.ndarray | None
    class_gold: np.ndarray
    class_answer: np.ndarray
    class_correct: np.ndarray
    # Per box row of the assessed batch: its answer, whether gold, its index, its fate.
    row_answer: np.ndarray
    row_gold: np.ndarray
    row_ref: np.ndarray
    row_fate: np.ndarray
    row_partner: np.ndarray  # ref of the other box of its object, -1 for none
    row_iou: np.ndarray  # IoU with that box, NaN for none
    low_iou: float

    def __len__(self) -> int:
        return len(self.gold_boxes)

    @property
    def units(self) -> np.ndarray:
        return self.gold_boxes + self.answer_boxes - self.correct

    def answer(self, i: int) -> AnswerScore:
        rows = np.flatnonzero(self.row_answer == i)
        mine = rows[~self.row_gold[rows]]
        gold = rows[self.row_gold[rows]]
        fate, ref = self.row_fate, self.row_ref
        per_class = {
            self.labels[c]: (
                int(self.class_gold[i, c]),
                int(self.class_answer[i, c]),
                int(self.class_correct[i, c]),
            )
            for c in np.flatnonzero(self.class_gold[i] + self.class_answer[i]).tolist()
        }
        loose = mine[(self.row_partner[mine] >= 0) & (self.row_iou[mine] < self.low_iou)]
        return AnswerScore(
            gold_boxes=int(self.gold_boxes[i]),
            answer_boxes=int(self.answer_boxes[i]),
            matched=int(self.matched[i]),
            correct=int(self.correct[i]),
            iou_sum=float(self.iou_sum[i]),
            iou_sq_sum=float(self.iou_sq_sum[i]),
            kalpha=None if self.kalpha is None else float(self.kalpha[i]),
            per_class=per_class,
            missed=tuple(sorted(ref[gold[fate[gold] == MISSED]].tolist())),
            extra=tuple(sorted(ref[mine[fate[mine] == EXTRA]].tolist())),
            wrong_class=tuple(
                sorted(
                    zip(
                        ref[mine[fate[mine] == WRONG_CLASS]].tolist(),
                        self.row_partner[mine[fate[mine] == WRONG_CLASS]].tolist(),
                        strict=True,
                    )
                )
            ),
            loose=tuple(
                sorted(
                    zip(
                        ref[loose].tolist(),
                        self.row_partner[loose].tolist(),
                        [round(v, 4) for v in self.row_iou[loose].tolist()],
                        strict=True,
                    )
                )
            ),
        )


def score_answers(
    answers: Sequence[LabelSet],
    golds: Sequence[LabelSet],
    params: AgreementParams | None = None,
    *,
    with_kalpha: bool = True,
) -> GoldAnswers:
    """Score each answer against the gold LabelSet at the same position (names are ignored).

    One batched engine pass for all of them; ``with_kalpha`` adds each answer's K-alpha with
    its gold image (one more batched pass).
    """
    params = params or AgreementParams()
    images = [
        [LabelSet(ANSWER, a.boxes, a.labels), LabelSet(GOLD, g.boxes, g.labels)]
        for a, g in zip(answers, golds, strict=True)
    ]
    result = assess_many(images, params)
    batch = result.batch
    n = len(images)
    labels = batch.label_names
    n_labels = max(len(labels), 1)
    rows = np.arange(batch.n_boxes, dtype=np.int64)
    row_answer = batch.set_image[batch.box_set]
    gold_code = batch.labeler_names.index(GOLD) if GOLD in batch.labeler_names else -1
    row_gold = batch.set_labeler[batch.box_set] == gold_code

    # Objects of two members are an answer box and a gold box on one object.
    size = np.diff(result.object_member_ptr)
    pairs = np.flatnonzero(size == 2)
    first = result.object_member_rows[result.object_member_ptr[pairs]]
    second = result.object_member_rows[result.object_member_ptr[pairs] + 1]
    partner = np.full(batch.n_boxes, -1, dtype=np.int64)
    partner[first], partner[second] = second, first
    row_iou = np.full(batch.n_boxes, np.nan)
    row_iou[first] = row_iou[second] = result.object_mean_iou[pairs]
    has_partner = partner >= 0
    close = has_partner & (np.nan_to_num(row_iou) >= params.match_iou)
    same = np.zeros(batch.n_boxes, dtype=bool)
    same[has_partner] = batch.label[has_partner] == batch.label[partner[has_partner]]

    fate = np.full(batch.n_boxes, EXTRA, dtype=np.int64)
    fate[has_partner] = LOOSE
    fate[close] = WRONG_CLASS
    fate[close & same] = CORRECT
    # A gold box the engine reads as a second box of another gold box is not a gold object.
    gold_live = row_gold & (result.box_object >= 0)
    fate[row_gold] = np.where(close[row_gold], FOUND, MISSED)
    fate[row_gold & ~gold_live] = FOUND

    answer_rows = ~row_gold
    matched_rows = answer_rows & close
    correct_rows = matched_rows & same
    iou = np.nan_to_num(row_iou)

    def per_answer(mask, weights=None):
        w = None if weights is None else weights[mask]
        return np.bincount(row_answer[mask], weights=w, minlength=n)

    def per_class(mask):
        cells = row_answer[mask] * n_labels + batch.label[mask]
        return np.bincount(cells, minlength=n * n_labels).reshape(n, n_labels)

    return GoldAnswers(
        labels=labels,
        gold_boxes=per_answer(gold_live).astype(np.int64),
        answer_boxes=per_answer(answer_rows).astype(np.int64),
        matched=per_answer(matched_rows).astype(np.int64),
        correct=per_answer(correct_rows).astype(np.int64),
        iou_sum=per_answer(matched_rows, iou),
        iou_sq_sum=per_answer(matched_rows, iou * iou),
        kalpha=np.array(kalpha(images, params.match_iou).per_image) if with_kalpha else None,
        class_gold=per_class(gold_live),
        class_answer=per_class(answer_rows),
        class_correct=per_class(correct_rows),
        row_answer=row_answer,
        row_gold=row_gold,
        row_ref=batch.box_ref[rows],
        row_fate=fate,
        row_partner=np.where(has_partner, batch.box_ref[np.maximum(partner, 0)], -1),
        row_iou=row_iou,
        low_iou=params.low_iou,
    )


# --- intervals and the rules ------------------------------------------------------------


class Estimate(NamedTuple):
    """A figure with its interval; ``value`` None when there is nothing to estimate from."""

    value: float | None
    low: float
    high: float
    n: int  # what the interval rests on: boxes (or units) for proportions, images for means


def wilson_interval(k, n, z: float):
    """Wilson score interval of k successes in n trials (arrays broadcast); (0, 1) for n = 0."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (k + z2 / 2) / (n + z2)
        half = z / (n + z2) * np.sqrt(np.maximum(k * (n - k) / n, 0.0) + z2 / 4)
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def proportion(k: int, n: int, z: float) -> Estimate:
    low, high = wilson_interval(k, n, z)
    return Estimate(k / n if n else None, float(low), float(high), int(n))


def mean_estimate(
    total: float, sq_total: float, n: int, z: float, bounds: tuple[float, float]
) -> Estimate:
    """Mean of n values from their sum and sum of squares; normal interval, clipped to bounds."""
    lo, hi = bounds
    if n == 0:
        return Estimate(None, lo, hi, 0)
    mean = total / n
    if n == 1:
        return Estimate(mean, lo, hi, 1)
    var = max(sq_total - n * mean * mean, 0.0) / (n - 1)
    half = z * math.sqrt(var / n)
    return Estimate(mean, max(lo, mean - half), min(hi, mean + half), n)


def gold_paused(correct, units, images, params: GoldParams):
    """The pause rule (arrays broadcast, e.g. cumulative sums of a session): at least
    ``min_images`` gold images answered and the gold score's upper bound under the threshold."""
    _, high = wilson_interval(correct, units, params.z)
    return (np.asarray(images) >= params.min_images) & (high < params.threshold)


def gold_qualified(correct: int, units: int, params: GoldParams) -> bool:
    """Over the qualification set: a gold score of at least ``qualify_threshold``. Nothing to
    count (only empty gold images, answered empty) passes."""
    return units == 0 or correct / units >= params.qualify_threshold


class GoldTotals(NamedTuple):
    """Summable figures of many answers (sum the stored rows, or ``totals_of`` the arrays)."""

    images: int = 0
    gold_boxes: int = 0
    answer_boxes: int = 0
    matched: int = 0
    correct: int = 0
    iou_sum: float = 0.0
    iou_sq_sum: float = 0.0
    kalpha_images: int = 0
    kalpha_sum: float = 0.0
    kalpha_sq_sum: float = 0.0

    @property
    def units(self) -> int:
        return self.gold_boxes + self.answer_boxes - self.correct


def totals_of(scored: GoldAnswers, which: np.ndarray | None = None) -> GoldTotals:
    pick = np.arange(len(scored)) if which is None else np.asarray(which)
    ka = None if scored.kalpha is None else scored.kalpha[pick]
    return GoldTotals(
        images=len(pick),
        gold_boxes=int(scored.gold_boxes[pick].sum()),
        answer_boxes=int(scored.answer_boxes[pick].sum()),
        matched=int(scored.matched[pick].sum()),
        correct=int(scored.correct[pick].sum()),
        iou_sum=float(scored.iou_sum[pick].sum()),
        iou_sq_sum=float(scored.iou_sq_sum[pick].sum()),
        kalpha_images=0 if ka is None else len(ka),
        kalpha_sum=0.0 if ka is None else float(ka.sum()),
        kalpha_sq_sum=0.0 if ka is None else float((ka * ka).sum()),
    )


class GoldScore(NamedTuple):
    images: int
    score: Estimate
    precision: Estimate
    recall: Estimate
    class_accuracy: Estimate
    mean_iou: Estimate
    kalpha: Estimate
    paused: bool  # by the rule, on these totals


def gold_score(totals: GoldTotals, params: GoldParams | None = None) -> GoldScore:
    """A labeler's figures against gold with their intervals, and the pause rule's verdict."""
    params = params or GoldParams()
    z = params.z
    t = totals
    return GoldScore(
        images=t.images,
        score=proportion(t.correct, t.units, z),
        precision=proportion(t.correct, t.answer_boxes, z),
        recall=proportion(t.correct, t.gold_boxes, z),
        class_accuracy=proportion(t.correct, t.matched, z),
        mean_iou=mean_estimate(t.iou_sum, t.iou_sq_sum, t.matched, z, (0.0, 1.0)),
        kalpha=mean_estimate(t.kalpha_sum, t.kalpha_sq_sum, t.kalpha_images, z, (-1.0, 1.0)),
        paused=bool(gold_paused(t.correct, t.units, t.images, params)),
    )


def class_scores(
    per_class: dict[Hashable, tuple[int, int, int]], params: GoldParams | None = None
) -> dict[Hashable, dict[str, Estimate | int]]:
    """Per gold class, from summed (gold, answered, correct): recall and precision with their
    intervals (answered counts the answer boxes given that class)."""
    z = (params or GoldParams()).z
    return {
        label: {
            "gold": gold,
            "answered": answered,
            "correct": correct,
            "recall": proportion(correct, gold, z),
            "precision": proportion(correct, answered, z),
        }
        for label, (gold, answered, correct) in per_class.items()
    }
