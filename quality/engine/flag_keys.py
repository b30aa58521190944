"""What identifies a flag across assessments: its boxes, its owners and its content, for many
flags at once (CSR arrays; no Python object per box).

The pipeline keys a stored flag by its kind, the caller's names of its boxes, the labelers who
missed the object and a digest of the boxes' coordinates and classes, so that the same
disagreement found again keeps its row (and the lead's decision) while a redrawn box does not.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

from .results import BatchAssessment


class FlagIdentities(NamedTuple):
    box_ptr: np.ndarray  # flag k's boxes are box_names[box_ptr[k]:box_ptr[k + 1]]
    box_names: np.ndarray  # the caller's names of each flag's boxes, sorted within the flag
    owner_mask: np.ndarray  # per flag: bit j set when the image's j-th label set has a box in it
    class_code: np.ndarray  # per flag: the object's consensus class, else its first box's; -1
    digests: list[str]  # per flag: blake2b (8 hex) of its boxes' coordinates and classes


def segments(ptr: np.ndarray, picked: np.ndarray):
    """CSR helper: for segments ``picked`` of ``ptr``, (their lengths, the owning position of
    every element, the elements' indices into the flat array, the new offsets)."""
    lengths = ptr[picked + 1] - ptr[picked]
    owner = np.repeat(np.arange(len(picked)), lengths)
    offsets = np.zeros(len(picked) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.arange(offsets[-1]) - offsets[owner] + ptr[picked][owner]
    return lengths, owner, flat, offsets


def flag_identities(
    result: BatchAssessment, flags: np.ndarray, row_names: np.ndarray
) -> FlagIdentities:
    """Identities of the ``flags`` (indices into the result); ``row_names[row]`` is what the
    caller calls box row ``row`` (e.g. its database id)."""
    batch = result.batch
    lengths, owner, flat, offsets = segments(result.flag_box_ptr, flags)
    rows = result.flag_box_rows[flat]  # the engine's order: the first row names the object
    names = row_names[rows]
    names = names[np.lexsort((names, owner))]
    by_row = rows[np.lexsort((rows, owner))]
    content = np.ascontiguousarray(np.column_stack([batch.xywh[by_row], batch.label[by_row]]))
    content_bytes = memoryview(content).cast("B")
    row_bytes = content.shape[1] * content.itemsize
    image = result.flag_image[flags]
    set_start = result.set_image_ptr[image]
    owners = np.zeros(len(flags), dtype=np.int64)
    np.bitwise_or.at(owners, owner, np.left_shift(1, batch.box_set[rows] - set_start[owner]))
    first = rows[np.minimum(offsets[:-1], max(len(rows) - 1, 0))]
    obj = np.where(lengths > 0, result.box_object[first], -1)
    code = np.where(obj >= 0, result.object_label[np.maximum(obj, 0)], -1)
    code = np.where((code < 0) & (lengths > 0), batch.label[first], code)
    bounds = offsets.tolist()
    digests = [
        hashlib.blake2b(
            content_bytes[bounds[k] * row_bytes : bounds[k + 1] * row_bytes], digest_size=4
        ).hexdigest()
        for k in range(len(flags))
    ]
    return FlagIdentities(offsets, names, owners, code, digests)
