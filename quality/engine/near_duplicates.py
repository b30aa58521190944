"""Near-identical images (64-bit perceptual hashes) and the conflicts of their labels.

Candidates come from an index, never from all pairs. The hash is cut into ``max_distance + 1``
bands (PHASH_BANDS for the threshold the flags use): by the pigeonhole principle, two hashes
that differ in at most ``max_distance`` bits agree exactly on at least one band. Images that
share a band value are candidates, checked with an exact popcount. The database stores the
same bands as indexed columns (projects.Image.phash_band_k, generated from PHASH_BANDS), so the
candidates of one image are a few index lookups; in memory the bands are sorted and grouped.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import NamedTuple

import numpy as np

KIND = "near_duplicate_conflict"

# Hamming distance (bits of a 64-bit perceptual hash) up to which two images look the same.
NEAR_DUPLICATE_BITS = 4


def band_layout(max_distance: int) -> tuple[tuple[int, int], ...]:
    """The pigeonhole bands for ``max_distance``: (shift, width in bits) of each of the
    ``max_distance + 1`` bands that together cover the 64 bits, as even as can be."""
    edges = np.linspace(0, 64, max_distance + 2).astype(int).tolist()
    return tuple((lo, hi - lo) for lo, hi in zip(edges[:-1], edges[1:], strict=True))


# The bands of the flags' threshold: what the database stores per image.
PHASH_BANDS = band_layout(NEAR_DUPLICATE_BITS)


def phash_bands(hashes, max_distance: int = NEAR_DUPLICATE_BITS) -> np.ndarray:
    """Band values of 64-bit hashes (signed or unsigned), one column per band: int64 (n, bands).

    Equal to the database's phash_band_k columns for the flags' threshold (an arithmetic shift
    of the signed value, masked to the band's width, is the unsigned band).
    """
    values = np.asarray(hashes)
    values = values.view(np.uint64) if values.dtype == np.int64 else values.astype(np.uint64)
    layout = band_layout(max_distance)
    out = np.empty((len(values), len(layout)), dtype=np.int64)
    for k, (shift, width) in enumerate(layout):
        band = (values >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        out[:, k] = band.astype(np.int64)
    return out


def _close_pairs(
    hashes: np.ndarray, max_distance: int, max_pairs: int = 1_000_000
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs (a, b, distance), a < b, of uint64 hashes within ``max_distance`` bits.

    Per band, the pairs inside each group of equal band values are made and checked in numpy,
    at most ``max_pairs`` at a time. A pair that agrees on several bands comes once per band.
    """
    n = len(hashes)
    bands = phash_bands(hashes, max_distance)
    for k in range(bands.shape[1]):
        band = bands[:, k]
        order = np.argsort(band, kind="stable")
        sorted_band = band[order]
        starts = np.flatnonzero(np.r_[True, sorted_band[1:] != sorted_band[:-1]])
        sizes = np.diff(np.r_[starts, n])
        # Element p of a group pairs with the group's later elements.
        group_end = np.repeat(starts + sizes, sizes)
        later = group_end - np.arange(n) - 1
        cum = np.cumsum(later)
        first = 0
        while first < n:
            done = cum[first - 1] if first else 0
            last = max(int(np.searchsorted(cum, done + max_pairs, side="right")), first + 1)
            count = later[first:last]
            a = np.repeat(np.arange(first, last), count)
            b = a + 1 + np.arange(len(a)) - np.repeat(np.cumsum(count) - count, count)
            a, b = order[a], order[b]
            distance = np.bitwise_count(hashes[a] ^ hashes[b]).astype(np.int64)
            close = distance <= max_distance
            yield np.minimum(a, b)[close], np.maximum(a, b)[close], distance[close]
            first = last


def near_twins(
    hashes: np.ndarray, max_distance: int = NEAR_DUPLICATE_BITS, max_pairs: int = 1_000_000
) -> np.ndarray:
    """Per uint64 hash: is another hash within ``max_distance`` bits? (bool array)"""
    found = np.zeros(len(hashes), dtype=bool)
    for a, b, _ in _close_pairs(np.asarray(hashes, dtype=np.uint64), max_distance, max_pairs):
        found[a] = True
        found[b] = True
    return found


def near_matches(
    hashes: np.ndarray, queries: np.ndarray, max_distance: int = NEAR_DUPLICATE_BITS
) -> np.ndarray:
    """Per uint64 hash: is it within ``max_distance`` bits of one of the ``queries``? (bool)

    What the candidates read through the band index are checked with: per band, each hash is
    compared with the queries of equal band value only (a sorted search), so the work grows
    with the matches, not with hashes x queries.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    queries = np.asarray(queries, dtype=np.uint64)
    found = np.zeros(len(hashes), dtype=bool)
    if not len(hashes) or not len(queries):
        return found
    hash_bands = phash_bands(hashes, max_distance)
    query_bands = phash_bands(queries, max_distance)
    for k in range(hash_bands.shape[1]):
        order = np.argsort(query_bands[:, k], kind="stable")
        sorted_band = query_bands[order, k]
        lo = np.searchsorted(sorted_band, hash_bands[:, k], side="left")
        count = np.searchsorted(sorted_band, hash_bands[:, k], side="right") - lo
        h = np.repeat(np.arange(len(hashes)), count)
        q = order[
            np.repeat(lo, count) + np.arange(len(h)) - np.repeat(np.cumsum(count) - count, count)
        ]
        close = np.bitwise_count(hashes[h] ^ queries[q]) <= max_distance
        found[h[close]] = True
    return found


class NearDuplicateFlag(NamedTuple):
    kind: str  # always "near_duplicate_conflict"
    images: tuple[Hashable, Hashable]
    distance: int  # Hamming distance of the two hashes
    message: str


def near_duplicate_conflicts(
    images: Iterable[tuple[Hashable, int, Mapping[Hashable, int]]],
    max_distance: int = NEAR_DUPLICATE_BITS,
) -> list[NearDuplicateFlag]:
    """Flags for pairs of images with hashes within ``max_distance`` bits but different labels.

    ``images`` yields (image key, 64-bit perceptual hash as an int, consensus label counts such
    as {"car": 3}). Candidates come from the band index (see the module docstring).
    """
    items = list(images)
    if len(items) < 2:
        return []
    keys = [key for key, _, _ in items]
    hashes = np.array([h & 0xFFFFFFFFFFFFFFFF for _, h, _ in items], dtype=np.uint64)
    counts = [{k: v for k, v in c.items() if v} for _, _, c in items]
    found = list(_close_pairs(hashes, max_distance))
    a = np.concatenate([a for a, _, _ in found])
    if not len(a):
        return []
    b = np.concatenate([b for _, b, _ in found])
    pairs, first = np.unique(a * len(items) + b, return_index=True)
    distance = np.concatenate([d for _, _, d in found])[first]
    flags = []
    for code, d in zip(pairs.tolist(), distance.tolist(), strict=True):
        i, j = divmod(code, len(items))
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
