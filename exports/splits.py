"""Train/val/test splits that never separate near-duplicate images.

Images whose perceptual hashes are within NEAR_DUPLICATE_BITS bits of each other (the distance
the near-duplicate flags use, quality.engine.near_duplicates) are joined into one group,
transitively; a group goes to one subset whole, so a model is never validated on a near copy of
a training image. Groups are shuffled with the seed and dealt one by one to the subset furthest
below its share, so the subsets' sizes are the fractions to within the largest group. Images
without a hash are groups of their own. Same images, fractions and seed: the same split.
"""

from dataclasses import dataclass

import numpy as np

from projects.models import Image
from quality.engine.near_duplicates import NEAR_DUPLICATE_BITS, near_twins

# scipy is imported where a split is made: every export imports this module, and scipy would
# add ~40 MB to each export process for nothing.

SUBSETS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitSpec:
    fractions: tuple[float, float, float]  # train, val, test; they sum to 1
    seed: int = 0

    @property
    def subsets(self) -> tuple[str, ...]:
        """The subsets that get images (a zero fraction leaves its subset out)."""
        return tuple(name for name, f in zip(SUBSETS, self.fractions, strict=True) if f > 0)

    def as_query(self) -> dict:
        return {"split": ",".join(f"{f:g}" for f in self.fractions), "split_seed": self.seed}


@dataclass(frozen=True)
class Split:
    subset_of: dict[int, str]  # image id -> subset
    groups_joined: int  # near-duplicate groups of two or more images kept together
    images_in_groups: int

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for subset in self.subset_of.values():
            out[subset] = out.get(subset, 0) + 1
        return out


def near_duplicate_groups(phashes: np.ndarray, max_distance: int | None = None) -> np.ndarray:
    """A group label per hash (uint64): hashes within max_distance bits share one, transitively.

    max_distance defaults to the near-duplicate flags' own (NEAR_DUPLICATE_BITS).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if max_distance is None:
        max_distance = NEAR_DUPLICATE_BITS
    n = len(phashes)
    labels = np.arange(n)
    twins = np.flatnonzero(near_twins(phashes, max_distance))
    if len(twins) < 2:
        return labels
    sub = phashes[twins]
    rows, cols = [], []
    block = max(1, 4_000_000 // len(sub))
    for start in range(0, len(sub), block):
        distance = np.bitwise_count(sub[start : start + block, None] ^ sub[None, :])
        a, b = np.nonzero(distance <= max_distance)
        rows.append(a + start)
        cols.append(b)
    a, b = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(sub), len(sub)))
    _, component = connected_components(graph, directed=False)
    labels[twins] = n + component  # away from the singletons' own labels
    return labels


def split_assign(*, image_ids: list[int], spec: SplitSpec, using: str | None = None) -> Split:
    """Assign each of `image_ids` to a subset (see the module docstring)."""
    if not image_ids:
        return Split({}, 0, 0)
    ids = np.array(sorted(image_ids), dtype=np.int64)
    hashed = dict(
        Image.objects.using(using)
        .filter(pk__in=ids.tolist(), phash__isnull=False)
        .values_list("pk", "phash")
    )
    with_hash = np.array([pk in hashed for pk in ids.tolist()], dtype=bool)
    labels = np.arange(len(ids)) + 2 * len(ids)  # images without a hash: alone
    hashes = np.array([hashed[pk] for pk in ids[with_hash].tolist()], dtype=np.int64)
    labels[with_hash] = near_duplicate_groups(hashes.view(np.uint64))
    # Groups in order of their first image id, then shuffled by the seed.
    _, first, members = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    sizes = np.bincount(members, minlength=len(first))
    shuffled = order[np.random.default_rng(spec.seed).permutation(len(order))]
    targets = np.array(spec.fractions) * len(ids)
    filled = np.zeros(3)
    subset_of_group = np.empty(len(first), dtype=np.int64)
    for group in shuffled.tolist():
        deficit = np.where(targets > 0, targets - filled, -np.inf)
        chosen = int(np.argmax(deficit))
        subset_of_group[group] = chosen
        filled[chosen] += sizes[group]
    subset_index = subset_of_group[members]
    joined = sizes > 1
    return Split(
        {pk: SUBSETS[s] for pk, s in zip(ids.tolist(), subset_index.tolist(), strict=True)},
        groups_joined=int(joined.sum()),
        images_in_groups=int(sizes[joined].sum()),
    )
