"""assess_batch: the whole engine over a BoxBatch, as a handful of numpy passes."""

from __future__ import annotations

import numpy as np

from .batch import BoxBatch
from .clustering import (
    cluster_objects,
    compact_objects,
    duplicate_extras,
    labeler_masks,
    loose_candidates,
    loose_merge,
    merged_masks,
)
from .consensus import build_objects, pair_agreement
from .flags import build_flags, find_groupings
from .geometry import canonical_order, overlapping_pairs, sweep_keys
from .matching import match_edges
from .results import BatchAssessment
from .types import AgreementParams


def assess_batch(batch: BoxBatch, params: AgreementParams | None = None) -> BatchAssessment:
    """Match, cluster, score and flag every image of ``batch`` at once (columnar result).

    There is no Python loop per image or per box pair: boxes are put in a canonical order
    (image, x, y, w, h, labeler, class), overlapping pairs come from a sweep on x, matching is
    direct where no candidates compete and Hungarian only on competing components, objects are
    connected components of the matches. See the package docstring for the result's layout.
    """
    params = params or AgreementParams()
    n = batch.n_boxes
    n_images = batch.n_images
    set_image, _set_labeler = batch.set_image, batch.set_labeler
    n_sets = len(set_image)
    n_labelers = np.bincount(set_image, minlength=n_images) if n_sets else np.zeros(n_images, int)
    n_labelers = n_labelers.astype(np.int64)
    set_start = np.searchsorted(set_image, np.arange(n_images))
    set_local = np.arange(n_sets, dtype=np.int64) - set_start[set_image]
    kmax = max(int(n_labelers.max()) if n_images else 1, 1)

    # Canonical order: every later step works on boxes sorted by it.
    image_of_row = set_image.take(batch.box_set)
    key, end_key = sweep_keys(image_of_row, batch.xywh)
    n_labels = max(len(batch.label_names), 1)
    order = canonical_order(key, batch.xywh, batch.box_set * n_labels + batch.label)
    key, end_key = key.take(order), end_key.take(order)
    box_set = batch.box_set.take(order)
    image = image_of_row.take(order)
    lab = set_local.take(box_set)
    label = batch.label.take(order)
    # Corners as four contiguous rows (x1, y1, x2, y2): column gathers stay cache friendly.
    xywh = batch.xywh.take(order, axis=0).T
    corners = np.empty((4, n))
    corners[:2] = xywh[:2]
    np.add(xywh[:2], xywh[2:], out=corners[2:])
    area = xywh[2] * xywh[3]

    ov = overlapping_pairs(key, end_key, corners, area)
    same = box_set.take(ov.i) == box_set.take(ov.j)
    close = ov.iou >= params.match_iou
    cand = np.flatnonzero(close & ~same)
    dup = np.flatnonzero(close & same)
    ci, cj, ciou = ov.i.take(cand), ov.j.take(cand), ov.iou.take(cand)
    dup_i, dup_j = ov.i.take(dup), ov.j.take(dup)
    # A labeler's second box of one object is set aside before matching (see duplicate_extras).
    extra = duplicate_extras(n, dup_i, dup_j, ci, cj, ciou, lab, kmax)
    if len(dup_i):
        keep = np.flatnonzero(~(extra.take(ci) | extra.take(cj)))
        ci, cj, ciou = ci.take(keep), cj.take(keep), ciou.take(keep)
    chosen = np.flatnonzero(match_edges(ci, cj, ciou, lab, kmax, n))
    mi, mj, miou = ci.take(chosen), cj.take(chosen), ciou.take(chosen)
    matched_comp = cluster_objects(n, lab, kmax, mi, mj, miou)
    comp = matched_comp
    # Same-class boxes of different labelers overlapping too little to match may still be one
    # object boxed loosely (see loose_merge). A group's big box is not (it overlaps each car of
    # its row about as much), so groups are looked for first, around the candidates only.
    band = np.flatnonzero((ov.iou >= params.loose_iou) & ~close)
    li, lj = ov.i.take(band), ov.j.take(band)
    # Over every id, a duplicate's extra copy included (its id can be the highest).
    n_ids = int(matched_comp.max()) + 1 if n else 0
    masks = labeler_masks(np.where(extra, -1, matched_comp), lab, kmax, n_ids)
    loose = loose_candidates(matched_comp, masks, extra, li, lj, box_set, label)
    if len(loose):
        li, lj, liou = li.take(loose), lj.take(loose), ov.iou.take(band).take(loose)
        ends = np.zeros(n, dtype=bool)
        ends[li] = True
        ends[lj] = True
        near = np.flatnonzero(ends.take(ov.i) | ends.take(ov.j))
        near_i, near_j = ov.i.take(near), ov.j.take(near)
        near_inter, near_cross = ov.inter.take(near), ~same.take(near)

        def group_ends(parts: np.ndarray, part_masks: np.ndarray) -> np.ndarray:
            is_group = find_groupings(
                near_i, near_j, near_inter, near_cross, area, corners, lab, kmax,
                np.where(extra, -1, parts), part_masks, params.group_cover,
            ).is_group  # fmt: skip
            return is_group & ends

        # A big box that groups only because a box it covers was loosely boxed by its own
        # labeler stops grouping once that loose pair is merged. Merging only ever takes group
        # boxes away, so: merge leaving out the boxes that group, look again, and merge again
        # while some left-out box no longer groups (a fixed point; bounded all the same).
        excluded = group_ends(matched_comp, masks)
        for _ in range(3):
            comp, remap = loose_merge(matched_comp, masks, li, lj, liou, excluded)
            if not excluded.any():
                break
            again = group_ends(comp, merged_masks(masks, remap, kmax))
            if np.array_equal(again, excluded):
                break
            excluded = again
    obj, n_obj = compact_objects(comp, extra)

    objects, members = build_objects(
        obj, n_obj, lab, kmax, label, corners, image, n_labelers,
        params.quorum_for(n_labelers), (mi, mj, miou),
    )  # fmt: skip
    boxes_per_set = np.bincount(box_set, minlength=n_sets)
    # A loosely merged pair is one object for the flags, but not a match for the pair scores.
    scored = matched_comp.take(members.i) == matched_comp.take(members.j)
    pairs, score = pair_agreement(
        n_labelers, set_start, boxes_per_set, members, image, lab, label, scored
    )
    grouping = find_groupings(
        ov.i, ov.j, ov.inter, ~same, area, corners, lab, kmax, obj, objects.labmask,
        params.group_cover,
    )  # fmt: skip
    flags = build_flags(
        objects, members, grouping, dup_i, dup_j, image, lab, label, kmax, n_labelers,
        params.low_iou,
    )  # fmt: skip
    return BatchAssessment.build(
        batch=batch,
        params=params,
        order=order,
        obj=obj,
        objects=objects,
        pairs=pairs,
        score=score,
        flags=flags,
        set_start=set_start,
    )
