"""The shape of habit evidence (EVIDENCE_VERSION 1): two summable tables, and how they fold.

Evidence is stored per image when the image is assessed and folded by addition (``fold``, or
GROUP BY with SUM in the database); habits are read from the folded sums (``habits``). Folding
only some rows (e.g. label sets submitted after a coaching note) gives a habit's strength there.
Codes: ``labeler`` indexes ``labeler_names`` and ``label_class`` / ``other_class`` index
``label_names``; -1 means none. A store may keep its own ids instead (user id, class id) and
sum its rows itself (GROUP BY the keys, SUM every value column): ``habits`` only compares
codes and looks names up with ``names[code]``, so a dict of id -> name works there (``fold``
maps codes through the names, so give it tuples).

Table 1, per (image, labeler, label_class): ``values[:, k]`` is column ``LABELER_CLASS[k]``.

    boxes, duplicates      boxes the labeler drew of this class (their own class); of which
                           second boxes of one object
    fit_n                  boxes measured for fit: on objects with 3+ boxes (the class is the
                           object's majority class, else the box's)
    left, top, right, bottom   per edge, the sum over those boxes of how far the edge lies
                           outside the consensus edge (the members' per-edge median; negative:
                           inside), as a share of the consensus width (left, right) or height
                           (top, bottom), clipped to +-EDGE_CLIP; ``<edge>_sq`` the sum of
                           squares; ``<edge>_px``, ``<edge>_px_sq`` the same in pixels
    area, area_sq          sum (of squares) of log(box area / consensus area), clipped to
                           +-log 4
    class_n, class_wrong   boxes on objects with 3+ boxes and a majority class (this class); of
                           which given another class (which one: table 2)
    rows, rows_grouped     rows of this class (ROW_MIN+ consensus objects touching side by
                           side, e.g. parked cars, a crowd; the class is the row's majority) in
                           images the labeler labeled; of which boxed as one by the labeler
    group_boxes, group_objects  grouping boxes the labeler drew; the objects inside them
    seen_<b>, missed_<b>   consensus objects of this class in images the labeler labeled (not
                           inside a group box of theirs), by size bucket b (0: sqrt(w * h)
                           under SIZE_BUCKETS[0] px, 1: under SIZE_BUCKETS[1], 2: larger); of
                           which the labeler did not box

Rows with labeler -1 hold project-level counts: ``objects`` (objects with 2+ boxes, one or
more of them given this class); every other column is 0 there, and ``objects`` elsewhere.

Table 2, per (image, labeler, label_class, other_class): ``pair_count``, ``pair_share``.

    labeler >= 0   boxes of objects whose majority class is label_class (as class_n) that the
                   labeler gave other_class (pair_share = pair_count)
    labeler -1     objects with 2+ boxes given exactly these two classes (a row each way);
                   pair_share: the sum of the share of their boxes given label_class
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

EVIDENCE_VERSION = 1
EDGES = ("left", "top", "right", "bottom")
SIZE_BUCKETS = (20.0, 50.0)  # px, on sqrt(width * height) of the consensus box
EDGE_CLIP = 0.5
AREA_CLIP = float(np.log(4.0))
ROW_MIN = 3

LABELER_CLASS = (
    "boxes",
    "duplicates",
    "fit_n",
    *(f"{e}{s}" for e in EDGES for s in ("", "_sq", "_px", "_px_sq")),
    "area",
    "area_sq",
    "class_n",
    "class_wrong",
    "rows",
    "rows_grouped",
    "group_boxes",
    "group_objects",
    *(f"{m}_{b}" for b in range(len(SIZE_BUCKETS) + 1) for m in ("seen", "missed")),
    "objects",
)
COLUMN = {name: k for k, name in enumerate(LABELER_CLASS)}


@dataclass(frozen=True, eq=False)
class Evidence:
    """Both tables (see the module docstring); ``image`` and ``pair_image`` are None once
    folded."""

    labeler_names: tuple[Hashable, ...]
    label_names: tuple[Hashable, ...]
    image: np.ndarray | None
    labeler: np.ndarray
    label_class: np.ndarray
    values: np.ndarray  # (rows, len(LABELER_CLASS))
    pair_image: np.ndarray | None
    pair_labeler: np.ndarray
    pair_class: np.ndarray
    pair_other: np.ndarray
    pair_count: np.ndarray
    pair_share: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.values[:, COLUMN[name]]

    def of_images(self, images: np.ndarray) -> Evidence:
        """Only the rows of these images (before folding), e.g. labels after a cut."""
        keep = np.isin(self.image, images)
        pair_keep = np.isin(self.pair_image, images)
        return Evidence(
            self.labeler_names, self.label_names,
            self.image[keep], self.labeler[keep], self.label_class[keep], self.values[keep],
            self.pair_image[pair_keep], self.pair_labeler[pair_keep], self.pair_class[pair_keep],
            self.pair_other[pair_keep], self.pair_count[pair_keep], self.pair_share[pair_keep],
        )  # fmt: skip


class Accumulator:
    """Per-item contributions to both tables, summed per key by ``evidence``."""

    def __init__(self) -> None:
        self.cells: list[tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]] = []
        self.pairs: list[tuple[np.ndarray, ...]] = []

    def add(self, image, labeler, label_class, **columns) -> None:
        """Add each value (per item, or one for all items) to its column of the item's row."""
        image = np.asarray(image, dtype=np.int64)
        n = len(image)
        if n:
            key = (image, _full(labeler, n, np.int64), _full(label_class, n, np.int64))
            self.cells.append((key, {c: _full(v, n, np.float64) for c, v in columns.items()}))

    def add_pairs(self, image, labeler, label_class, other, count, share) -> None:
        image = np.asarray(image, dtype=np.int64)
        n = len(image)
        if n:
            self.pairs.append(
                (image, _full(labeler, n, np.int64), _full(label_class, n, np.int64),
                 _full(other, n, np.int64), _full(count, n, np.float64),
                 _full(share, n, np.float64))
            )  # fmt: skip

    def evidence(self, labeler_names, label_names) -> Evidence:
        keys, inverse = _group([_cat([c[0][k] for c in self.cells], np.int64) for k in range(3)])
        values = np.zeros((len(keys[0]), len(LABELER_CLASS)))
        start = 0
        for key, columns in self.cells:
            at = inverse[start : start + len(key[0])]
            start += len(key[0])
            for name, value in columns.items():
                values[:, COLUMN[name]] += np.bincount(at, weights=value, minlength=len(values))
        pair_keys, pair_inverse = _group(
            [_cat([p[k] for p in self.pairs], np.int64) for k in range(4)]
        )
        sums = [
            np.bincount(
                pair_inverse,
                weights=_cat([p[k] for p in self.pairs], np.float64),
                minlength=len(pair_keys[0]),
            )
            for k in (4, 5)
        ]
        return Evidence(tuple(labeler_names), tuple(label_names), *keys, values, *pair_keys, *sums)


def fold(tables: Evidence | Iterable[Evidence]) -> Evidence:
    """Sum over images: one row per (labeler, label_class) and per (labeler, class, other).

    Tables of several batches may code labelers and classes differently: codes are mapped to
    the union of their names first (sorted, as a BoxBatch sorts them).
    """
    tables = [tables] if isinstance(tables, Evidence) else list(tables)
    labelers = _union(t.labeler_names for t in tables)
    labels = _union(t.label_names for t in tables)
    lab, cls, vals, p_lab, p_cls, p_oth, p_cnt, p_shr = ([] for _ in range(8))
    for t in tables:
        # Each map ends with -1, which code -1 indexes.
        lab_map = np.array([labelers.index(n) for n in t.labeler_names] + [-1], dtype=np.int64)
        cls_map = np.array([labels.index(n) for n in t.label_names] + [-1], dtype=np.int64)
        lab.append(lab_map[t.labeler])
        cls.append(cls_map[t.label_class])
        vals.append(t.values)
        p_lab.append(lab_map[t.pair_labeler])
        p_cls.append(cls_map[t.pair_class])
        p_oth.append(cls_map[t.pair_other])
        p_cnt.append(t.pair_count)
        p_shr.append(t.pair_share)
    keys, inverse = _group([_cat(lab, np.int64), _cat(cls, np.int64)])
    values = np.zeros((len(keys[0]), len(LABELER_CLASS)))
    if vals:
        stacked = np.concatenate(vals)
        for k in range(len(LABELER_CLASS)):
            values[:, k] = np.bincount(inverse, weights=stacked[:, k], minlength=len(values))
    pair_keys, pair_inverse = _group([_cat(p, np.int64) for p in (p_lab, p_cls, p_oth)])
    n_pairs = len(pair_keys[0])
    count = np.bincount(pair_inverse, weights=_cat(p_cnt, np.float64), minlength=n_pairs)
    share = np.bincount(pair_inverse, weights=_cat(p_shr, np.float64), minlength=n_pairs)
    return Evidence(labelers, labels, None, *keys, values, None, *pair_keys, count, share)


def _full(value, n: int, dtype) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(n, value, dtype=dtype)
    return np.asarray(value, dtype=dtype)


def _cat(parts: list, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _group(keys: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct key tuples (sorted) and, per item, the index of its tuple.

    Keys are non-negative but for -1 (none); they are packed into one int64 per item (mixed
    radix), so one np.unique does the work.
    """
    if len(keys[0]) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in keys], np.zeros(0, dtype=np.int64)
    shifted = [k + 1 for k in keys]
    radix = [int(k.max()) + 1 for k in shifted]
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for k, r in zip(shifted, radix, strict=True):
        packed = packed * r + k
    distinct, inverse = np.unique(packed, return_inverse=True)
    out = []
    for r in reversed(radix):
        out.append(distinct % r - 1)
        distinct = distinct // r
    return out[::-1], inverse


def _union(names: Iterable[tuple]) -> tuple:
    merged = dict.fromkeys(n for group in names for n in group)
    try:
        return tuple(sorted(merged))
    except TypeError:
        return tuple(merged)
