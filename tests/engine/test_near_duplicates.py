"""The pigeonhole band index of 64-bit perceptual hashes: one layout, exact answers.

Adversarial hashes sit right at the threshold: 4 bits apart with each bit in another band (they
agree on one band only), 5 bits apart with one bit in each band (they agree on none), and flips
at the bands' edges.
"""

import numpy as np
import pytest

from quality.engine.near_duplicates import (
    NEAR_DUPLICATE_BITS,
    PHASH_BANDS,
    band_layout,
    near_duplicate_conflicts,
    near_matches,
    near_twins,
    phash_bands,
)

BASE = 0x0123_4567_89AB_CDEF


def _flip(h: int, bits) -> int:
    for bit in bits:
        h ^= 1 << bit
    return h


# Bits of each band in the flags' layout: (0-11), (12-24), (25-37), (38-50), (51-63).
NEAR = {
    "one bit in each of four bands": [3, 15, 30, 45],
    "four bits in one band": [26, 29, 31, 37],
    "edges of three bands": [11, 12, 24, 25],
    "first bits of the four upper bands": [12, 25, 38, 51],
    "the sign bit and three edges": [63, 0, 24, 38],
}
FAR = {
    "one bit in each band": [3, 15, 30, 45, 60],
    "last bit of each band": [11, 24, 37, 50, 63],
    "first bit of each band": [0, 12, 25, 38, 51],
    "five bits, two bands agree": [0, 1, 2, 3, 4],
}


def _brute(hashes, queries, max_distance=NEAR_DUPLICATE_BITS):
    h = np.asarray(hashes, dtype=np.uint64)
    q = np.asarray(queries, dtype=np.uint64)
    return (np.bitwise_count(h[:, None] ^ q[None, :]) <= max_distance).any(axis=1)


def test_the_flags_layout_is_five_bands_that_cover_the_64_bits():
    assert NEAR_DUPLICATE_BITS == 4
    assert PHASH_BANDS == ((0, 12), (12, 13), (25, 13), (38, 13), (51, 13))
    for max_distance in range(1, 12):
        layout = band_layout(max_distance)
        assert len(layout) == max_distance + 1
        assert layout[0][0] == 0 and sum(width for _, width in layout) == 64
        assert all(a + w == b for (a, w), (b, _) in zip(layout, layout[1:], strict=False))


def test_bands_of_signed_and_unsigned_hashes_are_equal():
    unsigned = np.array([0, 1, 2**63, 2**64 - 1, BASE, _flip(BASE, [63])], dtype=np.uint64)
    bands = phash_bands(unsigned)
    assert (phash_bands(unsigned.view(np.int64)) == bands).all()
    assert bands[3].tolist() == [4095, 8191, 8191, 8191, 8191]
    assert bands[2].tolist() == [0, 0, 0, 0, 4096]  # only the sign bit
    for k, (shift, width) in enumerate(PHASH_BANDS):
        assert bands[4, k] == (BASE >> shift) & ((1 << width) - 1)


@pytest.mark.parametrize("case", sorted(NEAR))
def test_hashes_four_bits_apart_are_found_whatever_bands_the_bits_are_in(case):
    other = _flip(BASE, NEAR[case])
    assert bin(BASE ^ other).count("1") == 4
    hashes = np.array([BASE, other], dtype=np.uint64)
    assert near_matches(hashes[1:], hashes[:1]).tolist() == [True]
    assert near_twins(hashes).tolist() == [True, True]
    images = [(1, BASE, {"car": 1}), (2, other, {"truck": 1})]
    assert [(f.images, f.distance) for f in near_duplicate_conflicts(images)] == [((1, 2), 4)]


@pytest.mark.parametrize("case", sorted(FAR))
def test_hashes_five_bits_apart_are_not_near(case):
    other = _flip(BASE, FAR[case])
    assert bin(BASE ^ other).count("1") == 5
    hashes = np.array([BASE, other], dtype=np.uint64)
    assert near_matches(hashes[1:], hashes[:1]).tolist() == [False]
    assert near_twins(hashes).tolist() == [False, False]
    assert near_duplicate_conflicts([(1, BASE, {"car": 1}), (2, other, {"truck": 1})]) == []


def test_near_matches_equal_brute_force():
    rng = np.random.default_rng(11)
    queries = rng.integers(0, 2**63, 30, dtype=np.int64).view(np.uint64)
    hashes = rng.integers(0, 2**63, 600, dtype=np.int64).view(np.uint64)
    for k in range(300):  # flips of 0 to 6 random bits of a query, some twice
        flips = rng.choice(64, int(rng.integers(0, 7)), replace=False)
        hashes[k] = queries[k % 30] ^ np.uint64(sum(1 << int(f) for f in flips))
    for k, bits in enumerate(list(NEAR.values()) + list(FAR.values())):
        hashes[300 + k] = np.uint64(_flip(int(queries[k]), bits))
    assert (near_matches(hashes, queries) == _brute(hashes, queries)).all()
    assert (near_matches(hashes, queries, 2) == _brute(hashes, queries, 2)).all()
    assert not near_matches(hashes, queries[:0]).any()


def test_near_twins_and_conflicts_equal_brute_force_on_threshold_hashes():
    variants = [BASE] + [_flip(BASE, bits) for bits in list(NEAR.values()) + list(FAR.values())]
    hashes = np.array(variants, dtype=np.uint64)
    distance = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
    np.fill_diagonal(distance, 64)
    for max_pairs in (1, 1_000_000):
        assert (near_twins(hashes, max_pairs=max_pairs) == (distance <= 4).any(axis=1)).all()
    images = [(k, h, {"car": k}) for k, h in enumerate(variants)]  # every image differs
    found = {f.images: f.distance for f in near_duplicate_conflicts(images)}
    brute = {
        (a, b): int(distance[a, b])
        for a in range(len(variants))
        for b in range(a + 1, len(variants))
        if distance[a, b] <= 4
    }
    assert found == brute
