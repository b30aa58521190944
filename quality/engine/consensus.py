"""Consensus per object, and agreement per labeler pair and per image."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .geometry import iou_xyxy


class Objects(NamedTuple):
    """Objects of a batch, columnar; members are boxes in canonical order, grouped by object."""

    member_box: np.ndarray  # (M,) boxes, sorted by object then labeler
    member_obj: np.ndarray  # (M,)
    ptr: np.ndarray  # (n_obj + 1,) CSR offsets into member_box
    size: np.ndarray  # members per object
    image: np.ndarray
    labmask: np.ndarray  # int64 bit mask of the image-local labelers who boxed it
    label: np.ndarray  # majority label code, -1 on a tie
    confidence: np.ndarray  # share of members with the majority label
    mixed: np.ndarray  # the members gave more than one class
    xyxy: np.ndarray  # mean of the members' boxes
    support: np.ndarray
    consensus: np.ndarray
    mean_iou: np.ndarray  # NaN for single boxes


class MemberPairs(NamedTuple):
    """Every pair of boxes inside one object."""

    i: np.ndarray
    j: np.ndarray
    obj: np.ndarray
    iou: np.ndarray


def build_objects(
    obj: np.ndarray,
    n_obj: int,
    lab: np.ndarray,
    kmax: int,
    label: np.ndarray,
    corners: np.ndarray,
    image: np.ndarray,
    n_labelers: np.ndarray,
    quorum: np.ndarray,
    matches: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[Objects, MemberPairs]:
    """Consensus label, box, support and pairwise IoU of every object.

    ``matches`` (i, j, iou) are the matched box pairs; the pairs inside an object are taken from
    them, and only objects whose members were not all matched directly get theirs enumerated.
    """
    live = np.flatnonzero(obj >= 0)
    member_box, size, labmask = _group_members(live, obj.take(live), lab.take(live), n_obj, kmax)
    member_obj = obj.take(member_box)
    ptr = np.zeros(n_obj + 1, dtype=np.int64)
    np.cumsum(size, out=ptr[1:])
    starts = ptr[:-1]
    obj_image = image.take(member_box.take(starts)) if n_obj else np.zeros(0, dtype=np.int64)
    member_label = label.take(member_box)
    if n_obj:
        low = np.minimum.reduceat(member_label, starts)
        high = np.maximum.reduceat(member_label, starts)
    else:
        low = high = np.zeros(0, dtype=np.int64)
    # The consensus box is the mean of the members' corners. bincount adds the members of an
    # object one by one in labeler order, from 0.0: the same sums as a loop over members.
    member_corners = corners.take(member_box, axis=1)
    mean_xyxy = np.empty((n_obj, 4))
    for k in range(4):
        mean_xyxy[:, k] = np.bincount(member_obj, weights=member_corners[k], minlength=n_obj)
    mean_xyxy /= np.maximum(size, 1)[:, None]
    obj_label = low.copy()
    confidence = np.ones(n_obj)
    is_mixed = low != high
    mixed = np.flatnonzero(is_mixed)
    if len(mixed):
        # A padded (objects x widest) matrix of the mixed objects' labels, -1 where padding.
        mixed_size = size[mixed]
        column = np.arange(int(mixed_size.max()))[None, :]
        filled = column < mixed_size[:, None]
        at = np.where(filled, starts[mixed][:, None] + column, 0)
        labels = np.where(filled, member_label[at], -1)
        obj_label[mixed], confidence[mixed] = _majority(labels, mixed_size)
    pairs = _member_pairs(obj, size, member_box, member_obj, ptr, corners, matches)
    pair_count = np.bincount(pairs.obj, minlength=n_obj)
    iou_sum = np.bincount(pairs.obj, weights=pairs.iou, minlength=n_obj)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_iou = np.where(pair_count > 0, iou_sum / pair_count, np.nan)
    k = n_labelers[obj_image]
    objects = Objects(
        member_box=member_box,
        member_obj=member_obj,
        ptr=ptr,
        size=size,
        image=obj_image,
        labmask=labmask,
        label=obj_label,
        confidence=confidence,
        mixed=is_mixed,
        xyxy=mean_xyxy,
        support=size / np.maximum(k, 1),
        consensus=size >= quorum[obj_image],
        mean_iou=mean_iou,
    )
    return objects, pairs


def _group_members(
    live: np.ndarray, live_obj: np.ndarray, live_lab: np.ndarray, n_obj: int, kmax: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes ``live`` sorted by (object, labeler); members per object; labeler bit masks.

    An object holds at most one box per labeler, so a box's place inside its object is the
    number of its object's labelers that sort before its own: a counting sort (a popcount of
    the object's labeler mask), no comparison sort needed.
    """
    size = np.bincount(live_obj, minlength=n_obj)
    bits = np.left_shift(1, live_lab)
    if kmax <= 52:
        # Distinct powers of two add up exactly in a double; a repeated labeler would carry
        # into another bit and leave fewer bits set than members (caught below).
        labmask = np.bincount(live_obj, weights=bits, minlength=n_obj).astype(np.int64)
    else:
        labmask = np.zeros(n_obj, dtype=np.int64)
        np.bitwise_or.at(labmask, live_obj, bits)
    if not np.array_equal(np.bitwise_count(labmask), size):  # never, if objects are valid
        labmask = np.zeros(n_obj, dtype=np.int64)
        np.bitwise_or.at(labmask, live_obj, bits)
        order = np.argsort(live_obj * kmax + live_lab, kind="stable")
        return live[order], size, labmask
    start = np.cumsum(size) - size
    place = start.take(live_obj) + np.bitwise_count(labmask.take(live_obj) & (bits - 1))
    member_box = np.empty(len(live), dtype=np.int64)
    member_box[place] = live
    return member_box, size, labmask


def _majority(labels: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Majority label per row of a padded label matrix (-1 pads); -1 on a tie; and its share."""
    votes = (labels[:, :, None] == labels[:, None, :]).sum(axis=2)
    votes[labels < 0] = 0
    best = votes.max(axis=1)
    # Each label with the best count fills `best` columns, so more columns at best is a tie.
    tied = (votes == best[:, None]).sum(axis=1) > best
    winner = labels[np.arange(len(labels)), votes.argmax(axis=1)]
    return np.where(tied, -1, winner), best / size


def _member_pairs(obj, size, member_box, member_obj, ptr, corners, matches) -> MemberPairs:
    """Every pair of boxes inside one object (in no particular orientation)."""
    # Matched boxes are never a duplicate's extra copy, so their obj is >= 0; a match ends up
    # across two objects only where a chain had to be split.
    ov_i, ov_j, ov_iou = matches
    pair_obj = obj.take(ov_i)
    inside = pair_obj == obj.take(ov_j)
    all_inside = bool(inside.all())
    if not all_inside:  # almost all are inside: a boolean mask is cheap here
        ov_i, ov_j, pair_obj, ov_iou = ov_i[inside], ov_j[inside], pair_obj[inside], ov_iou[inside]
    found = np.bincount(pair_obj, minlength=len(size))
    # Members of a chained object need not all be matched to each other (they may not even
    # intersect); the pairs that are missing are enumerated here, for those objects only.
    short = np.flatnonzero(found < size * (size - 1) // 2)
    if len(short) == 0:
        return MemberPairs(ov_i, ov_j, pair_obj, ov_iou)
    extra = _missing_pairs(short, size, ptr, member_box, member_obj, corners, matches, inside, obj)
    return MemberPairs(
        *(
            np.concatenate([whole, np.asarray(more, dtype=whole.dtype)])
            for whole, more in zip((ov_i, ov_j, pair_obj, ov_iou), extra, strict=True)
        )
    )


def _missing_pairs(short, size, ptr, member_box, member_obj, corners, matches, inside, obj):
    """Member pairs of the ``short`` objects that no match covers."""
    ov_i, ov_j, _ = matches
    counts = size[short]
    at = np.repeat(ptr[short], counts) + (
        np.arange(counts.sum(), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    every = _all_member_pairs(member_box[at], member_obj[at], corners)
    is_short = np.zeros(len(size), dtype=bool)
    is_short[short] = True
    have = inside & is_short[obj[ov_i]]
    n = len(obj)

    def pair_key(a, b):
        return np.minimum(a, b) * n + np.maximum(a, b)

    new = ~np.isin(pair_key(every.i, every.j), pair_key(ov_i[have], ov_j[have]))
    return every.i[new], every.j[new], every.obj[new], every.iou[new]


def _all_member_pairs(member_box, member_obj, corners) -> MemberPairs:
    """Pairs of members, by enumeration (member_box sorted by object, then labeler)."""
    m = len(member_box)
    pos = np.arange(m, dtype=np.int64)
    starts_at = np.r_[True, member_obj[1:] != member_obj[:-1]] if m else np.zeros(0, bool)
    bounds = np.r_[np.flatnonzero(starts_at), m]
    group = np.cumsum(starts_at) - 1
    end = bounds[1:][group] if m else pos
    counts = end - pos - 1
    p = np.repeat(pos, counts)
    starts = np.cumsum(counts) - counts
    q = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts - pos - 1, counts)
    i, j = member_box[p], member_box[q]
    return MemberPairs(i, j, member_obj[p], iou_xyxy(corners[:, i].T, corners[:, j].T))


class Pairs(NamedTuple):
    """Agreement per (image, labeler a, labeler b), a < b as image-local labeler indices."""

    image: np.ndarray
    a: np.ndarray
    b: np.ndarray
    matched: np.ndarray
    f1: np.ndarray
    mean_iou: np.ndarray  # NaN when nothing matched


def pair_agreement(
    n_labelers: np.ndarray,
    set_start: np.ndarray,
    boxes_per_set: np.ndarray,
    members: MemberPairs,
    image: np.ndarray,
    lab: np.ndarray,
    label: np.ndarray,
    scored: np.ndarray | None = None,
) -> tuple[Pairs, np.ndarray]:
    """Pair table and image scores (mean pair F1; 1 when an image has no labeler pair).

    ``scored`` (a mask over the member pairs, default all) leaves out pairs that are one object
    without being a match: a loose box merged into its object counts as unmatched here.
    """
    if scored is not None and not scored.all():
        keep = np.flatnonzero(scored)
        members = MemberPairs(*(column.take(keep) for column in members))
    n_images = len(n_labelers)
    per_image = n_labelers * (n_labelers - 1) // 2
    base = np.zeros(n_images + 1, dtype=np.int64)
    np.cumsum(per_image, out=base[1:])
    total = int(base[-1])
    pair_image = np.repeat(np.arange(n_images, dtype=np.int64), per_image)
    pair_a = np.zeros(total, dtype=np.int64)
    pair_b = np.zeros(total, dtype=np.int64)
    # Sums go into a K x K square per image first (cheap to index from either orientation),
    # then cell (a, b) plus cell (b, a) gives the pair. The layout of the triangle of (a, b)
    # pairs is the same for every image with K labelers.
    square = n_labelers * n_labelers
    square_base = np.zeros(n_images + 1, dtype=np.int64)
    np.cumsum(square, out=square_base[1:])
    ab_cell = np.zeros(total, dtype=np.int64)
    ba_cell = np.zeros(total, dtype=np.int64)
    for k in np.unique(n_labelers[n_labelers > 1]).tolist():
        a, b = np.triu_indices(k, 1)
        images = np.flatnonzero(n_labelers == k)
        at = (base[images][:, None] + np.arange(len(a))[None]).reshape(-1)
        pair_a[at] = np.tile(a, len(images))
        pair_b[at] = np.tile(b, len(images))
        ab_cell[at] = (square_base[images][:, None] + (a * k + b)[None]).reshape(-1)
        ba_cell[at] = (square_base[images][:, None] + (b * k + a)[None]).reshape(-1)
    row = square_base.take(image) + lab * n_labelers.take(image)  # per box: its labeler's row
    cell = row.take(members.i) + lab.take(members.j)
    n_cells = int(square_base[-1])
    same = label.take(members.i) == label.take(members.j)

    def pair_sum(weights=None):
        sums = np.bincount(cell, weights=weights, minlength=n_cells)
        return sums.take(ab_cell) + sums.take(ba_cell)

    matched = pair_sum()
    agree = pair_sum(members.iou * same)
    iou_sum = pair_sum(members.iou)
    sizes = (
        boxes_per_set[set_start[pair_image] + pair_a]
        + boxes_per_set[set_start[pair_image] + pair_b]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(sizes > 0, 2.0 * agree / sizes, 1.0)
        mean_iou = np.where(matched > 0, iou_sum / matched, np.nan)
    f1 = np.minimum(f1, 1.0)
    score_sum = np.bincount(pair_image, weights=f1, minlength=n_images)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(per_image > 0, score_sum / np.maximum(per_image, 1), 1.0)
    return Pairs(pair_image, pair_a, pair_b, matched, f1, mean_iou), score
