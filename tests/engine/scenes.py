"""Adversarial scenes for the agreement engine: known objects, honest labelers, injected errors.

A scene is a 1280x720 image with a known truth: rows of 3-4 touching cars and trucks, crowds of
persons overlapping each other up to IoU 0.25, tiny objects (12-24 px) and isolated objects of
several classes. K labelers (2..7) box it honestly (each edge moved by N(0, 1.4%) of the object's
size, so two honest boxes of one object stay at IoU >= 0.83, median 0.94), then errors are
injected, each by one labeler (or a minority of them) on one object, each with the one flag it
must cause:

    class_swap  the labeler gives another class           -> label_conflict
    miss        the labeler skips the object               -> missing
    extra       the labeler boxes something nobody boxed   -> missing
    loose       the labeler's box is at IoU 0.35-0.70 with the honest boxes -> low_overlap
    grouping    one box around a whole row, none per car   -> grouping
    duplicate   the labeler boxes the object twice         -> duplicate

and the labelers it must name as deviating: the erring ones when they are a strict minority,
nobody on a tie (2 labelers, 1-1), except a duplicate, which always names its labeler.

Every box of every labeler is owned by a truth id: a true object, a row (a group box) or a
fake object (an extra box). ``score`` maps each flag the engine raises to the truth ids of its
boxes and matches it one-to-one to an expected flag of the same kind with common ids.

Everything is deterministic from a seed (numpy Generator). Run ``bench/scenes.py`` for a table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from quality.engine import LabelSet, assess_image, assess_many

WIDTH, HEIGHT = 1280, 720
NAMES = ("ann", "bob", "cho", "dan", "eve", "fay", "gus")
CLASSES = ("car", "truck", "person", "bag", "bike", "sign")
KINDS = ("label_conflict", "missing", "low_overlap", "grouping", "duplicate")
FLAG_OF_ERROR = {
    "class_swap": "label_conflict",
    "miss": "missing",
    "extra": "missing",
    "loose": "low_overlap",
    "grouping": "grouping",
    "duplicate": "duplicate",
}
ERRORS = tuple(FLAG_OF_ERROR)

JITTER = 0.014  # sigma of an honest box's edge, as a share of the object's width or height
LOOSE_IOU = (0.35, 0.70)  # a loose box's IoU with every honest box of its object
DUPLICATE_IOU = 0.70  # least IoU of a duplicate copy with the labeler's first box
CROWD_IOU = 0.25  # most IoU of two persons of a crowd
CLEAR_COVER = 0.3  # most share of another object inside a loose box or a duplicate copy
OBJECT_LAYOUTS = ("row", "crowd", "tiny", "single", "carrier", "carried")

# Size of an isolated object per class: width range and height / width range.
SHAPES = {
    "car": ((60, 200), (0.5, 0.8)),
    "truck": ((90, 260), (0.6, 0.9)),
    "person": ((24, 70), (2.0, 3.0)),
    "bag": ((20, 50), (0.8, 1.3)),
    "bike": ((40, 110), (0.6, 1.0)),
    "sign": ((20, 60), (0.8, 1.5)),
}


@dataclass(frozen=True)
class Error:
    """One injected error and the flag it must cause."""

    kind: str  # one of ERRORS
    labelers: tuple[str, ...]  # who made it
    target: int  # truth id: the object, the row (grouping) or the fake object (extra)
    objects: frozenset[int]  # truth ids the expected flag's boxes may belong to
    deviating: tuple[str, ...]  # whom the flag must name; () on a tie
    drawn: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (labeler, box) the error drew

    @property
    def flag(self) -> str:
        return FLAG_OF_ERROR[self.kind]


@dataclass(frozen=True)
class Scene:
    """One image: what the labelers submitted and what is true about it."""

    label_sets: tuple[LabelSet, ...]
    owners: dict[str, tuple[int, ...]]  # labeler -> truth id of each of their boxes, in order
    truth: np.ndarray  # (n_ids, 4) x, y, w, h per truth id
    truth_labels: tuple[str, ...]
    layout: tuple[str, ...]  # per truth id: one of OBJECT_LAYOUTS, group (a row) or extra
    rows: tuple[tuple[int, ...], ...]  # object ids of each row; row r has truth id row_ids[r]
    row_ids: tuple[int, ...]
    errors: tuple[Error, ...]

    @property
    def labelers(self) -> tuple[str, ...]:
        return tuple(s.labeler for s in self.label_sets)

    def boxes_of(self, labeler: str, truth_id: int) -> np.ndarray:
        s = next(s for s in self.label_sets if s.labeler == labeler)
        keep = [i for i, o in enumerate(self.owners[labeler]) if o == truth_id]
        return s.boxes[keep]


def iou(a, b) -> np.ndarray:
    """IoU of x, y, w, h boxes: (n, 4) x (m, 4) -> (n, m)."""
    inter, area_a, area_b = _intersections(a, b)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def cover(a, b) -> np.ndarray:
    """Share of each box of b inside each box of a: (n, 4) x (m, 4) -> (n, m)."""
    inter, _, area_b = _intersections(a, b)
    return inter / area_b[None, :]


def _intersections(a, b):
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    w = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2]) - np.maximum(
        a[:, None, 0], b[None, :, 0]
    )
    h = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3]) - np.maximum(
        a[:, None, 1], b[None, :, 1]
    )
    return np.clip(w, 0, None) * np.clip(h, 0, None), a[:, 2] * a[:, 3], b[:, 2] * b[:, 3]


def _pick(rng, items):
    """One of ``items`` (rng.choice, without its cost on a short list)."""
    return items[int(rng.integers(len(items)))]


def _round(boxes) -> np.ndarray:
    """Boxes to 0.1 px, so a scene prints exactly as it is."""
    return np.round(np.asarray(boxes, dtype=float), 1)


# --- the truth ------------------------------------------------------------------------------


class _Canvas:
    """Free space of the image: clusters (a row, a crowd, one object) never come close."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.taken: list[tuple[float, float, float, float]] = []

    def place(self, w: float, h: float, margin: float = 10) -> tuple[float, float] | None:
        """A free spot for a w x h box at least ``margin`` from everything placed (which it
        then takes), or None after 60 tries."""
        if w > WIDTH - 8 or h > HEIGHT - 8:
            return None
        x = 4 + self.rng.random(60) * (WIDTH - w - 8)
        y = 4 + self.rng.random(60) * (HEIGHT - h - 8)
        if self.taken:
            t = np.array(self.taken).T[:, None, :]
            clash = (
                (x[:, None] - margin < t[2])
                & (x[:, None] + w + margin > t[0])
                & (y[:, None] - margin < t[3])
                & (y[:, None] + h + margin > t[1])
            ).any(axis=1)
            free = np.flatnonzero(~clash)
            if not len(free):
                return None
            x, y = x[free], y[free]
        x, y = float(x[0]), float(y[0])
        self.taken.append((x, y, x + w, y + h))
        return x, y


def _row(rng) -> tuple[np.ndarray, list[str]]:
    """3-4 cars/trucks side by side (sometimes stacked), 0-2 px apart, heights within 5%."""
    n = int(rng.integers(3, 5))
    main = _pick(rng, ("car", "truck"))
    labels = [
        main if rng.random() < 0.75 else ("truck" if main == "car" else "car") for _ in range(n)
    ]
    h = rng.uniform(34, 90)
    boxes, pos = [], 0.0
    for lab in labels:
        hi = h * rng.uniform(0.95, 1.05)
        wi = hi * (rng.uniform(1.3, 2.2) if lab == "car" else rng.uniform(1.6, 2.6))
        boxes.append([pos, (1.05 * h - hi) * rng.uniform(0, 1), wi, hi])
        pos += wi + rng.uniform(0, 2)
    boxes = np.array(boxes)
    if rng.random() < 0.15:  # a parking lot from above: the row runs down
        boxes = boxes[:, [1, 0, 3, 2]]
    longest = (boxes[:, :2] + boxes[:, 2:]).max()
    if longest > 640:
        boxes *= 640 / longest
    return boxes, labels


def _crowd(rng, max_iou: float = CROWD_IOU) -> np.ndarray:
    """3-6 persons, each overlapping others at IoU <= max_iou."""
    m = int(rng.integers(3, 7))
    w0 = rng.uniform(26, 56)
    boxes = [[0.0, 0.0, w0, w0 * rng.uniform(2.2, 3.0)]]
    for pick, a, b, c, d, e in rng.random((120, 6)).tolist():
        if len(boxes) == m:
            break
        ref = boxes[int(pick * len(boxes))]
        w = w0 * (0.85 + 0.3 * a)
        h = w * (2.2 + 0.8 * b)
        side = 1 if c < 0.5 else -1
        cand = [ref[0] + side * (0.3 + 0.7 * d) * w, ref[1] + (0.5 * e - 0.25) * h, w, h]
        if max(_iou_one(cand, boxes)) <= max_iou - 0.01:
            boxes.append(cand)
    boxes = np.array(boxes)
    boxes[:, :2] -= boxes[:, :2].min(axis=0)
    return boxes


def _tiny_flock(rng) -> np.ndarray:
    """2-5 tiny objects (12-24 px) 1-6 px apart: distant persons, a row of signs."""
    boxes, x = [], 0.0
    for _ in range(int(rng.integers(2, 6))):
        w, h = rng.uniform(12, 24, 2)
        boxes.append([x, rng.uniform(0, 8), w, h])
        x += w + rng.uniform(1, 6)
    return np.array(boxes)


def _carried(rng) -> tuple[np.ndarray, list[str]]:
    """A person with a bag, or a truck with a sign: the small box (mostly) inside the big one."""
    outer = _pick(rng, ("person", "person", "truck"))
    w, h = _single(rng, outer)
    if outer == "person":
        inner, iw = "bag", max(w * rng.uniform(0.3, 0.6), 10)
        ih = iw * rng.uniform(0.8, 1.3)
        iy = rng.uniform(0.35 * h, h - 1.1 * ih)
    else:
        inner, iw = "sign", max(w * rng.uniform(0.12, 0.3), 10)
        ih = iw * rng.uniform(0.8, 1.2)
        iy = rng.uniform(0, h - ih)
    ix = rng.uniform(-0.2 * iw, w - 0.8 * iw)  # a bag may stick out a little
    local = np.array([[0, 0, w, h], [ix, iy, iw, ih]])
    local[:, :2] -= local[:, :2].min(axis=0)
    return local, [outer, inner]


def _single(rng, label: str, tiny: bool = False) -> tuple[float, float]:
    if tiny:
        return rng.uniform(12, 24), rng.uniform(12, 24)
    (w_lo, w_hi), (r_lo, r_hi) = SHAPES[label]
    w = rng.uniform(w_lo, w_hi)
    return w, w * rng.uniform(r_lo, r_hi)


def _truth(rng, canvas: _Canvas, crowd_iou: float = CROWD_IOU):
    """True boxes, labels, layout per object, and rows (object ids)."""
    boxes, labels, layout, rows = [], [], [], []

    def add(local: np.ndarray, labs, kind: str) -> list[int]:
        span = (local[:, :2] + local[:, 2:]).max(axis=0)
        at = canvas.place(*span)
        if at is None:
            return []
        ids = list(range(len(boxes), len(boxes) + len(local)))
        boxes.extend((local + [at[0], at[1], 0, 0]).tolist())
        labels.extend(labs)
        layout.extend([kind] * len(local))
        return ids

    for _ in range(_pick(rng, (0, 1, 1, 2, 2))):
        local, labs = _row(rng)
        ids = add(local, labs, "row")
        if ids:
            rows.append(tuple(ids))
    for _ in range(int(rng.integers(0, 3))):
        local = _crowd(rng, crowd_iou)
        add(local, ["person"] * len(local), "crowd")
    for _ in range(int(rng.integers(0, 5))):
        if rng.random() < 0.3:
            local = _tiny_flock(rng)
            add(local, [_pick(rng, ("sign", "bag", "person"))] * len(local), "tiny")
        else:
            label = _pick(rng, ("sign", "bag", "person"))
            add(np.array([[0, 0, *_single(rng, label, tiny=True)]]), [label], "tiny")
    for _ in range(int(rng.integers(2, 7))):
        label = _pick(rng, CLASSES)
        add(np.array([[0, 0, *_single(rng, label)]]), [label], "single")
    for _ in range(_pick(rng, (0, 0, 1, 1, 2))):
        local, labs = _carried(rng)
        ids = add(local, labs, "carrier")
        if ids:
            layout[ids[1]] = "carried"
    return _round(np.array(boxes).reshape(-1, 4)), labels, layout, rows


# --- the labelers ---------------------------------------------------------------------------


def jitter(rng, boxes, sigma: float = JITTER) -> np.ndarray:
    """An honest box of each of ``boxes``: every edge moved by N(0, sigma) of the object's
    width or height, cut at 2 sigma (sub-pixel on a 12 px object)."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    x, y, w, h = boxes.T
    e = rng.normal(0.0, sigma, (len(boxes), 4)).clip(-2 * sigma, 2 * sigma)
    x1, x2 = x + e[:, 0] * w, x + w + e[:, 1] * w
    y1, y2 = y + e[:, 2] * h, y + h + e[:, 3] * h
    return _round(np.stack([x1, y1, x2 - x1, y2 - y1], axis=1))


def _iou_one(box, boxes) -> list[float]:
    """IoU of one box with each of a few boxes, in plain Python (the rejection loops' hot path)."""
    x, y, w, h = box
    out = []
    for bx, by, bw, bh in boxes:
        iw = min(x + w, bx + bw) - max(x, bx)
        ih = min(y + h, by + bh) - max(y, by)
        inter = iw * ih if iw > 0 and ih > 0 else 0.0
        out.append(inter / (w * h + bw * bh - inter))
    return out


def _inside_image(box) -> bool:
    x, y, w, h = box
    return x >= 0 and y >= 0 and x + w <= WIDTH and y + h <= HEIGHT and w >= 2 and h >= 2


def _clear_of(box, others: np.ndarray, max_iou: float) -> bool:
    """The box neither overlaps nor swallows any of ``others`` (other objects' boxes)."""
    if not len(others):
        return True
    return iou([box], others).max() < max_iou and cover([box], others).max() < CLEAR_COVER


def _loose_box(rng, true_box, honest, others: np.ndarray):
    """A box grown, shrunk or shifted until its IoU with each honest box is in LOOSE_IOU."""
    x, y, w, h = true_box
    for _ in range(80):
        mode = rng.integers(3)
        a, b, c, d = rng.random(4)
        if mode == 0:  # grown, more on one side
            nw, nh = w * (1 + a), h * (1 + b)
            nx, ny = x - (nw - w) * c, y - (nh - h) * d
        elif mode == 1:  # too tight
            nw, nh = w * (0.5 + 0.5 * a), h * (0.5 + 0.5 * b)
            nx, ny = x + (w - nw) * c, y + (h - nh) * d
        else:  # shifted
            nw, nh = w * (0.9 + 0.3 * a), h * (0.9 + 0.3 * b)
            nx, ny = x + w * (0.8 * c - 0.4), y + h * (0.8 * d - 0.4)
        box = [round(nx, 1), round(ny, 1), round(nw, 1), round(nh, 1)]
        if _loose_ok(box, honest, others):
            return np.array(box)
    return None


def _loose_ok(box, honest, others: np.ndarray) -> bool:
    overlap = _iou_one(box, honest)
    return (
        min(overlap) >= LOOSE_IOU[0]
        and max(overlap) < LOOSE_IOU[1]
        and _inside_image(box)
        and _clear_of(box, others, 0.2)
    )


def _duplicate_box(rng, first, others: np.ndarray):
    """A second box of the same object by the same labeler, IoU >= DUPLICATE_IOU with the first."""
    x, y, w, h = first
    for _ in range(80):
        a, b, c, d = rng.uniform(-1, 1, 4)
        box = [round(x + 0.12 * w * a, 1), round(y + 0.12 * h * b, 1)]
        box += [round(w * (1 + 0.12 * c), 1), round(h * (1 + 0.12 * d), 1)]
        if (
            _iou_one(box, [first])[0] >= DUPLICATE_IOU
            and _inside_image(box)
            and _clear_of(box, others, 0.3)
        ):
            return np.array(box)
    return None


def _wrong_class(rng, label: str) -> str:
    if label in ("car", "truck") and rng.random() < 0.7:
        return "truck" if label == "car" else "car"
    return _pick(rng, [c for c in CLASSES if c != label])


def expected_deviating(kind: str, erring: tuple[str, ...], n_labelers: int) -> tuple[str, ...]:
    """The erring labelers when they are a strict minority (always for a duplicate), else ()."""
    if kind == "duplicate" or 2 * len(erring) < n_labelers:
        return erring
    return ()


class _Work:
    """The labelers' work on one scene while errors are injected into it."""

    def __init__(self, rng, names, canvas, truth, labels, layout, rows, stack=0.0):
        self.rng, self.names, self.canvas = rng, names, canvas
        self.truth, self.labels, self.rows = truth, labels, rows
        n, k = len(truth), len(names)
        self.ids = [*truth.tolist()]  # truth box per id: objects, then rows, then extras
        self.id_labels, self.id_layout = list(labels), list(layout)
        self.row_ids = []
        for row in rows:
            t = truth[list(row)]
            x1, y1 = t[:, :2].min(axis=0)
            x2, y2 = (t[:, :2] + t[:, 2:]).max(axis=0)
            self.row_ids.append(len(self.ids))
            self.ids.append([x1, y1, x2 - x1, y2 - y1])
            row_labels = [labels[o] for o in row]
            self.id_labels.append(max(sorted(set(row_labels)), key=row_labels.count))
            self.id_layout.append("group")
        # Honest boxes of every labeler, every object; box[k, o] is dropped where not present.
        self.box = jitter(rng, np.tile(truth, (k, 1))).reshape(k, n, 4)
        self.present = np.ones((k, n), dtype=bool)
        self.label = [list(labels) for _ in names]
        self.added: list[list[tuple[int, np.ndarray, str]]] = [[] for _ in names]
        self.odd_boxes: list[np.ndarray] = []  # loose boxes, copies, extras placed so far
        self.touched: set[int] = set()
        self.stack = stack
        self.max_erring = max(1, (len(names) - 1) // 2)
        self.on: dict[int, tuple[set[str], set[int]]] = {}  # object -> error kinds, labelers

    def obstacles(self, o: int, skip: int | None = None) -> np.ndarray:
        """Boxes an error box near object o must keep clear of: every other object's true box
        (but ``skip``'s) and the error boxes drawn so far."""
        away = [o] if skip is None else [o, skip]
        return np.concatenate([np.delete(self.truth, away, axis=0), *self.odd_boxes]).reshape(-1, 4)

    def odd(self, box: np.ndarray) -> None:
        self.odd_boxes.append(box.reshape(1, 4))
        x, y, w, h = box.tolist()
        self.canvas.taken.append((x, y, x + w, y + h))

    def inject(self, kind: str, erring: tuple[int, ...]) -> Error | None:
        """Apply one error; None (and nothing changed) when it finds no room."""
        rng, truth = self.rng, self.truth
        who = tuple(self.names[i] for i in erring)

        def done(target: int, objects, drawn=()) -> Error:
            dev = expected_deviating(kind, who, len(self.names))
            drawn = tuple((self.names[i], tuple(b.tolist())) for i, b in drawn)
            return Error(kind, who, target, frozenset(objects), dev, drawn)

        if kind == "grouping":
            free = [r for r, row in enumerate(self.rows) if not self.touched & set(row)]
            if not free:
                return None
            r = _pick(rng, free)
            row, rid = self.rows[r], self.row_ids[r]
            # Drawn as precisely as a car: its edges are the outer edges of honest car boxes.
            groups = []
            for _ in erring:
                cars = jitter(rng, truth[list(row)])
                x1, y1 = cars[:, :2].min(axis=0)
                x2, y2 = (cars[:, :2] + cars[:, 2:]).max(axis=0)
                groups.append(_round([x1, y1, x2 - x1, y2 - y1]))
            if iou(groups, truth[list(row)]).max() >= 0.45:
                return None  # one car is most of the row: that box would be the car's
            for i, g in zip(erring, groups, strict=True):
                self.present[i, list(row)] = False
                self.added[i].append((rid, g, self.id_labels[rid]))
            self.touched.update(row)
            return done(rid, (rid, *row), zip(erring, groups, strict=True))

        if kind == "extra":
            lab = _pick(rng, CLASSES)
            w, h = _single(rng, lab, tiny=rng.random() < 0.25)
            at = self.canvas.place(w, h, margin=12)
            if at is None:
                return None
            fake = len(self.ids)
            self.ids.append([at[0], at[1], w, h])
            self.id_labels.append(lab)
            self.id_layout.append("extra")
            self.odd_boxes.append(np.array([[at[0], at[1], w, h]]))
            boxes = jitter(rng, [self.ids[fake]] * len(erring))
            for i, b in zip(erring, boxes, strict=True):
                self.added[i].append((fake, b, lab))
            return done(fake, (fake,), zip(erring, boxes, strict=True))

        free = [o for o in range(len(truth)) if o not in self.touched]
        if self.stack and kind != "loose" and rng.random() < self.stack:
            # A second error on an object, of another kind, by other labelers, still a minority.
            free = [
                o
                for o, (kinds, by) in self.on.items()
                if kind not in kinds
                and not by & set(erring)
                and len(by) + len(erring) <= self.max_erring
            ]
        if not free:
            return None
        o = _pick(rng, free)
        drawn = []
        if kind == "class_swap":
            wrong = _wrong_class(rng, self.labels[o])
            for i in erring:
                self.label[i][o] = wrong
        elif kind == "miss":
            self.present[list(erring), o] = False
        elif kind == "loose":
            honest = [self.box[i, o].tolist() for i in range(len(self.names)) if i not in erring]
            others = self.obstacles(o)
            if len(erring) > 1 and rng.random() < 0.5:
                # The same loose habit: their loose boxes agree with each other.
                loose = _loose_box(rng, truth[o], honest, others)
                if loose is None:
                    return None
                loose = list(jitter(rng, [loose] * len(erring)))
                if not all(_loose_ok(b, honest, others) for b in loose):
                    return None
            else:
                loose = [_loose_box(rng, truth[o], honest, others) for _ in erring]
                if any(b is None for b in loose):
                    return None
            for i, b in zip(erring, loose, strict=True):
                self.box[i, o] = b
                self.odd(b)
                drawn.append((i, b))
        elif kind == "duplicate":
            (i,) = erring
            # A copy of a person's box holds their bag again, as the first box does.
            skip = o + 1 if self.id_layout[o] == "carrier" else None
            copy = _duplicate_box(rng, self.box[i, o].tolist(), self.obstacles(o, skip))
            if copy is None:
                return None
            self.added[i].append((o, copy, self.label[i][o]))
            self.odd(copy)
            drawn.append((i, copy))
        self.touched.add(o)
        kinds, by = self.on.setdefault(o, (set(), set()))
        kinds.add(kind)
        by.update(erring)
        return done(o, (o,), drawn)

    def label_sets(self) -> tuple[tuple[LabelSet, ...], dict[str, tuple[int, ...]]]:
        """Each labeler's boxes in a shuffled order, and the truth id of each."""
        sets, owners = [], {}
        for i in self.rng.permutation(len(self.names)).tolist():
            name = self.names[i]
            objs = np.flatnonzero(self.present[i])
            owner = objs.tolist() + [o for o, _, _ in self.added[i]]
            boxes = np.concatenate(
                [self.box[i, objs], *(b.reshape(1, 4) for _, b, _ in self.added[i])]
            )
            labels = [self.label[i][o] for o in objs] + [c for _, _, c in self.added[i]]
            order = self.rng.permutation(len(owner))
            owners[name] = tuple(owner[j] for j in order)
            sets.append(LabelSet(name, boxes[order].reshape(-1, 4), [labels[j] for j in order]))
        return tuple(sets), owners


def make_scene(
    rng: np.random.Generator, n_labelers: int, crowd_iou: float = CROWD_IOU, stack: float = 0.0
) -> Scene:
    """One scene with n_labelers (2..7) labelers and 2-6 injected errors.

    Beyond the rules (for probing): ``crowd_iou`` lets crowds overlap more; with ``stack`` > 0,
    that share of the errors lands on an object that already has one (another kind, other
    labelers, the erring ones still a strict minority; each error keeps its own flag).
    """
    if not 2 <= n_labelers <= len(NAMES):
        raise ValueError(f"n_labelers must be in 2..{len(NAMES)}, got {n_labelers}")
    canvas = _Canvas(rng)
    work = _Work(rng, NAMES[:n_labelers], canvas, *_truth(rng, canvas, crowd_iou), stack=stack)
    max_erring = work.max_erring
    errors: list[Error] = []
    wanted = int(rng.integers(2, 7))
    for _ in range(4 * wanted):
        if len(errors) == wanted:
            break
        kind = ERRORS[int(rng.integers(len(ERRORS)))]
        count = 1
        if kind != "duplicate" and max_erring > 1 and rng.random() < 0.3:
            count = int(rng.integers(2, max_erring + 1))
        erring = tuple(sorted(rng.choice(n_labelers, count, replace=False).tolist()))
        error = work.inject(kind, erring)
        if error is not None:
            errors.append(error)
    label_sets, owners = work.label_sets()
    return Scene(
        label_sets=label_sets,
        owners=owners,
        truth=_round(np.array(work.ids).reshape(-1, 4)),
        truth_labels=tuple(work.id_labels),
        layout=tuple(work.id_layout),
        rows=tuple(work.rows),
        row_ids=tuple(work.row_ids),
        errors=tuple(errors),
    )


def make_scenes(
    n_scenes: int, labelers: int | tuple[int, int], seed: int, **options
) -> list[Scene]:
    """n_scenes scenes; ``labelers`` is a count or an inclusive (low, high) range drawn per
    scene; ``options`` go to make_scene."""
    rng = np.random.default_rng(seed)
    low, high = (labelers, labelers) if isinstance(labelers, int) else labelers
    return [make_scene(rng, int(rng.integers(low, high + 1)), **options) for _ in range(n_scenes)]


def without(scene: Scene, ids: set[int]) -> Scene:
    """The scene with every box owned by ``ids`` removed, and the errors on them."""
    sets, owners = [], {}
    for s in scene.label_sets:
        keep = [i for i, o in enumerate(scene.owners[s.labeler]) if o not in ids]
        sets.append(LabelSet(s.labeler, s.boxes[keep], [s.labels[i] for i in keep]))
        owners[s.labeler] = tuple(scene.owners[s.labeler][i] for i in keep)
    errors = tuple(e for e in scene.errors if not e.objects <= ids)
    return replace(scene, label_sets=tuple(sets), owners=owners, errors=errors)


# --- scoring --------------------------------------------------------------------------------


def assess_scenes(scenes: list[Scene], params=None, batch: int = 500) -> list[list]:
    """The engine's flags of every scene (assess_many, ``batch`` scenes at a time)."""
    flags = []
    for start in range(0, len(scenes), batch):
        result = assess_many([s.label_sets for s in scenes[start : start + batch]], params)
        flags.extend(list(r.flags) for r in result)
    return flags


def flag_ids(scene: Scene, flag) -> frozenset[int]:
    """Truth ids of a flag's boxes."""
    return frozenset(scene.owners[n][i] for n, i in flag.boxes)


def deviating(flag) -> frozenset[str]:
    return frozenset(getattr(flag, "deviating", ()))


@dataclass
class Outcome:
    """One scene's flags against its errors (indices into scene.errors and the flags)."""

    matched: list[tuple[int, int]]
    misattributed: list[tuple[int, int]]  # matched, but naming the wrong labelers
    unexpected: list[int]  # flags matching no error
    unflagged: list[int]  # errors no flag matched


def match(scene: Scene, flags: list) -> Outcome:
    """One-to-one: a flag matches an error of its kind whose truth ids it shares (the most
    pairs; among equals, the most rightly attributed)."""
    out = Outcome([], [], [], [])
    for kind in KINDS:
        errs = [i for i, e in enumerate(scene.errors) if e.flag == kind]
        flgs = [j for j, f in enumerate(flags) if f.kind == kind]
        pairs = []
        if errs and flgs:
            bonus = 1.0 / (len(errs) + len(flgs) + 1)
            weight = np.zeros((len(errs), len(flgs)))
            for a, i in enumerate(errs):
                e = scene.errors[i]
                for b, j in enumerate(flgs):
                    if e.objects & flag_ids(scene, flags[j]):
                        right = deviating(flags[j]) == frozenset(e.deviating)
                        weight[a, b] = 1.0 + bonus * right
            rows, cols = linear_sum_assignment(weight, maximize=True)
            pairs = [(errs[a], flgs[b]) for a, b in zip(rows, cols, strict=True) if weight[a, b]]
        out.matched += pairs
        out.misattributed += [
            (i, j) for i, j in pairs if deviating(flags[j]) != frozenset(scene.errors[i].deviating)
        ]
        out.unflagged += sorted(set(errs) - {i for i, _ in pairs})
        out.unexpected += sorted(set(flgs) - {j for _, j in pairs})
    return out


@dataclass
class Tally:
    """Counts of one flag kind; the rates are None when their denominator is 0."""

    expected: int = 0
    produced: int = 0
    matched: int = 0
    attributed: int = 0

    @property
    def precision(self) -> float | None:
        return self.matched / self.produced if self.produced else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.expected if self.expected else None

    @property
    def attribution(self) -> float | None:
        return self.attributed / self.matched if self.matched else None


def score(scenes: list[Scene], flags: list[list]) -> tuple[dict[str, Tally], list[Outcome]]:
    """Per flag kind: expected, produced, matched, rightly attributed; and each scene's outcome."""
    tally = {k: Tally() for k in KINDS}
    outcomes = []
    for scene, fl in zip(scenes, flags, strict=True):
        out = match(scene, fl)
        outcomes.append(out)
        for e in scene.errors:
            tally[e.flag].expected += 1
        for f in fl:
            if f.kind in tally:
                tally[f.kind].produced += 1
        wrong = {j for _, j in out.misattributed}
        for _, j in out.matched:
            tally[fl[j].kind].matched += 1
            tally[fl[j].kind].attributed += j not in wrong
    return tally, outcomes


def shortfalls(groups: dict[str, dict[str, Tally]], floor: float = 0.97) -> list[str]:
    """'K=3 grouping precision 0.640' for every rate below ``floor``."""
    out = []
    for group, tally in groups.items():
        for kind, t in tally.items():
            for metric in ("precision", "recall", "attribution"):
                value = getattr(t, metric)
                if value is not None and value < floor:
                    out.append(f"{group} {kind} {metric} {value:.3f}")
    return out


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(groups: dict[str, dict[str, Tally]]) -> str:
    """The per-kind table (markdown), one block of rows per labeler group."""
    lines = [
        "| labelers | kind | expected | produced | precision | recall | attribution |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for group, tally in groups.items():
        for kind, t in tally.items():
            lines.append(
                f"| {group} | {kind} | {t.expected} | {t.produced} | {_rate(t.precision)} | "
                f"{_rate(t.recall)} | {_rate(t.attribution)} |"
            )
    return "\n".join(lines)


def breakdown(scenes: list[Scene], flags: list[list], outcomes: list[Outcome]) -> str:
    """Where the misses and the wrong flags are: errors by (error, layout) with how many were
    flagged and rightly attributed; unexpected flags by kind and by the errors they touch."""
    found: dict[tuple[str, str], list[int]] = {}
    for scene, out in zip(scenes, outcomes, strict=True):
        hit = {i for i, _ in out.matched}
        wrong = {i for i, _ in out.misattributed}
        for i, e in enumerate(scene.errors):
            row = found.setdefault((e.kind, scene.layout[e.target]), [0, 0, 0])
            row[0] += 1
            row[1] += i in hit
            row[2] += i in hit and i not in wrong
    lines = [
        "| error | layout | injected | flagged | attributed |",
        "|---|---|---:|---:|---:|",
    ]
    for (kind, layout), (n, hit, right) in sorted(found.items()):
        lines.append(f"| {kind} | {layout} | {n} | {hit} | {right} |")
    stray: dict[tuple[str, str], int] = {}
    for scene, fl, out in zip(scenes, flags, outcomes, strict=True):
        for j in out.unexpected:
            ids = flag_ids(scene, fl[j])
            near = sorted({e.kind for e in scene.errors if e.objects & ids}) or ["no error"]
            layouts = sorted({scene.layout[o] for o in ids})
            key = (fl[j].kind, f"{'+'.join(near)} ({'+'.join(layouts)})")
            stray[key] = stray.get(key, 0) + 1
    lines += ["", "| unexpected flag | on boxes of (layout) | count |", "|---|---|---:|"]
    for (kind, where), count in sorted(stray.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {kind} | {where} | {count} |")
    return "\n".join(lines)


# --- failing cases, small enough to read ----------------------------------------------------


def failure_test(kind: str, metric: str):
    """A predicate (scene, flags) -> bool: this scene shows a failure of ``kind`` in ``metric``
    (precision: a flag matching no error; recall: an error no flag matched; attribution: a
    matched flag naming the wrong labelers)."""

    def fails(scene: Scene, flags: list) -> bool:
        out = match(scene, flags)
        if metric == "precision":
            return any(flags[j].kind == kind for j in out.unexpected)
        if metric == "recall":
            return any(scene.errors[i].flag == kind for i in out.unflagged)
        return any(flags[j].kind == kind for _, j in out.misattributed)

    return fails


def minimize(scene: Scene, fails, params=None) -> Scene:
    """Drop objects (a grouped row with its group boxes as one) while the failure stays."""
    grouped = [{e.target, *e.objects} for e in scene.errors if e.kind == "grouping"]
    in_group = set().union(*grouped) if grouped else set()
    owned = {o for owners in scene.owners.values() for o in owners}
    units = grouped + [{o} for o in sorted(owned - in_group)]
    changed = True
    while changed:
        changed = False
        for unit in list(units):
            smaller = without(scene, unit)
            if fails(smaller, list(assess_image(smaller.label_sets, params).flags)):
                scene, changed = smaller, True
                units.remove(unit)
    return scene


def render(scene: Scene, flags: list) -> str:
    """The scene as Python literals, each box commented with what it truly is, then the
    expected and the produced flags."""
    out = match(scene, flags)
    lines = ["label_sets = ["]
    for s in scene.label_sets:
        lines.append(f"    LabelSet({s.labeler!r}, [")
        for b, lab, o in zip(s.boxes.tolist(), s.labels, scene.owners[s.labeler], strict=True):
            lines.append(f"        [{', '.join(f'{v:g}' for v in b)}],  # {lab}, {_what(scene, o)}")
        lines.append(f"    ], {list(s.labels)!r}),")
    lines.append("]")
    for i, e in enumerate(scene.errors):
        status = "found" if i in {a for a, _ in out.matched} else "NOT FLAGGED"
        lines.append(
            f"# expected {e.flag} deviating={e.deviating} ({e.kind} by {'+'.join(e.labelers)} "
            f"on {_what(scene, e.target)}): {status}"
        )
    wrong = {j for _, j in out.misattributed}
    hit = {j for _, j in out.matched}
    for j, f in enumerate(flags):
        status = "UNEXPECTED" if j not in hit else "WRONG DEVIATING" if j in wrong else "ok"
        lines.append(
            f"# produced {f.kind} deviating={tuple(sorted(deviating(f)))} boxes={f.boxes}: "
            f"{f.message!r}: {status}"
        )
    return "\n".join(lines)


def _what(scene: Scene, truth_id: int) -> str:
    return f"{scene.layout[truth_id]} #{truth_id}"
