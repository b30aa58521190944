"""Near-identical images (64-bit perceptual hashes) whose consensus labels differ."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import NamedTuple

import numpy as np

KIND = "near_duplicate_conflict"


class NearDuplicateFlag(NamedTuple):
    kind: str  # always "near_duplicate_conflict"
    images: tuple[Hashable, Hashable]
    distance: int  # Hamming distance of the two hashes
    message: str


def near_duplicate_conflicts(
    images: Iterable[tuple[Hashable, int, Mapping[Hashable, int]]],
    max_distance: int = 4,
) -> list[NearDuplicateFlag]:
    """Flags for pairs of images with hashes within ``max_distance`` bits but different labels.

    ``images`` yields (image key, 64-bit perceptual hash as an int, consensus label counts such
    as {"car": 3}). Candidates come from an index, not from all pairs: the hash is cut into
    ``max_distance + 1`` bands, and by the pigeonhole principle two hashes that differ in at
    most ``max_distance`` bits agree exactly on at least one band; images sharing a band value
    are candidates, checked with an exact popcount.
    """
    items = list(images)
    if len(items) < 2:
        return []
    keys = [key for key, _, _ in items]
    hashes = np.array([h & 0xFFFFFFFFFFFFFFFF for _, h, _ in items], dtype=np.uint64)
    counts = [{k: v for k, v in c.items() if v} for _, _, c in items]
    n_bands = max_distance + 1
    edges = np.linspace(0, 64, n_bands + 1).astype(int)
    candidates = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        band = (hashes >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(band, kind="stable")
        sorted_band = band[order]
        starts = np.flatnonzero(np.r_[True, sorted_band[1:] != sorted_band[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
            members = np.sort(order[start : start + size])
            a, b = np.triu_indices(size, 1)
            candidates.append(members[a] * len(items) + members[b])
    if not candidates:
        return []
    pairs = np.unique(np.concatenate(candidates))
    a, b = pairs // len(items), pairs % len(items)
    distance = np.bitwise_count(hashes[a] ^ hashes[b]).astype(np.int64)
    near = distance <= max_distance
    flags = []
    for i, j, d in zip(a[near].tolist(), b[near].tolist(), distance[near].tolist(), strict=True):
        if counts[i] != counts[j]:
            message = (
                f"images {keys[i]} and {keys[j]} look the same but were labeled "
                f"{_describe(counts[i])} / {_describe(counts[j])}"
            )
            flags.append(NearDuplicateFlag(KIND, (keys[i], keys[j]), d, message))
    return flags


def _describe(counts: Mapping[Hashable, int]) -> str:
    if not counts:
        return "nothing"
    parts = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return " + ".join(f"{n} {label}" for label, n in parts)
