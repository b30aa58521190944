"""BoxBatch: the columnar input of the engine (flat arrays for many images at once)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, count
from operator import attrgetter

import numpy as np

from .types import LabelSet

_get_labeler = attrgetter("labeler")
_get_labels = attrgetter("labels")
_get_boxes = attrgetter("boxes")

# Bit masks of labelers per image are int64, so one image holds at most this many label sets.
MAX_LABELERS_PER_IMAGE = 62


@dataclass(frozen=True, eq=False)
class BoxBatch:
    """Boxes of many images as flat arrays; build it with ``from_arrays`` or ``from_label_sets``.

    A *label set* is one labeler's work on one image (possibly no boxes). Label sets are sorted
    by image, then by labeler name; labeler codes are ranks of the sorted names, so every
    ordering inside the engine is independent of the order the caller passed things in.

    Per label set (``S`` of them): ``set_image``, ``set_labeler``.
    Per box (``N``, in the caller's row order): ``box_set`` (index of its label set), ``xywh``,
    ``label`` (code into ``label_names``) and ``box_ref`` (what the box is called in results:
    its index inside its LabelSet, or the caller's row number for ``from_arrays``).
    """

    n_images: int
    labeler_names: tuple[str, ...]
    label_names: tuple[Hashable, ...]
    set_image: np.ndarray
    set_labeler: np.ndarray
    box_set: np.ndarray
    xywh: np.ndarray
    label: np.ndarray
    box_ref: np.ndarray

    @property
    def n_boxes(self) -> int:
        return len(self.label)

    @classmethod
    def from_arrays(
        cls,
        image: np.ndarray,
        labeler: np.ndarray,
        xywh: np.ndarray,
        label: np.ndarray,
        *,
        labeler_names: Sequence[str],
        label_names: Sequence[Hashable] | None = None,
        n_images: int | None = None,
        label_sets: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> BoxBatch:
        """Columnar constructor for callers that already hold flat arrays (one SQL query).

        ``image``: image index 0..n_images-1 per box; ``labeler``: code into ``labeler_names``;
        ``xywh``: (N, 4) floats; ``label``: code into ``label_names`` (None: the codes name
        themselves). ``label_sets``: (image, labeler) arrays of every submitted label set,
        including those with no boxes; without it only labelers who drew a box take part,
        so pass it whenever a labeler may have drawn nothing. Results name boxes by row number.
        """
        image = np.asarray(image, dtype=np.int64).reshape(-1)
        labeler = np.asarray(labeler, dtype=np.int64).reshape(-1)
        label = np.asarray(label, dtype=np.int64).reshape(-1)
        xywh = np.asarray(xywh, dtype=np.float64)
        if xywh.size == 0:
            xywh = xywh.reshape(0, 4)
        if xywh.ndim != 2 or xywh.shape[1] != 4:
            raise ValueError(f"xywh must have shape (n, 4), got {xywh.shape}")
        n = len(xywh)
        if not len(image) == len(labeler) == len(label) == n:
            raise ValueError(
                f"image, labeler, xywh and label differ in length: "
                f"{len(image)}, {len(labeler)}, {n}, {len(label)}"
            )
        names = tuple(labeler_names)
        if n_images is None:
            n_images = int(image.max()) + 1 if n else 0
        if label_names is None:
            label_names = tuple(range(int(label.max()) + 1 if n else 0))
        label_names = tuple(label_names)
        _check_codes("labeler", labeler, len(names))
        _check_codes("label", label, len(label_names))
        _check_codes("image", image, n_images)
        if label_sets is None:
            set_image, set_labeler = image, labeler
        else:
            set_image = np.asarray(label_sets[0], dtype=np.int64).reshape(-1)
            set_labeler = np.asarray(label_sets[1], dtype=np.int64).reshape(-1)
            _check_codes("labeler", set_labeler, len(names))
            _check_codes("image", set_image, n_images)
        keys = np.unique(set_image * max(len(names), 1) + set_labeler)
        box_keys = image * max(len(names), 1) + labeler
        box_set = np.searchsorted(keys, box_keys)
        inside = box_set < len(keys)
        ok = inside.copy()
        ok[inside] = keys[box_set[inside]] == box_keys[inside]
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise ValueError(
                f"box {row} of labeler {names[labeler[row]]!r} in image {image[row]} "
                f"belongs to no label set in label_sets"
            )
        width = max(len(names), 1)
        return _normalised(
            n_images,
            names,
            label_names,
            keys // width,
            keys % width,
            box_set,
            xywh,
            label,
            np.arange(n, dtype=np.int64),
            unique_sets=True,
        )

    @classmethod
    def from_label_sets(cls, images: Iterable[Sequence[LabelSet]]) -> BoxBatch:
        """Flatten per-image LabelSets; results name boxes by their index in their LabelSet.

        The only work per box outside numpy is one dict lookup per label (classes are
        arbitrary hashables); boxes are joined straight from the LabelSets' buffers.
        Everything per label set is a C-level map; values are validated for the whole batch.
        """
        images = images if isinstance(images, list | tuple) else list(images)
        sets_per_image = list(map(len, images))
        flat = list(chain.from_iterable(images))
        names = list(map(_get_labeler, flat))
        codes = {name: code for code, name in enumerate(dict.fromkeys(names))}
        set_labeler = np.fromiter(map(codes.__getitem__, names), dtype=np.int64, count=len(flat))
        per_set_labels = list(map(_get_labels, flat))
        sizes = np.array(list(map(len, per_set_labels)), dtype=np.int64)
        n = int(sizes.sum())
        # One pass over the labels: codes in order of first appearance, renumbered afterwards
        # into sorted order (so codes do not depend on the order boxes came in).
        first_seen: defaultdict[Hashable, int] = defaultdict(count().__next__)
        seen_code = np.fromiter(
            map(first_seen.__getitem__, chain.from_iterable(per_set_labels)),
            dtype=np.int64,
            count=n,
        )
        label_names = _sorted_labels(first_seen)
        rank = np.empty(len(label_names), dtype=np.int64)
        rank[[first_seen[name] for name in label_names]] = np.arange(len(label_names))
        label = rank[seen_code]
        xywh = _join_boxes(list(map(_get_boxes, flat)), sizes, names)
        n_sets = len(sizes)
        box_set = np.repeat(np.arange(n_sets, dtype=np.int64), sizes)
        box_ref = np.arange(n, dtype=np.int64) - (np.cumsum(sizes) - sizes).take(box_set)
        set_image = np.repeat(np.arange(len(images), dtype=np.int64), sets_per_image)
        return _normalised(
            len(images),
            tuple(codes),
            label_names,
            set_image,
            set_labeler,
            box_set,
            xywh,
            label,
            box_ref,
            unique_sets=False,
        )


def _join_boxes(arrays: list, sizes: np.ndarray, labelers: list[str]) -> np.ndarray:
    """The LabelSets' (k, 4) float64 arrays as one (n, 4) array, in one copy.

    ``bytes.join`` reads each array through the buffer protocol, which costs far less per
    array than ``np.concatenate`` on many tiny arrays. LabelSet keeps its boxes C-contiguous
    float64; anything else (a non-contiguous view, a list) takes the slower, general path.
    """
    try:
        joined = b"".join(arrays)
    except (BufferError, TypeError):
        joined = b"".join([np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in arrays])
    n = int(sizes.sum())
    if len(joined) != 32 * n:  # only if a label set changed after LabelSet checked it
        for boxes, k, labeler in zip(arrays, sizes.tolist(), labelers, strict=True):
            if np.shape(boxes) != (k, 4):
                raise ValueError(
                    f"labeler {labeler!r} has boxes of shape {np.shape(boxes)} for {k} labels"
                )
    return np.frombuffer(joined, dtype=np.float64).reshape(n, 4)


def _sorted_labels(labels: Iterable[Hashable]) -> tuple[Hashable, ...]:
    """Classes in a fixed order (so results do not depend on the order boxes came in)."""
    labels = list(labels)
    try:
        return tuple(sorted(labels))
    except TypeError:
        return tuple(sorted(labels, key=lambda v: (type(v).__name__, repr(v))))


def _check_codes(what: str, codes: np.ndarray, n: int) -> None:
    bad = (codes < 0) | (codes >= n)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} code {codes[row]} at row {row} is out of range 0..{n - 1}")


def _normalised(
    n_images: int,
    labeler_names: tuple[str, ...],
    label_names: tuple[Hashable, ...],
    set_image: np.ndarray,
    set_labeler: np.ndarray,
    box_set: np.ndarray,
    xywh: np.ndarray,
    label: np.ndarray,
    box_ref: np.ndarray,
    *,
    unique_sets: bool,
) -> BoxBatch:
    """Sort labelers by name and label sets by (image, labeler); validate the box values."""
    order = sorted(range(len(labeler_names)), key=labeler_names.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    sorted_names = tuple(labeler_names[i] for i in order)
    set_labeler = rank[set_labeler] if len(set_labeler) else set_labeler
    width = max(len(sorted_names), 1)
    set_key = set_image * width + set_labeler
    # Callers often pass labelers in name order already: then nothing moves (and strictly
    # increasing keys also prove that no labeler has two label sets in one image).
    if not (set_key[1:] > set_key[:-1]).all():
        set_order = np.argsort(set_key, kind="stable")
        if not unique_sets:
            sorted_key = set_key[set_order]
            dup = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
            if len(dup):
                k = sorted_key[dup[0]]
                raise ValueError(
                    f"labeler {sorted_names[k % width]!r} has two label sets in image {k // width}"
                )
        new_set = np.empty_like(set_order)
        new_set[set_order] = np.arange(len(set_order))
        set_image = set_image[set_order]
        set_labeler = set_labeler[set_order]
        box_set = new_set[box_set] if len(box_set) else box_set
    counts = np.bincount(set_image, minlength=n_images) if len(set_image) else np.zeros(0, int)
    if len(counts) and counts.max() > MAX_LABELERS_PER_IMAGE:
        image = int(np.argmax(counts))
        raise ValueError(
            f"image {image} has {counts[image]} label sets; at most "
            f"{MAX_LABELERS_PER_IMAGE} are supported"
        )
    batch = BoxBatch(
        n_images=n_images,
        labeler_names=sorted_names,
        label_names=label_names,
        set_image=set_image,
        set_labeler=set_labeler,
        box_set=box_set,
        xywh=xywh,
        label=label,
        box_ref=box_ref,
    )
    _validate_values(batch)
    return batch


def _validate_values(batch: BoxBatch) -> None:
    """Raise ValueError naming the first bad box: non-finite values or non-positive sizes."""
    xywh = batch.xywh
    if np.isfinite(xywh).all() and (xywh[:, 2:] > 0).all():
        return
    finite = np.isfinite(xywh).all(axis=1)
    positive = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
    bad = ~(finite & positive)
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    x, y, w, h = (float(v) for v in xywh[row])
    if not finite[row]:
        problem = f"has a non-finite value (x={x}, y={y}, width={w}, height={h})"
    else:
        problem = f"has width {w} and height {h}; both must be positive"
    raise ValueError(f"{describe_box(batch, row)} {problem}")


def describe_box(batch: BoxBatch, row: int) -> str:
    """'box 3 of labeler 'ann' in image 0' for error messages."""
    s = batch.box_set[row]
    name = batch.labeler_names[batch.set_labeler[s]]
    return f"box {batch.box_ref[row]} of labeler {name!r} in image {batch.set_image[s]}"
