"""Labelers' habits: systematic deviations from the consensus, read from folded evidence.

    evidence = habit_evidence(result)           # per image, at assessment time (summable)
    habits = habits_from_evidence(fold(rows))   # over any set of images' rows

A habit names a labeler (None for the project's own: an ambiguous pair of classes), a kind, a
class, its strength with a confidence interval and its support. Noise is not a habit: each
kind needs a minimum support and an interval that clears a margin (HabitParams):

    loose_boxes / tight_boxes  an edge of the labeler's boxes lies outside (inside) the
                     consensus edge: t interval of the mean offset, as a share of the object's
                     size, beyond ``min_edge`` (or the area's beyond ``min_area``); strength:
                     the main edge's mean offset
    grouping         rows of touching objects boxed as one: Wilson interval of the rate
    class_confusion  the labeler gives other_class where the consensus says label_class
    misses_small     the labeler skips objects under SIZE_BUCKETS[0] px of the class (and not
                     the larger ones: that would be misses_class)
    misses_class     the labeler skips objects of the class, of any size
    duplicates       second boxes of one object
    ambiguity        (labeler None) the labelers split between label_class and other_class on
                     many objects, and the disagreement is not one labeler's

For rates, the interval's low end must exceed the other labelers' rate by ``min_excess``, so a
class everybody finds hard is not one labeler's habit.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .habit_evidence import habit_evidence
from .habit_tables import COLUMN, EDGES, SIZE_BUCKETS, Evidence, fold

HABIT_KINDS = (
    "loose_boxes",
    "tight_boxes",
    "grouping",
    "class_confusion",
    "misses_small",
    "misses_class",
    "duplicates",
    "ambiguity",
)
# The flag kind each habit raises (what settling the habit's flags means).
FLAG_OF_HABIT = {
    "loose_boxes": "low_overlap",
    "tight_boxes": "low_overlap",
    "grouping": "grouping",
    "class_confusion": "label_conflict",
    "misses_small": "missing",
    "misses_class": "missing",
    "duplicates": "duplicate",
    "ambiguity": "label_conflict",
}
_DIMENSION = {"left": "width", "right": "width", "top": "height", "bottom": "height"}

__all__ = [
    "FLAG_OF_HABIT",
    "HABIT_KINDS",
    "Evidence",
    "Habit",
    "HabitParams",
    "fold",
    "habit_evidence",
    "habit_strength",
    "habits_from_evidence",
]


@dataclass(frozen=True)
class HabitParams:
    level: float = 0.95  # of every confidence interval
    min_boxes: int = 30  # loose/tight: boxes measured
    min_edge: float = 0.04  # loose/tight: share of the object's width or height
    min_area: float = 0.10  # loose/tight: share of the object's area
    min_trials: int = 20  # rates: opportunities (rows, objects, boxes)
    min_events: int = 5  # rates: times it happened
    min_excess: float = 0.05  # rates: above the other labelers' rate
    min_ambiguity: float = 0.15  # share of the two classes' objects given both
    max_top_share: float = 0.6  # of an ambiguous pair's disagreements, one labeler's at most


@dataclass(frozen=True)
class Habit:
    kind: str
    labeler: Hashable | None  # None: the project's (ambiguity)
    label_class: Hashable | None
    other_class: Hashable | None  # the class given instead (confusion), the other (ambiguity)
    strength: float  # a rate, or for loose/tight boxes the main edge's mean offset (share)
    ci: tuple[float, float]
    support: int  # boxes, rows or objects measured
    size: str  # the habit in words; names no labeler
    found: bool = True  # False: a measured candidate (habit_strength) that is not a habit
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def flag_kind(self) -> str:
        return FLAG_OF_HABIT[self.kind]


def habits_from_evidence(folded: Evidence, params: HabitParams | None = None) -> list[Habit]:
    """Every habit the folded evidence shows (``fold`` it first, or pass sums from a store)."""
    return [h for h in _candidates(folded, params or HabitParams()) if h.found]


def habit_strength(
    folded: Evidence,
    *,
    kind: str,
    labeler: Hashable | None,
    label_class: Hashable | None,
    other_class: Hashable | None = None,
    params: HabitParams | None = None,
) -> Habit | None:
    """The measure of one habit, found or not (e.g. on labels submitted after feedback);
    None when the evidence has nothing on it."""
    for h in _candidates(folded, params or HabitParams()):
        if (h.kind, h.labeler, h.label_class) == (kind, labeler, label_class) and (
            other_class is None or h.other_class == other_class
        ):
            return h
    return None


def wilson(events: float, trials: float, level: float) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if trials <= 0:
        return 0.0, 1.0
    z = _normal_quantile(level)
    p = events / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_ci(n: float, total: float, total_sq: float, level: float) -> tuple[float, float, tuple]:
    """Mean, standard deviation and t interval of the mean from count, sum and sum of squares."""
    if n < 2:
        mean = total / n if n else 0.0
        return mean, 0.0, (-np.inf, np.inf)
    mean = total / n
    var = max(total_sq - n * mean * mean, 0.0) / (n - 1)
    sd = float(np.sqrt(var))
    half = _t_quantile(level, int(n) - 1) * sd / np.sqrt(n)
    return mean, sd, (mean - half, mean + half)


# scipy's quantile functions cost ~0.5 ms a call; a project asks for the same few many times.
# scipy (~40 MB) is imported here, where it is used: the models and tasks load this module.
@lru_cache(maxsize=64)
def _normal_quantile(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2))


@lru_cache(maxsize=4096)
def _t_quantile(level: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, df))


class _Sums:
    """Folded sums by key, and the totals over all labelers, to give each labeler's peers'."""

    def __init__(self, ev: Evidence) -> None:
        self.ev = ev
        keys = zip(ev.labeler.tolist(), ev.label_class.tolist(), strict=True)
        self.row = {key: k for k, key in enumerate(keys)}
        labelers = ev.labeler >= 0
        self.class_total: dict[int, np.ndarray] = {}
        for c in np.unique(ev.label_class[labelers]).tolist():
            self.class_total[c] = ev.values[labelers & (ev.label_class == c)].sum(axis=0)
        pair_keys = list(
            zip(
                ev.pair_labeler.tolist(),
                ev.pair_class.tolist(),
                ev.pair_other.tolist(),
                strict=True,
            )
        )
        self.pair = dict(zip(pair_keys, ev.pair_count.tolist(), strict=True))
        self.share = dict(zip(pair_keys, ev.pair_share.tolist(), strict=True))
        # Per (class, other): every labeler's count, and by labeler (the blame of a pair).
        self.pair_total: dict[tuple[int, int], float] = {}
        self.blame: dict[frozenset, dict[int, float]] = {}
        for (lab, c, other), n in self.pair.items():
            if lab >= 0:
                self.pair_total[c, other] = self.pair_total.get((c, other), 0.0) + n
                by = self.blame.setdefault(frozenset((c, other)), {})
                by[lab] = by.get(lab, 0.0) + n

    def get(self, labeler: int, label_class: int, column: str) -> float:
        k = self.row.get((labeler, label_class))
        return 0.0 if k is None else float(self.ev.values[k, COLUMN[column]])

    def others(self, labeler: int, label_class: int, column: str) -> float:
        """The column's total over the other labelers (not the project-level rows)."""
        total = self.class_total.get(label_class)
        if total is None:
            return 0.0
        return float(total[COLUMN[column]]) - self.get(labeler, label_class, column)

    def labeler_name(self, code: int):
        return None if code < 0 else self.ev.labeler_names[code]

    def label_name(self, code: int):
        return None if code < 0 else self.ev.label_names[code]


def _candidates(ev: Evidence, p: HabitParams) -> list[Habit]:
    sums = _Sums(ev)
    out: list[Habit] = []
    ambiguous = set()
    for habit in _ambiguity(sums, p):
        out.append(habit)
        if habit.found:
            ambiguous.add(frozenset(habit.detail["codes"]))
    keys = [
        (lab, c)
        for lab, c in zip(ev.labeler.tolist(), ev.label_class.tolist(), strict=True)
        if lab >= 0 and c >= 0
    ]
    for lab, c in keys:
        out += _geometry(sums, lab, c, p)
        out.append(_rate(sums, p, "grouping", lab, c, "rows_grouped", "rows"))
        out.append(_rate(sums, p, "duplicates", lab, c, "duplicates", "boxes"))
        out += _misses(sums, lab, c, p)
    for (lab, c, other), n in sums.pair.items():
        if lab < 0 or c < 0 or other < 0:
            continue
        habit = _rate(
            sums, p, "class_confusion", lab, c, None, "class_n",
            events=n, peer_events=sums.pair_total[c, other] - n, other=other,
        )  # fmt: skip
        if habit.found and frozenset((c, other)) in ambiguous:
            habit = _replace(habit, found=False, why="the pair of classes is ambiguous")
        out.append(habit)
    out = [h for h in out if h.support > 0]
    order = {k: i for i, k in enumerate(HABIT_KINDS)}
    return sorted(
        out, key=lambda h: (order[h.kind], str(h.labeler), str(h.label_class), str(h.other_class))
    )


def _replace(habit: Habit, *, found: bool, why: str) -> Habit:
    return Habit(
        habit.kind, habit.labeler, habit.label_class, habit.other_class, habit.strength,
        habit.ci, habit.support, habit.size, found, habit.detail | {"why_not": why},
    )  # fmt: skip


def _geometry(sums: _Sums, lab: int, c: int, p: HabitParams) -> list[Habit]:
    n = sums.get(lab, c, "fit_n")
    if n <= 0:
        return []
    edges = {}
    for edge in EDGES:
        mean, sd, ci = mean_ci(n, sums.get(lab, c, edge), sums.get(lab, c, f"{edge}_sq"), p.level)
        px, px_sd, _ = mean_ci(
            n, sums.get(lab, c, f"{edge}_px"), sums.get(lab, c, f"{edge}_px_sq"), p.level
        )
        edges[edge] = (mean, ci, px, px_sd)
    area, _, area_ci = mean_ci(n, sums.get(lab, c, "area"), sums.get(lab, c, "area_sq"), p.level)
    out = []
    for kind, sign in (("loose_boxes", 1.0), ("tight_boxes", -1.0)):
        # Edges whose interval lies wholly beyond the margin, in this direction.
        beyond = [e for e, (_, ci, _, _) in edges.items() if _clear(ci, sign, p.min_edge)]
        area_clear = _clear(area_ci, sign, np.log1p(p.min_area))
        main = max(edges, key=lambda e: sign * edges[e][0])
        mean, ci, px, px_sd = edges[main]
        found = n >= p.min_boxes and (bool(beyond) or area_clear) and sign * mean > 0
        growth = float(np.expm1(area))
        words = "larger" if growth >= 0 else "smaller"
        parts = [
            f"{abs(growth):.0%} {words} than the consensus, mostly at the {main} edge: "
            f"{px:+.1f} px on average ({mean:+.0%} of the {_DIMENSION[main]}, spread "
            f"{px_sd:.1f} px)"
        ]
        parts += [f"{e} edge {edges[e][2]:+.1f} px" for e in beyond if e != main]
        out.append(
            Habit(
                kind,
                sums.labeler_name(lab),
                sums.label_name(c),
                None,
                float(mean),
                (float(ci[0]), float(ci[1])),
                int(n),
                "; ".join(parts) + f"; on {int(n)} {sums.label_name(c)} boxes",
                found,
                {"edges": edges, "area_ratio": 1 + growth, "beyond": beyond},
            )  # fmt: skip
        )
    return out


def _clear(ci: tuple, sign: float, margin: float) -> bool:
    """The interval lies wholly beyond ``margin`` in the direction ``sign``."""
    return ci[0] >= margin if sign > 0 else ci[1] <= -abs(margin)


_RATE_WORDS = {
    "grouping": "boxes {e} of {n} rows of {cls} ({rate:.0%}) as one",
    "duplicates": "draws a second box on {rate:.0%} of {cls} boxes ({e} of {n})",
    "class_confusion": "calls {rate:.0%} of {cls} objects {other} ({e} of {n})",
    "misses_small": "misses {rate:.0%} of {cls} objects under {small:g} px ({e} of {n})",
    "misses_class": "misses {rate:.0%} of {cls} objects ({e} of {n})",
}


def _rate(sums: _Sums, p: HabitParams, kind, lab, c, events_col, trials_col, *, events=None,
          peer_events=None, other=-1) -> Habit:  # fmt: skip
    """A rate habit: the labeler's rate against the other labelers' (Wilson interval)."""
    events_cols = (events_col,) if isinstance(events_col, str) else events_col
    trials_cols = (trials_col,) if isinstance(trials_col, str) else trials_col
    n = sum(sums.get(lab, c, col) for col in trials_cols)
    e = events if events is not None else sum(sums.get(lab, c, col) for col in events_cols)
    peer_n = sum(sums.others(lab, c, col) for col in trials_cols)
    if peer_events is None:
        peer_events = sum(sums.others(lab, c, col) for col in events_cols)
    rate = e / n if n else 0.0
    peer = peer_events / peer_n if peer_n else 0.0
    lo, hi = wilson(e, n, p.level)
    found = n >= p.min_trials and e >= p.min_events and lo >= peer + p.min_excess
    words = _RATE_WORDS[kind].format(
        e=int(e), n=int(n), rate=rate, cls=sums.label_name(c), other=sums.label_name(other),
        small=SIZE_BUCKETS[0],
    )  # fmt: skip
    return Habit(
        kind, sums.labeler_name(lab), sums.label_name(c), sums.label_name(other), float(rate),
        (float(lo), float(hi)), int(n), f"{words}, against {peer:.0%} for the others", found,
        {"events": int(e), "peer_rate": float(peer)},
    )  # fmt: skip


def _misses(sums: _Sums, lab: int, c: int, p: HabitParams) -> list[Habit]:
    """misses_small when only the small objects are skipped; misses_class when the larger ones
    are too (then the small ones are part of it)."""
    buckets = range(len(SIZE_BUCKETS) + 1)
    everything = _rate(
        sums, p, "misses_class", lab, c,
        tuple(f"missed_{b}" for b in buckets), tuple(f"seen_{b}" for b in buckets),
    )  # fmt: skip
    larger = _rate(
        sums, p, "misses_class", lab, c,
        tuple(f"missed_{b}" for b in buckets[1:]), tuple(f"seen_{b}" for b in buckets[1:]),
    )  # fmt: skip
    small = _rate(sums, p, "misses_small", lab, c, "missed_0", "seen_0")
    of_class = everything.found and larger.found
    out = []
    if everything.found and not of_class:
        everything = _replace(everything, found=False, why="only some sizes are missed")
    out.append(everything)
    if small.found and of_class:
        small = _replace(small, found=False, why="the class is missed at every size")
    out.append(small)
    return out


def _ambiguity(sums: _Sums, p: HabitParams) -> list[Habit]:
    """Pairs of classes the labelers split on, where the disagreement is not one labeler's."""
    out = []
    for (lab, c, other), contested in sums.pair.items():
        if lab >= 0 or c < 0 or other < 0 or c > other:
            continue
        objects = sums.get(-1, c, "objects") + sums.get(-1, other, "objects") - contested
        rate = contested / objects if objects else 0.0
        lo, hi = wilson(contested, objects, p.level)
        blame = sums.blame.get(frozenset((c, other)), {})
        total = sum(blame.values())
        top = max(blame.values()) / total if total else 0.0
        spread = not total or (top <= p.max_top_share and len(blame) >= 2)
        found = (
            contested >= p.min_events and objects >= p.min_trials and lo >= p.min_ambiguity
        ) and spread
        split = sums.share.get((-1, c, other), 0.0) / contested if contested else 0.0
        cls, oth = sums.label_name(c), sums.label_name(other)
        out.append(
            Habit(
                "ambiguity",
                None,
                cls,
                oth,
                float(rate),
                (float(lo), float(hi)),
                int(objects),
                f"labelers split {split:.0%}/{1 - split:.0%} between {cls} and {oth} on "
                f"{rate:.0%} of the objects given either ({int(contested)} of {int(objects)})",
                found,
                {"codes": (c, other), "split": split, "top_labeler_share": top},
            )  # fmt: skip
        )
    return out
