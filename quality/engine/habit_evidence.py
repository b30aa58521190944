"""Habit evidence of every labeler on every image, measured against the consensus object.

The shape of the evidence (two summable tables) and its folding are in habit_tables; this
module measures. Geometry and classes are judged on objects with 3+ boxes only (with two boxes,
nobody can tell which labeler is off), misses on consensus objects only (boxed by the quorum).
"""

from __future__ import annotations

import numpy as np

from .clustering import components
from .geometry import overlapping_pairs, sweep_keys
from .habit_tables import (
    AREA_CLIP,
    EDGE_CLIP,
    EDGES,
    ROW_MIN,
    SIZE_BUCKETS,
    Accumulator,
    Evidence,
)
from .results import BatchAssessment
from .types import GROUPING


def habit_evidence(result: BatchAssessment, *, row_min: int = ROW_MIN) -> Evidence:
    """Every labeler's evidence on every image of ``result`` (see habit_tables for columns)."""
    b = result.batch
    acc = Accumulator()
    row_image = b.set_image[b.box_set]
    row_labeler = b.set_labeler[b.box_set]
    size = np.diff(result.object_member_ptr)
    member = result.object_member_rows
    member_obj = np.repeat(np.arange(len(size)), size)
    obj_label = result.object_label

    # Boxes drawn, and second boxes of one object (a duplicate's extra copy has no object).
    acc.add(row_image, row_labeler, b.label, boxes=1.0, duplicates=result.box_object < 0)

    # Group boxes drawn (a grouping flag's role-1 boxes) and the objects inside them.
    grouped, big_rows, big_value = _groupings(result)
    big = (row_image.take(big_rows), row_labeler.take(big_rows), b.label.take(big_rows))
    acc.add(*big, group_boxes=1.0, group_objects=big_value)
    is_big = np.zeros(b.n_boxes, dtype=bool)
    is_big[big_rows] = True

    _geometry(acc, result, size, member, row_image, row_labeler, is_big)

    # Classes: on objects with 3+ boxes and a majority class.
    judged = np.flatnonzero((size.take(member_obj) >= 3) & (obj_label.take(member_obj) >= 0))
    m_rows, m_obj = member.take(judged), member_obj.take(judged)
    said, truth = b.label.take(m_rows), obj_label.take(m_obj)
    differs = said != truth
    img, lab = row_image.take(m_rows), row_labeler.take(m_rows)
    acc.add(img, lab, truth, class_n=1.0, class_wrong=differs)
    d = np.flatnonzero(differs)
    acc.add_pairs(img.take(d), lab.take(d), truth.take(d), said.take(d), 1.0, 1.0)

    _rows_seen(acc, result, grouped, row_min)
    _misses(acc, result, grouped, row_labeler, member, member_obj)
    _class_pairs(acc, result, member, member_obj, size)
    return acc.evidence(b.labeler_names, b.label_names)


def _groupings(result: BatchAssessment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys object * n_labelers + labeler of every object inside a group box of that labeler,
    rows of the group boxes, objects inside each group box)."""
    b = result.batch
    flags = np.flatnonzero(result.flag_kind == GROUPING)
    counts = result.flag_box_ptr[flags + 1] - result.flag_box_ptr[flags]
    entry = np.repeat(result.flag_box_ptr[flags] - np.cumsum(counts) + counts, counts)
    entry += np.arange(int(counts.sum()))
    entry_flag = np.repeat(np.arange(len(flags)), counts)
    entry_row = result.flag_box_rows.take(entry)
    big = result.flag_box_roles.take(entry) == 1
    big_flag, big_row = entry_flag[big], entry_row[big]
    small_flag, small_obj = entry_flag[~big], result.box_object.take(entry_row[~big])
    inside = small_obj >= 0  # not a duplicate's extra copy, which belongs to no object
    small_flag, small_obj = small_flag[inside], small_obj[inside]
    # Every (grouper, covered object) pair of each flag.
    order = np.argsort(big_flag, kind="stable")
    big_flag, big_row = big_flag[order], big_row[order]
    first = np.searchsorted(big_flag, np.arange(len(flags)))
    n_big = np.bincount(big_flag, minlength=len(flags))
    reps = n_big.take(small_flag)
    which = np.repeat(np.arange(len(small_flag)), reps)
    offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    grouper_row = big_row.take(first.take(small_flag.take(which)) + offset)
    grouper = b.set_labeler.take(b.box_set.take(grouper_row))
    width = max(len(b.labeler_names), 1)
    keys = np.unique(small_obj.take(which) * width + grouper)
    return keys, big_row, result.flag_value.take(flags.take(big_flag))


def _geometry(acc, result, size, member, row_image, row_labeler, is_big) -> None:
    """Each box of an object with 3+ boxes against the members' per-edge median (a labeler
    with a habit moves the median little while the others are the majority)."""
    b = result.batch
    for s in np.unique(size[size >= 3]).tolist():
        objs = np.flatnonzero(size == s)
        pos = result.object_member_ptr[objs][:, None] + np.arange(s)[None, :]
        box_rows = member.take(pos)  # (n, s)
        xywh = b.xywh.take(box_rows, axis=0)  # (n, s, 4)
        corners = np.concatenate([xywh[..., :2], xywh[..., :2] + xywh[..., 2:]], axis=-1)
        median = np.median(corners, axis=1)  # (n, 4): the consensus edges
        ref_w = (median[:, 2] - median[:, 0])[:, None]
        ref_h = (median[:, 3] - median[:, 1])[:, None]
        sign = np.array([-1.0, -1.0, 1.0, 1.0])  # outward: left/top lower, right/bottom higher
        out_px = (corners - median[:, None, :]) * sign
        scale = np.stack([ref_w, ref_h, ref_w, ref_h], axis=-1)  # (n, 1, 4)
        ok = (ref_w > 0) & (ref_h > 0)
        scale = np.where(ok[..., None], scale, 1.0)
        rel = np.clip(out_px / scale, -EDGE_CLIP, EDGE_CLIP)
        px = rel * scale
        area = xywh[..., 2] * xywh[..., 3]
        ref_area = np.where(ok, ref_w * ref_h, 1.0)
        log_area = np.clip(np.log(area / ref_area), -AREA_CLIP, AREA_CLIP)
        flat = box_rows.ravel()
        keep = np.flatnonzero(np.broadcast_to(ok, box_rows.shape).ravel() & ~is_big[flat])
        flat = flat.take(keep)
        obj_of = np.repeat(objs, s).take(keep)
        label = result.object_label.take(obj_of)
        label = np.where(label >= 0, label, b.label.take(flat))
        key = (row_image.take(flat), row_labeler.take(flat), label)
        log_area = log_area.ravel().take(keep)
        columns = {"fit_n": 1.0, "area": log_area, "area_sq": log_area * log_area}
        for k, edge in enumerate(EDGES):
            rel_k, px_k = rel[..., k].ravel().take(keep), px[..., k].ravel().take(keep)
            columns |= {edge: rel_k, f"{edge}_sq": rel_k * rel_k}
            columns |= {f"{edge}_px": px_k, f"{edge}_px_sq": px_k * px_k}
        acc.add(*key, **columns)


def _image_sets(result: BatchAssessment, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``images`` (with repeats), every label set of it: (index into images,
    labeler code)."""
    ptr = result.set_image_ptr
    n_sets = ptr[images + 1] - ptr[images]
    which = np.repeat(np.arange(len(images)), n_sets)
    offset = np.arange(int(n_sets.sum())) - np.repeat(np.cumsum(n_sets) - n_sets, n_sets)
    sets = ptr[images].take(which) + offset
    return which, result.batch.set_labeler.take(sets)


def _rows_seen(acc, result: BatchAssessment, grouped: np.ndarray, row_min: int) -> None:
    """Rows: row_min+ consensus objects whose boxes touch (a gap of a few px at most) and lie
    side by side (sharing half the smaller extent across), e.g. parked cars, a crowd."""
    cons = np.flatnonzero(result.object_consensus)
    if len(cons) < row_min:
        return
    xywh = result.object_xywh.take(cons, axis=0)
    grow = np.maximum(1.5, 0.03 * np.minimum(xywh[:, 2], xywh[:, 3]))
    grown = xywh + np.stack([-grow, -grow, 2 * grow, 2 * grow], axis=1)
    image = result.object_image.take(cons)
    key, end_key = sweep_keys(image, grown)
    order = np.argsort(key, kind="stable")
    g = grown[order]
    corners = np.stack([g[:, 0], g[:, 1], g[:, 0] + g[:, 2], g[:, 1] + g[:, 3]])
    ov = overlapping_pairs(key[order], end_key[order], corners, g[:, 2] * g[:, 3])
    i, j = order[ov.i], order[ov.j]
    w, h = xywh[:, 2], xywh[:, 3]
    x1, y1, x2, y2 = xywh[:, 0], xywh[:, 1], xywh[:, 0] + w, xywh[:, 1] + h
    across_y = np.minimum(y2[i], y2[j]) - np.maximum(y1[i], y1[j])
    across_x = np.minimum(x2[i], x2[j]) - np.maximum(x1[i], x1[j])
    side = (across_y >= 0.5 * np.minimum(h[i], h[j])) | (across_x >= 0.5 * np.minimum(w[i], w[j]))
    comp = components(len(cons), i[side], j[side])
    n_comp = int(comp.max()) + 1
    comp_size = np.bincount(comp, minlength=n_comp)
    in_row = np.flatnonzero(comp_size.take(comp) >= row_min)
    if not len(in_row):
        return
    row_ids, row_of = np.unique(comp.take(in_row), return_inverse=True)
    row_objs = cons.take(in_row)
    # Majority class of each row (lowest code on a tie; -1 for tied objects only).
    labels = result.object_label.take(row_objs)
    n_labels = max(len(result.batch.label_names), 1)
    votes = np.bincount(
        row_of * (n_labels + 1) + labels + 1, minlength=len(row_ids) * (n_labels + 1)
    )
    votes = votes.reshape(len(row_ids), n_labels + 1)
    row_label = np.where(votes[:, 1:].max(axis=1) > 0, votes[:, 1:].argmax(axis=1), -1)
    first = np.full(len(row_ids), len(row_objs), dtype=np.int64)
    np.minimum.at(first, row_of, np.arange(len(row_objs)))
    row_image = result.object_image.take(row_objs.take(first))
    which, labeler = _image_sets(result, row_image)
    # A labeler grouped a row when one of its objects lies in a group box of theirs.
    width = max(len(result.batch.labeler_names), 1)
    row_of_obj = np.full(len(result.object_image), -1, dtype=np.int64)
    row_of_obj[row_objs] = row_of
    g_row, g_labeler = row_of_obj.take(grouped // width), grouped % width
    hit = np.flatnonzero(g_row >= 0)
    value = np.isin(which * width + labeler, g_row.take(hit) * width + g_labeler.take(hit))
    key = (row_image.take(which), labeler, row_label.take(which))
    acc.add(*key, rows=1.0, rows_grouped=value)


def _misses(acc, result, grouped, row_labeler, member, member_obj) -> None:
    cons = np.flatnonzero(result.object_consensus)
    image = result.object_image.take(cons)
    which, labeler = _image_sets(result, image)
    obj = cons.take(which)
    width = max(len(result.batch.labeler_names), 1)
    key = obj * width + labeler
    boxed = np.isin(key, member_obj * width + row_labeler.take(member))
    judged = np.flatnonzero(~np.isin(key, grouped))
    obj, labeler = obj.take(judged), labeler.take(judged)
    xywh = result.object_xywh.take(obj, axis=0)
    bucket = np.searchsorted(np.asarray(SIZE_BUCKETS), np.sqrt(xywh[:, 2] * xywh[:, 3]), "right")
    missed = ~boxed.take(judged)
    image, label = result.object_image.take(obj), result.object_label.take(obj)
    for k in range(len(SIZE_BUCKETS) + 1):
        at = np.flatnonzero(bucket == k)
        key = (image.take(at), labeler.take(at), label.take(at))
        acc.add(*key, **{f"seen_{k}": 1.0, f"missed_{k}": missed.take(at)})


def _class_pairs(acc, result, member, member_obj, size) -> None:
    b = result.batch
    n_labels = max(len(b.label_names), 1)
    two = np.flatnonzero(size.take(member_obj) >= 2)
    pair_key, counts = np.unique(
        member_obj.take(two) * n_labels + b.label.take(member.take(two)), return_counts=True
    )
    obj, label = pair_key // n_labels, pair_key % n_labels
    image = result.object_image.take(obj)
    acc.add(image, -1, label, objects=1.0)
    # Objects given exactly two classes: entries come sorted by object, so a pair is adjacent.
    per_obj = np.bincount(obj, minlength=len(size))
    first = np.flatnonzero((per_obj.take(obj) == 2) & np.r_[True, obj[1:] != obj[:-1]])
    a, c = first, first + 1
    total = (counts.take(a) + counts.take(c)).astype(np.float64)
    share = counts.take(a) / np.maximum(total, 1)
    img = image.take(a)
    acc.add_pairs(img, -1, label.take(a), label.take(c), 1.0, share)
    acc.add_pairs(img, -1, label.take(c), label.take(a), 1.0, 1.0 - share)
