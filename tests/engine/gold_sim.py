"""Simulated labelers answering gold images, for the pause rule's test and bench/gold.py.

A gold image is 640x480 with 1 + Poisson(4) objects (at most 12; mean about 5, as the gold
sets leads pick: a few clear objects) of 5 classes, 24-200 px wide, one per cell of a 4 x 3
grid of 160 px cells (big ones spill into the next cell a little). A labeler model answers it:

    jitter   sigma of each box edge, as a share of the object's width or height
    miss     chance of skipping an object
    swap     chance of giving an object another class (a habit: always the next class)
    extra    chance per image of one box where there is nothing
    loose    chance of a loose box (IoU 0.5-0.7 with the gold one)

HONEST is realistic small noise: edges off by N(0, 3%) (median IoU about 0.9), 2% of objects
missed, 1% given another class, 2% of boxes loose, an extra box on 5% of the images. SWAPPER
and MISSER add the habits of issue 19 to it: 10% of objects given another class, 20% missed.

Deterministic from a seed (numpy Generator).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from quality.engine import LabelSet

CLASSES = ("bike", "car", "person", "sign", "truck")
WIDTH, HEIGHT = 640, 480
MAX_OBJECTS = 12


@dataclass(frozen=True)
class LabelerModel:
    jitter: float = 0.03
    miss: float = 0.01
    swap: float = 0.005
    extra: float = 0.03
    loose: float = 0.02


HONEST = LabelerModel()
SWAPPER = replace(HONEST, swap=0.10)
MISSER = replace(HONEST, miss=0.20)
MODELS = {"honest": HONEST, "swap10": SWAPPER, "miss20": MISSER}


CELL = 160  # objects sit in cells of a 4 x 3 grid, one per cell, spilling over a little


def _gold_images(rng: np.random.Generator, n: int):
    """n gold images as flat arrays: (objects per image, boxes (N, 4), class codes (N,))."""
    m = np.minimum(1 + rng.poisson(4, n), MAX_OBJECTS)
    total = int(m.sum())
    # Each image's objects take distinct cells: the first m of a random permutation.
    cells = np.argsort(rng.random((n, MAX_OBJECTS)), axis=1)
    cell = cells[np.arange(MAX_OBJECTS)[None, :] < m[:, None]]
    w = rng.uniform(24, 200, total)
    h = np.minimum(w * rng.uniform(0.5, 1.5, total), 200)
    cx = (cell % 4) * CELL + CELL / 2 + rng.uniform(-0.25, 0.25, total) * CELL
    cy = (cell // 4) * CELL + CELL / 2 + rng.uniform(-0.25, 0.25, total) * CELL
    x = np.clip(cx - w / 2, 0, WIDTH - w)
    y = np.clip(cy - h / 2, 0, HEIGHT - h)
    return m, np.stack([x, y, w, h], axis=1), rng.integers(0, len(CLASSES), total)


def _answers(m, gold, code, model: LabelerModel, rng: np.random.Generator):
    """The model's answers to those images, as flat arrays (boxes per image, boxes, codes)."""
    total = len(code)
    x, y, w, h = gold.T
    e = rng.normal(0, model.jitter, (total, 4)) * np.stack([w, h, w, h], axis=1)
    x1, y1 = np.maximum(x + e[:, 0], 0), np.maximum(y + e[:, 1], 0)
    drawn = np.stack(
        [x1, y1, np.maximum(x + w + e[:, 2] - x1, 2), np.maximum(y + h + e[:, 3] - y1, 2)], axis=1
    )
    # A loose box: grown on all sides so its IoU with the gold box is 0.5-0.7.
    loose = rng.random(total) < model.loose
    grow = (1 / np.sqrt(rng.uniform(0.5, 0.7, total)) - 1) / 2
    lx, ly = np.maximum(x - grow * w, 0), np.maximum(y - grow * h, 0)
    grown = np.stack([lx, ly, x + w * (1 + grow) - lx, y + h * (1 + grow) - ly], axis=1)
    drawn[loose] = grown[loose]
    swapped = rng.random(total) < model.swap
    answer_code = np.where(swapped, (code + 1) % len(CLASSES), code)
    kept = rng.random(total) >= model.miss
    image = np.repeat(np.arange(len(m)), m)
    # An extra box on some images, in a grid cell with no object.
    n = len(m)
    extra = rng.random(n) < model.extra
    used = np.zeros((n, MAX_OBJECTS), dtype=bool)
    cell = (np.clip(gold[:, 0] + gold[:, 2] / 2, 0, WIDTH - 1) // CELL).astype(int) + 4 * (
        np.clip(gold[:, 1] + gold[:, 3] / 2, 0, HEIGHT - 1) // CELL
    ).astype(int)
    used[image, cell] = True
    extra &= ~used.all(axis=1)
    free = np.argmax(np.where(used, -1.0, rng.random((n, MAX_OBJECTS))), axis=1)
    side = rng.uniform(24, 100, n)
    extra_box = np.stack(
        [(free % 4) * CELL + (CELL - side) / 2, (free // 4) * CELL + (CELL - side) / 2, side, side],
        axis=1,
    )
    boxes = np.concatenate([drawn[kept], extra_box[extra]])
    codes = np.concatenate([answer_code[kept], rng.integers(0, len(CLASSES), n)[extra]])
    owner = np.concatenate([image[kept], np.flatnonzero(extra)])
    order = np.argsort(owner, kind="stable")
    return np.bincount(owner, minlength=n), boxes[order], codes[order]


def _label_sets(name: str, counts, boxes, codes) -> list[LabelSet]:
    bounds = np.cumsum(counts)[:-1]
    labels = [CLASSES[c] for c in codes.tolist()]
    starts = np.r_[0, bounds].tolist()
    return [
        LabelSet(name, part, labels[s : s + len(part)])
        for s, part in zip(starts, np.split(boxes, bounds), strict=True)
    ]


def sessions(
    model: LabelerModel, n_sessions: int, n_gold: int, seed: int
) -> tuple[list[LabelSet], list[LabelSet]]:
    """n_sessions labelers of one model, each answering n_gold gold images (fresh images per
    session): (answers, golds), session by session, in the order answered."""
    rng = np.random.default_rng(seed)
    m, gold, code = _gold_images(rng, n_sessions * n_gold)
    counts, boxes, codes = _answers(m, gold, code, model, rng)
    return _label_sets("labeler", counts, boxes, codes), _label_sets("gold", m, gold, code)
