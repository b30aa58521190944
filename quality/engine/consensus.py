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
    xyxy: np.ndarray  # mean of the members' boxes
    support: np.ndarray
    consensus: np.ndarray
    mean_iou: np.ndarray  # NaN for single boxes


class MemberPairs(NamedTuple):
    """Every pair of boxes inside one object (labeler of i < labeler of j)."""

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
    member_box = live[np.argsort(obj[live] * kmax + lab[live], kind="stable")]
    member_obj = obj[member_box]
    size = np.bincount(member_obj, minlength=n_obj)
    ptr = np.zeros(n_obj + 1, dtype=np.int64)
    np.cumsum(size, out=ptr[1:])
    starts = ptr[:-1]
    obj_image = image[member_box[starts]] if n_obj else np.zeros(0, dtype=np.int64)
    member_lab = lab[member_box]
    member_label = label[member_box]
    if n_obj:
        labmask = np.bitwise_or.reduceat(np.left_shift(1, member_lab).astype(np.int64), starts)
        low = np.minimum.reduceat(member_label, starts)
        high = np.maximum.reduceat(member_label, starts)
    else:
        labmask = low = high = np.zeros(0, dtype=np.int64)
    obj_label = low.copy()
    confidence = np.ones(n_obj)
    mixed = np.flatnonzero(low != high)
    if len(mixed):
        _majority(mixed, member_obj, member_label, ptr, size, obj_label, confidence)
    if n_obj:
        mean_xyxy = np.add.reduceat(corners[:, member_box], starts, axis=1).T / size[:, None]
    else:
        mean_xyxy = np.zeros((0, 4))
    pairs = _member_pairs(obj, lab, size, member_box, member_obj, ptr, corners, matches)
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
        xyxy=mean_xyxy,
        support=size / np.maximum(k, 1),
        consensus=size >= quorum[obj_image],
        mean_iou=mean_iou,
    )
    return objects, pairs


def _majority(mixed, member_obj, member_label, ptr, size, obj_label, confidence) -> None:
    """Majority label of objects whose members disagree (in place); -1 on a tie."""
    sel_counts = size[mixed]
    members = np.repeat(ptr[mixed], sel_counts) + (
        np.arange(sel_counts.sum()) - np.repeat(np.cumsum(sel_counts) - sel_counts, sel_counts)
    )
    n_labels = int(member_label.max()) + 1
    keys = np.sort(member_obj[members] * n_labels + member_label[members])
    run_keys, run_counts = np.unique(keys, return_counts=True)
    run_obj = run_keys // n_labels
    run_label = run_keys % n_labels
    best = np.zeros(len(obj_label), dtype=np.int64)
    np.maximum.at(best, run_obj, run_counts)
    at_best = run_counts == best[run_obj]
    n_best = np.bincount(run_obj[at_best], minlength=len(obj_label))
    winner = at_best & (n_best[run_obj] == 1)
    obj_label[mixed] = -1
    obj_label[run_obj[winner]] = run_label[winner]
    confidence[mixed] = best[mixed] / size[mixed]


def _member_pairs(obj, lab, size, member_box, member_obj, ptr, corners, matches) -> MemberPairs:
    """Every pair of boxes inside one object, oriented so that lab[i] < lab[j]."""
    ov_i, ov_j, ov_iou = matches
    inside = obj[ov_i] == obj[ov_j]
    inside &= obj[ov_i] >= 0
    i, j, iou = ov_i[inside], ov_j[inside], ov_iou[inside]
    flip = lab[i] > lab[j]
    i, j = np.where(flip, j, i), np.where(flip, i, j)
    found = np.bincount(obj[i], minlength=len(size))
    # Members of a chained object need not all intersect; those pairs (IoU 0) are added here.
    short = np.flatnonzero(found < size * (size - 1) // 2)
    if len(short) == 0:
        return MemberPairs(i, j, obj[i], iou)
    is_short = np.zeros(len(size), dtype=bool)
    is_short[short] = True
    keep = ~is_short[obj[i]]
    counts = size[short]
    at = np.repeat(ptr[short], counts) + (
        np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    extra = _all_member_pairs(member_box[at], member_obj[at], corners)
    return MemberPairs(
        np.concatenate([i[keep], extra.i]),
        np.concatenate([j[keep], extra.j]),
        np.concatenate([obj[i][keep], extra.obj]),
        np.concatenate([iou[keep], extra.iou]),
    )


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
) -> tuple[Pairs, np.ndarray]:
    """Pair table and image scores (mean pair F1; 1 when an image has no labeler pair)."""
    n_images = len(n_labelers)
    per_image = n_labelers * (n_labelers - 1) // 2
    base = np.zeros(n_images + 1, dtype=np.int64)
    np.cumsum(per_image, out=base[1:])
    total = int(base[-1])
    pair_image = np.repeat(np.arange(n_images, dtype=np.int64), per_image)
    pair_a = np.zeros(total, dtype=np.int64)
    pair_b = np.zeros(total, dtype=np.int64)
    # The triangle of (a, b) pairs is the same for every image with K labelers.
    for k in np.unique(n_labelers[n_labelers > 1]).tolist():
        a, b = np.triu_indices(k, 1)
        images = np.flatnonzero(n_labelers == k)
        at = (base[images][:, None] + np.arange(len(a))[None]).reshape(-1)
        pair_a[at] = np.tile(a, len(images))
        pair_b[at] = np.tile(b, len(images))
    a, b = lab[members.i], lab[members.j]
    km = n_labelers[image[members.i]]
    index = base[image[members.i]] + a * km - a * (a + 1) // 2 + (b - a - 1)
    matched = np.bincount(index, minlength=total)
    same = label[members.i] == label[members.j]
    agree = np.bincount(index, weights=members.iou * same, minlength=total)
    iou_sum = np.bincount(index, weights=members.iou, minlength=total)
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
