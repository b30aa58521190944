"""Projects whose simulated labelers have known habits, built on the adversarial scenes.

Each image is a scene of tests/engine/scenes.py (rows of touching cars, crowds, tiny objects,
honest jitter and 2-6 random errors by random labelers: the background noise). Then the
project's labelers get their habits, each on one class, drawn per project:

    loose_boxes      one edge of every box of the class pushed out by 10-25% of the object's
                     size (the other edges keep their honest jitter)
    grouping         rows whose majority class it is boxed as one box, 60-90% of them
    class_confusion  objects of the class given another class, 25-45% of them
    misses_small     objects of the class under 20 px skipped, 35-60% of them

and at least one labeler stays honest. ``apply`` also knows tight_boxes (an edge pulled in),
misses_class (objects of the class skipped at every size) and duplicates (a second box on
objects of the class), for projects whose habits a test chooses. ``coached_after`` makes every habit stop (fall to a
fifth of its rate or size) from that image on: the "after feedback" labels.
``score`` matches the habits found to the planted ones by (labeler, kind, class, other class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quality.engine import LabelSet, assess_many
from quality.engine.habits import habit_evidence
from tests.engine import scenes as sc

PLANTED_KINDS = ("loose_boxes", "grouping", "class_confusion", "misses_small")
SMALL = 20.0  # px, sqrt(w * h): as habit_tables.SIZE_BUCKETS[0]
SMALL_CLASSES = ("sign", "bag", "person")  # the scenes' tiny objects
ROW_CLASSES = ("car", "truck")
EDGES = ("left", "top", "right", "bottom")


@dataclass(frozen=True)
class Planted:
    labeler: str
    kind: str
    label_class: str
    other_class: str | None = None
    rate: float = 0.0  # share of the opportunities it acts on (loose: the edge's push)
    edge: str | None = None

    @property
    def key(self) -> tuple:
        return (self.labeler, self.kind, self.label_class, self.other_class)


@dataclass(frozen=True)
class Project:
    images: list[tuple[LabelSet, ...]]
    planted: tuple[Planted, ...]
    honest: tuple[str, ...]


def plan(
    rng: np.random.Generator, n_labelers: int, strength: float = 1.0
) -> tuple[tuple[Planted, ...], tuple]:
    """One habit per labeler for the first four (shuffled), the rest honest; ``strength``
    scales every habit's rate (or push)."""
    names = list(sc.NAMES[:n_labelers])
    rng.shuffle(names)
    planted = []
    for name, kind in zip(names, PLANTED_KINDS, strict=False):
        if kind == "loose_boxes":
            cls = sc._pick(rng, sc.CLASSES)
            edge = sc._pick(rng, EDGES)
            planted.append(
                Planted(name, kind, cls, rate=strength * rng.uniform(0.10, 0.25), edge=edge)
            )
        elif kind == "grouping":
            cls = sc._pick(rng, ROW_CLASSES)
            planted.append(Planted(name, kind, cls, rate=strength * rng.uniform(0.6, 0.9)))
        elif kind == "class_confusion":
            cls = sc._pick(rng, sc.CLASSES)
            other = sc._pick(rng, [c for c in sc.CLASSES if c != cls])
            planted.append(Planted(name, kind, cls, other, rate=strength * rng.uniform(0.25, 0.45)))
        else:
            cls = sc._pick(rng, SMALL_CLASSES)
            planted.append(Planted(name, kind, cls, rate=strength * rng.uniform(0.35, 0.60)))
    honest = tuple(sorted(names[len(PLANTED_KINDS) :]))
    return tuple(planted), honest


def make_project(
    seed: int,
    n_images: int = 200,
    n_labelers: int = 5,
    coached_after: int | None = None,
    planted: tuple[Planted, ...] | None = None,
    strength: float = 1.0,
) -> Project:
    """A project of ``n_images`` scenes by ``n_labelers`` (5..7) labelers with planted habits."""
    rng = np.random.default_rng(seed)
    if planted is None:
        planted, honest = plan(rng, n_labelers, strength)
    else:
        busy = {p.labeler for p in planted}
        honest = tuple(n for n in sc.NAMES[:n_labelers] if n not in busy)
    images = []
    for i in range(n_images):
        scene = sc.make_scene(rng, n_labelers)
        coached = coached_after is not None and i >= coached_after
        images.append(apply(rng, scene, planted, coached))
    return Project(images, planted, honest)


def apply(rng, scene: sc.Scene, planted, coached: bool = False) -> tuple[LabelSet, ...]:
    """The scene's label sets with the habits applied (a fifth as strong once coached)."""
    by_labeler = {p.labeler: p for p in planted}
    out = []
    for s in scene.label_sets:
        habit = by_labeler.get(s.labeler)
        if habit is None:
            out.append(s)
            continue
        rate = habit.rate / 5 if coached else habit.rate
        boxes, labels, owners = s.boxes.copy(), list(s.labels), list(scene.owners[s.labeler])
        objects = [o < len(scene.layout) and scene.layout[o] in sc.OBJECT_LAYOUTS for o in owners]
        truth_class = [scene.truth_labels[o] for o in owners]
        keep = np.ones(len(boxes), dtype=bool)
        if habit.kind in ("loose_boxes", "tight_boxes"):
            push = rate if habit.kind == "loose_boxes" else -rate
            for i in range(len(boxes)):
                if objects[i] and truth_class[i] == habit.label_class:
                    boxes[i] = _pushed(boxes[i], habit.edge, push)
        elif habit.kind == "misses_class":
            for i in range(len(boxes)):
                hit = objects[i] and truth_class[i] == habit.label_class
                keep[i] = not (hit and rng.random() < rate)
        elif habit.kind == "duplicates":
            copies = []
            for i in range(len(boxes)):
                if objects[i] and truth_class[i] == habit.label_class and rng.random() < rate:
                    x, y, w, h = boxes[i]
                    copies.append(np.round([x + 0.05 * w, y + 0.05 * h, w, h], 1))
            boxes = np.concatenate([boxes, np.array(copies).reshape(-1, 4)])
            labels += [habit.label_class] * len(copies)
            keep = np.r_[keep, np.ones(len(copies), dtype=bool)]
        elif habit.kind == "class_confusion":
            for i in range(len(boxes)):
                hit = objects[i] and labels[i] == habit.label_class == truth_class[i]
                if hit and rng.random() < rate:
                    labels[i] = habit.other_class
        elif habit.kind == "misses_small":
            for i in range(len(boxes)):
                if objects[i] and truth_class[i] == habit.label_class:
                    w, h = scene.truth[owners[i], 2:]
                    if np.sqrt(w * h) < SMALL and rng.random() < rate:
                        keep[i] = False
        elif habit.kind == "grouping":
            added = _group_rows(rng, scene, habit, rate, boxes, owners, keep)
            boxes = np.concatenate([boxes, np.array([b for b, _ in added]).reshape(-1, 4)])
            labels += [habit.label_class] * len(added)
            keep = np.r_[keep, np.ones(len(added), dtype=bool)]
        out.append(
            LabelSet(s.labeler, boxes[keep], [c for c, k in zip(labels, keep, strict=True) if k])
        )
    return tuple(out)


def _pushed(box, edge: str, share: float) -> np.ndarray:
    x, y, w, h = box
    if edge == "left":
        return np.round([x - share * w, y, w * (1 + share), h], 1)
    if edge == "right":
        return np.round([x, y, w * (1 + share), h], 1)
    if edge == "top":
        return np.round([x, y - share * h, w, h * (1 + share)], 1)
    return np.round([x, y, w, h * (1 + share)], 1)


def _group_rows(rng, scene, habit, rate, boxes, owners, keep) -> list:
    """Replace the labeler's boxes of a row (of the habit's class) with one box around them."""
    added = []
    for row, rid in zip(scene.rows, scene.row_ids, strict=True):
        if scene.truth_labels[rid] != habit.label_class or rng.random() >= rate:
            continue
        mine = [i for i, o in enumerate(owners) if o in row and keep[i]]
        if len(mine) != len(row):  # a background error already touched the row
            continue
        cars = boxes[mine]
        x1, y1 = cars[:, :2].min(axis=0)
        x2, y2 = (cars[:, :2] + cars[:, 2:]).max(axis=0)
        group = np.round([x1, y1, x2 - x1, y2 - y1], 1)
        if sc.iou([group], scene.truth[list(row)]).max() >= 0.45:
            continue  # one car is most of the row: the box would be that car's
        keep[mine] = False
        added.append((group, rid))
    return added


def project_evidence(project: Project):
    """Per-image habit evidence of the whole project (one batch: image i is image i)."""
    return habit_evidence(assess_many(project.images))


@dataclass
class Score:
    planted: int = 0
    found: int = 0  # habits reported
    right: int = 0  # reported and planted
    recalled: int = 0  # planted and reported
    honest_flagged: int = 0  # habits reported for an honest labeler

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.recalled / self.planted if self.planted else 1.0


def score(project: Project, habits, into: Score | None = None) -> tuple[Score, list, list]:
    """Add one project's outcome to ``into``: (score, wrong habits, planted habits missed)."""
    out = into or Score()
    planted = {p.key for p in project.planted}
    found = {(h.labeler, h.kind, h.label_class, h.other_class if h.kind == "class_confusion"
              else None) for h in habits}  # fmt: skip
    wrong = [h for h in habits if _key(h) not in planted]
    missed = [p for p in project.planted if p.key not in found]
    out.planted += len(planted)
    out.found += len(habits)
    out.right += len(habits) - len(wrong)
    out.recalled += len(planted) - len(missed)
    out.honest_flagged += sum(h.labeler in project.honest for h in habits)
    return out, wrong, missed


def _key(h) -> tuple:
    return (
        h.labeler,
        h.kind,
        h.label_class,
        h.other_class if h.kind == "class_confusion" else None,
    )
