"""Columnar detection of the per-image flags (label_conflict, missing, low_overlap, ...)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .clustering import components
from .consensus import MemberPairs, Objects
from .types import DUPLICATE, GROUPING, LABEL_CONFLICT, LOW_OVERLAP, MISSING


class FlagTable(NamedTuple):
    """Flags sorted by image, kind, first box; boxes in CSR form (canonical box indices)."""

    image: np.ndarray
    kind: np.ndarray
    labmask: np.ndarray  # image-local labelers involved, including whoever missed
    value: np.ndarray  # lowest IoU (low_overlap), objects grouped (grouping), copies (duplicate)
    box_ptr: np.ndarray
    boxes: np.ndarray
    roles: np.ndarray  # 1: a grouping flag's big box(es), a low_overlap flag's outlier; else 0
    deviating: np.ndarray  # image-local labelers in the minority (0: no majority)


# Loose rule of the grouping check: the least share of a small box inside the big box.
LOOSE_MIN_COVER = 0.5


class Grouping(NamedTuple):
    flag_obj: np.ndarray  # object holding the big box(es), one per grouping flag
    value: np.ndarray  # objects inside
    entry_flag: np.ndarray
    entry_box: np.ndarray
    entry_role: np.ndarray
    suppressed: np.ndarray  # per object: labelers not to report as missing (-1: nobody)
    is_group: np.ndarray  # per box: the big box of a grouping flag


def find_groupings(
    overlaps_i: np.ndarray,
    overlaps_j: np.ndarray,
    inter: np.ndarray,
    cross: np.ndarray,
    area: np.ndarray,
    corners: np.ndarray,
    lab: np.ndarray,
    kmax: int,
    obj: np.ndarray,
    labmask: np.ndarray,
    group_cover: float,
) -> Grouping:
    """One labeler's single box around two or more boxes of another labeler.

    A small box s (smaller area, other labeler) counts as inside a big box G when either

    - tight: at least ``group_cover`` of s lies in G; or
    - loose: s's center lies inside G, at least LOOSE_MIN_COVER (0.5) of s lies in G, and at
      least ``group_cover`` of s's extent *along* G's long axis lies in G. In other words s is
      first clipped to G's extent on the axis across the row (y for a wide G, x for a tall one)
      and the clipped box must be ``group_cover`` inside G. A labeler who boxes each car of a
      row loosely (each side grown by up to ~25%) sticks out of a tight row box across the row
      and at the two ends; the first is ignored, the second still has to stay small.

    and G's object holds no box of s's labeler: when G was matched to a box of that labeler, G
    is that object's box (a person's box around the bag she holds is the person's, not a group;
    whatever else it covers is a separate object), and when s was matched to another box of
    G's labeler, s is an object G's labeler boxed too. G qualifies when it holds two or more
    such boxes of one labeler; then every box inside it, of every labeler, joins one
    flag per object of G (so one flag names everyone who boxed the objects one by one), and
    the misses this disagreement implies are suppressed: the objects inside are not missing
    for the grouping labelers, and the object of G is never reported missing at all.
    """
    n, n_obj = len(obj), len(labmask)

    def covering(pairs: np.ndarray) -> tuple[np.ndarray, ...]:
        """Of these overlap pairs, those where a bigger box of another labeler holds at least
        LOOSE_MIN_COVER of the smaller one: (big, small, intersection, small area), in order."""
        i, j = overlaps_i.take(pairs), overlaps_j.take(pairs)
        area_i, area_j = area.take(i), area.take(j)
        small_area = np.minimum(area_i, area_j)
        inter_ij = inter.take(pairs)
        hit = np.flatnonzero(
            cross.take(pairs) & (area_i != area_j) & (inter_ij >= LOOSE_MIN_COVER * small_area)
        )
        i, j = i.take(hit), j.take(hit)
        i_small = area_i.take(hit) < area_j.take(hit)
        return (
            np.where(i_small, j, i),
            np.where(i_small, i, j),
            inter_ij.take(hit),
            small_area.take(hit),
        )

    def inside(b, m, inter_bm, small_area) -> np.ndarray:
        """For these (big, small) pairs: does the small box count as inside the big one?"""
        tight = inter_bm >= group_cover * small_area
        bx1, by1, bx2, by2 = corners.take(b, axis=1)
        mx1, my1, mx2, my2 = corners.take(m, axis=1)
        cx = 0.5 * (mx1 + mx2)
        cy = 0.5 * (my1 + my2)
        center_in = (cx >= bx1) & (cx <= bx2) & (cy >= by1) & (cy <= by2)
        wide = (bx2 - bx1) >= (by2 - by1)
        along_lo = np.where(wide, np.maximum(mx1, bx1), np.maximum(my1, by1))
        along_hi = np.where(wide, np.minimum(mx2, bx2), np.minimum(my2, by2))
        along_len = np.where(wide, mx2 - mx1, my2 - my1)
        return tight | (center_in & (along_hi - along_lo >= group_cover * along_len))

    # Only pairs across two objects can group: a box covered inside its own object is the big
    # box's own match, and then the big box is that object's box, not a group (see above).
    obj_i, obj_j = obj.take(overlaps_i), obj.take(overlaps_j)
    across = np.flatnonzero(cross & (obj_i >= 0) & (obj_j >= 0) & (obj_i != obj_j))
    big, small, inter_bs, small_area = covering(across)
    hit = np.flatnonzero(inside(big, small, inter_bs, small_area))
    big, small = big.take(hit), small.take(hit)
    small_labeler_in_big = (labmask.take(obj.take(big)) >> lab.take(small)) & 1
    big_labeler_in_small = (labmask.take(obj.take(small)) >> lab.take(big)) & 1
    ok = np.flatnonzero((small_labeler_in_big == 0) & (big_labeler_in_small == 0))
    big, small = big.take(ok), small.take(ok)
    # A big box groups when it holds two or more boxes of one other labeler.
    key = big * kmax + lab[small]
    _, key_at, key_count = np.unique(key, return_inverse=True, return_counts=True)
    is_group = np.zeros(n, dtype=bool)
    is_group[big[key_count[key_at] >= 2]] = True
    keep = is_group[big]
    big, small = big[keep], small[keep]
    flag_obj, s_flag = np.unique(obj[big], return_inverse=True)
    n_flags = len(flag_obj)
    group_boxes, g_first = np.unique(big, return_index=True)
    g_flag = s_flag[g_first]
    pair_key = np.unique(s_flag * max(n, 1) + small)
    c_flag, c_box = pair_key // max(n, 1), pair_key % max(n, 1)
    inside = np.unique(c_flag * max(n_obj, 1) + obj[c_box])
    value = np.bincount(inside // max(n_obj, 1), minlength=n_flags).astype(np.float64)
    group_mask = np.zeros(n_flags, dtype=np.int64)
    np.bitwise_or.at(group_mask, g_flag, np.left_shift(1, lab[group_boxes]))
    covered_mask = np.zeros(n_flags, dtype=np.int64)
    np.bitwise_or.at(covered_mask, c_flag, np.left_shift(1, lab[c_box]))
    suppressed = np.zeros(n_obj, dtype=np.int64)
    np.bitwise_or.at(suppressed, obj[c_box], group_mask[c_flag])
    np.bitwise_or.at(suppressed, flag_obj, covered_mask)
    # The object of a big box is never missing: the grouping flag is the explanation.
    suppressed[flag_obj] = -1
    # A box both big and small within one flag is listed once, as big.
    small_only = ~is_group[c_box] | (obj[c_box] != flag_obj[c_flag])
    entry_flag = np.concatenate([g_flag, c_flag[small_only]])
    entry_box = np.concatenate([group_boxes, c_box[small_only]])
    entry_role = np.concatenate(
        [np.ones(len(group_boxes), np.int8), np.zeros(int(small_only.sum()), np.int8)]
    )
    return Grouping(flag_obj, value, entry_flag, entry_box, entry_role, suppressed, is_group)


def build_flags(
    objects: Objects,
    members: MemberPairs,
    grouping: Grouping,
    dup_i: np.ndarray,
    dup_j: np.ndarray,
    image: np.ndarray,
    lab: np.ndarray,
    label: np.ndarray,
    kmax: int,
    n_labelers: np.ndarray,
    low_iou: float,
) -> FlagTable:
    """Every flag of the batch, columnar."""
    n = len(lab)
    n_obj = len(objects.size)
    # (kind, flag image, labmask, value, entry flag, box, role, deviating labmask)
    parts: list[tuple] = []

    member_box = objects.member_box
    member_obj = objects.member_obj
    ptr = objects.ptr
    is_group = grouping.is_group
    # Beside a grouping flag, the big box is not also a class or overlap disagreement: a
    # member that is a grouping flag's big box is left out, unless its whole object is such
    # boxes. Big boxes are few, so this is worked out on them alone.
    group_pos = np.flatnonzero(is_group.take(member_box))
    group_obj = member_obj.take(group_pos)
    group_objs, group_count = np.unique(group_obj, return_counts=True)
    all_group = group_count == objects.size.take(group_objs)
    left_out = group_pos[~all_group[np.searchsorted(group_objs, group_obj)]]
    considered = np.ones(len(member_box), dtype=bool)
    considered[left_out] = False

    # label_conflict: considered members of one object carry different classes.
    conflict = objects.mixed.copy()
    touched = np.unique(member_obj.take(left_out))
    if len(touched):
        # Objects with a member left out: compare the classes of the others only.
        pos = _member_positions(touched, ptr)
        kept = considered.take(pos)
        kept_label = label.take(member_box.take(pos))
        seg = np.cumsum(objects.size.take(touched)) - objects.size.take(touched)
        low = np.minimum.reduceat(np.where(kept, kept_label, np.iinfo(np.int64).max), seg)
        high = np.maximum.reduceat(np.where(kept, kept_label, -1), seg)
        conflict[touched] = (high >= 0) & (low != high)
    pos = _member_positions(np.flatnonzero(conflict), ptr)
    pos = pos[considered.take(pos)]
    e_obj, e_box = member_obj.take(pos), member_box.take(pos)
    part = _object_flags(LABEL_CONFLICT, conflict, e_obj, e_box, objects, lab)
    # Who drew another class than the majority's (nobody when no class has a majority).
    majority = objects.label.take(e_obj)
    odd = (majority >= 0) & (label.take(e_box) != majority)
    parts.append(part[:7] + (_entry_mask(part[4], e_box, odd, lab, len(part[1])),))

    # missing: labelers of the image who did not box the object (minus grouping disagreements).
    full = np.left_shift(1, n_labelers[objects.image]).astype(np.int64) - 1
    missed = full & ~objects.labmask & ~grouping.suppressed
    flagged = missed != 0
    pos = _member_positions(np.flatnonzero(flagged), ptr)
    kind_missing = _object_flags(
        MISSING, flagged, member_obj.take(pos), member_box.take(pos), objects, lab
    )
    # The minority: who missed it, or who boxed what most did not; nobody on an even split.
    boxed, missed = kind_missing[2], missed[flagged]
    n_boxed, n_missed = np.bitwise_count(boxed), np.bitwise_count(missed)
    minority = np.where(n_missed < n_boxed, missed, np.where(n_missed > n_boxed, boxed, 0))
    parts.append(kind_missing[:2] + (boxed | missed,) + kind_missing[3:7] + (minority,))

    # low_overlap: ONE flag per object whose worst member pair is below low_iou (not one per
    # pair), naming every member in such a pair; value: the worst pair IoU.
    # A grouping flag's big box is explained by it: none of its pairs is a low overlap.
    low_pair = np.flatnonzero(members.iou < low_iou)
    low_i, low_j = members.i.take(low_pair), members.j.take(low_pair)
    ok = np.flatnonzero(~(is_group.take(low_i) | is_group.take(low_j)))
    low_pair, low_i, low_j = low_pair.take(ok), low_i.take(ok), low_j.take(ok)
    low_obj = members.obj.take(low_pair)
    worst = np.full(n_obj, np.inf)
    np.minimum.at(worst, low_obj, members.iou.take(low_pair))
    loose = np.isfinite(worst)
    involved = np.zeros(n, dtype=bool)
    involved[low_i] = True
    involved[low_j] = True
    pos = _member_positions(np.flatnonzero(loose), ptr)
    pos = pos[involved.take(member_box.take(pos))]
    e_obj, e_box = member_obj.take(pos), member_box.take(pos)
    part = _object_flags(LOW_OVERLAP, loose, e_obj, e_box, objects, lab)
    # The outlier: with two or more low pairs in an object, the one box that is in all of them
    # (cho's loose box against ann's and bob's tight ones). It gets role 1; the message names it.
    n_low = np.bincount(low_obj, minlength=n_obj)
    low_count = np.bincount(np.concatenate([low_i, low_j]), minlength=n)
    outlier = (n_low[e_obj] >= 2) & (low_count[e_box] == n_low[e_obj])
    # A box deviates when it overlaps most of its object's other boxes too little; when every
    # box involved does (two labelers, two camps of equal size) there is no majority.
    odd = 2 * low_count.take(e_box) > objects.size.take(e_obj) - 1
    odd_mask = _entry_mask(part[4], e_box, odd, lab, len(part[1]))
    odd_mask[odd_mask == part[2]] = 0
    parts.append(part[:3] + (worst[loose],) + part[4:6] + (outlier.astype(np.int8),) + (odd_mask,))

    # grouping
    g = grouping
    g_mask = np.zeros(len(g.flag_obj), dtype=np.int64)
    np.bitwise_or.at(g_mask, g.entry_flag, np.left_shift(1, lab[g.entry_box]))
    # The minority of those who drew one box around the objects and those who boxed them one by
    # one (a labeler who did both counts as grouping).
    groupers = _entry_mask(g.entry_flag, g.entry_box, g.entry_role == 1, lab, len(g.flag_obj))
    one_by_one = g_mask & ~groupers
    n_g, n_o = np.bitwise_count(groupers), np.bitwise_count(one_by_one)
    parts.append(
        (
            GROUPING,
            objects.image[g.flag_obj],
            g_mask,
            g.value,
            g.entry_flag,
            g.entry_box,
            g.entry_role,
            np.where(n_g < n_o, groupers, np.where(n_g > n_o, one_by_one, 0)),
        )
    )

    # duplicate: one labeler boxed one object more than once.
    nodes, inverse = np.unique(np.concatenate([dup_i, dup_j]), return_inverse=True)
    m = len(dup_i)
    comp = components(len(nodes), inverse[:m], inverse[m:]) if len(nodes) else inverse
    n_dup = int(comp.max()) + 1 if len(nodes) else 0
    first = np.full(n_dup, n, dtype=np.int64)
    np.minimum.at(first, comp, nodes)
    dup_mask = np.left_shift(1, lab[first]).astype(np.int64) if n_dup else np.zeros(0, np.int64)
    parts.append(
        (
            DUPLICATE,
            image[first] if n_dup else np.zeros(0, dtype=np.int64),
            dup_mask,
            np.bincount(comp, minlength=n_dup).astype(np.float64),
            comp,
            nodes,
            np.zeros(len(nodes), np.int8),
            dup_mask,
        )
    )
    return _assemble(parts, n, lab, kmax)


def _member_positions(objs: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Positions in the member arrays of the members of ``objs`` (ascending), in order."""
    first = ptr.take(objs)
    counts = ptr.take(objs + 1) - first
    ends = np.cumsum(counts)
    return np.repeat(first - (ends - counts), counts) + np.arange(ends[-1] if len(ends) else 0)


def _entry_mask(entry_flag, entry_box, where, lab, n_flags) -> np.ndarray:
    """Per flag, the bit mask of the labelers of its entries where ``where`` holds."""
    mask = np.zeros(n_flags, dtype=np.int64)
    sel = np.flatnonzero(where)
    np.bitwise_or.at(mask, entry_flag.take(sel), np.left_shift(1, lab.take(entry_box.take(sel))))
    return mask


def _object_flags(kind, flagged, entry_obj, entry_box, objects: Objects, lab):
    """Flags for the objects where ``flagged``; entries (object, box) become (flag, box)."""
    obj_ids = np.flatnonzero(flagged)
    flag_of_obj = np.full(len(flagged), -1, dtype=np.int64)
    flag_of_obj[obj_ids] = np.arange(len(obj_ids))
    entry_flag = flag_of_obj[entry_obj]
    # Entries come grouped by object (so by flag), none empty: a segment reduction will do.
    bits = np.left_shift(1, lab[entry_box]).astype(np.int64)
    if len(obj_ids):
        starts = np.flatnonzero(np.r_[True, entry_flag[1:] != entry_flag[:-1]])
        mask = np.bitwise_or.reduceat(bits, starts)
    else:
        mask = np.zeros(0, dtype=np.int64)
    value = np.zeros(len(obj_ids))
    role = np.zeros(len(entry_box), np.int8)
    return (kind, objects.image[obj_ids], mask, value, entry_flag, entry_box, role)


def _assemble(parts, n, lab, kmax) -> FlagTable:
    """Concatenate the kinds' flags, sort them by (image, kind, first box), build the CSR.

    Entries of the object-based kinds already come grouped by flag and ordered by labeler;
    the small grouping and duplicate parts are sorted here. The final order is a permutation of
    whole flag segments, not a sort of every entry.
    """
    kinds, images, masks, values, e_flags, e_boxes, e_roles = [], [], [], [], [], [], []
    deviating = []
    offset = 0
    for kind, image, mask, value, entry_flag, entry_box, role, minority in parts:
        if kind in (GROUPING, DUPLICATE) and len(entry_box):
            order = np.lexsort((entry_box, lab[entry_box], entry_flag))
            entry_flag, entry_box, role = entry_flag[order], entry_box[order], role[order]
        kinds.append(np.full(len(image), kind, dtype=np.int64))
        images.append(image)
        masks.append(mask)
        values.append(value)
        e_flags.append(entry_flag + offset)
        e_boxes.append(entry_box)
        e_roles.append(role)
        deviating.append(minority)
        offset += len(image)
    kind = np.concatenate(kinds)
    image = np.concatenate(images).astype(np.int64)
    mask = np.concatenate(masks).astype(np.int64)
    value = np.concatenate(values).astype(np.float64)
    entry_flag = np.concatenate(e_flags).astype(np.int64)
    entry_box = np.concatenate(e_boxes).astype(np.int64)
    entry_role = np.concatenate(e_roles)
    n_flags = len(kind)
    size = np.bincount(entry_flag, minlength=n_flags)
    old_ptr = np.zeros(n_flags + 1, dtype=np.int64)
    np.cumsum(size, out=old_ptr[1:])
    first = np.full(n_flags, n, dtype=np.int64)
    np.minimum.at(first, entry_flag, entry_box)
    order = np.argsort((image * 8 + kind) * (n + 1) + first, kind="stable")
    new_size = size[order]
    ptr = np.zeros(n_flags + 1, dtype=np.int64)
    np.cumsum(new_size, out=ptr[1:])
    take = np.repeat(old_ptr[order] - ptr[:-1], new_size) + np.arange(int(ptr[-1]))
    return FlagTable(
        image=image[order],
        kind=kind[order],
        labmask=mask[order],
        value=value[order],
        box_ptr=ptr,
        boxes=entry_box[take],
        roles=entry_role[take],
        deviating=np.concatenate(deviating).astype(np.int64)[order],
    )
