"""Plain value types that go in and out of the engine."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

FLAG_KINDS = (
    "label_conflict",
    "missing",
    "low_overlap",
    "grouping",
    "duplicate",
    "near_duplicate_conflict",
)
LABEL_CONFLICT, MISSING, LOW_OVERLAP, GROUPING, DUPLICATE, NEAR_DUPLICATE_CONFLICT = range(6)


@dataclass(frozen=True, slots=True)
class LabelSet:
    """One labeler's boxes for one image.

    ``boxes`` is an (n, 4) array of x, y, width, height in pixels (COCO order) and ``labels`` one
    hashable class per box. An empty label set (the labeler drew nothing) is valid. The shape and
    the lengths are checked here; values (NaN, non-positive sizes) are checked, for the whole
    batch at once, when the engine runs.
    """

    labeler: str
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    labels: Sequence[Hashable] = ()

    def __post_init__(self) -> None:
        try:
            boxes = np.asarray(self.boxes, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"boxes of labeler {self.labeler!r} are not numbers: {exc}") from None
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(
                f"boxes of labeler {self.labeler!r} must have shape (n, 4) as x, y, width, "
                f"height; got shape {boxes.shape}"
            )
        # C-contiguous, so the engine can join many label sets' boxes in one copy.
        boxes = np.ascontiguousarray(boxes)
        labels = tuple(self.labels)
        if len(labels) != len(boxes):
            raise ValueError(
                f"labeler {self.labeler!r} has {len(boxes)} boxes but {len(labels)} labels"
            )
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "labels", labels)


@dataclass(frozen=True, slots=True)
class AgreementParams:
    """Thresholds of the agreement engine.

    ``match_iou``: two boxes of different labelers are the same object when IoU >= it.
    ``low_iou``: boxes of one object whose IoU is below it are a localisation disagreement.
    ``group_cover``: share of a small box's area inside a big one for the grouping check.
    ``quorum``: labelers needed for an object to count as consensus; None means a majority.
    ``loose_iou``: boxes of one class from different labelers that overlap at least this much
    (but under match_iou), where neither labeler boxed the object otherwise, are one object
    boxed loosely (a ``low_overlap``), not two objects each missed by the other. At or above
    ``match_iou`` it does nothing.
    """

    match_iou: float = 0.5
    low_iou: float = 0.75
    group_cover: float = 0.8
    quorum: int | None = None
    loose_iou: float = 0.3

    def __post_init__(self) -> None:
        for name in ("match_iou", "low_iou", "group_cover", "loose_iou"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value!r}")
        if self.quorum is not None and self.quorum < 1:
            raise ValueError(f"quorum must be at least 1, got {self.quorum!r}")

    def quorum_for(self, n_labelers: np.ndarray) -> np.ndarray:
        """Labelers needed for consensus, per image with ``n_labelers`` labelers."""
        if self.quorum is None:
            return n_labelers // 2 + 1
        return np.full_like(n_labelers, self.quorum)


class ConsensusObject(NamedTuple):
    """One object as the labelers saw it: at most one box per labeler."""

    members: dict[str, int]  # labeler -> index of their box in their LabelSet
    label: Hashable | None  # majority class; None on a tie
    box: tuple[float, float, float, float]  # mean of the members' boxes, x, y, w, h
    support: float  # share of the image's labelers who boxed it
    label_confidence: float  # share of members who gave the majority class
    mean_iou: float | None  # mean pairwise IoU of the members; None for a single box
    consensus: bool  # boxed by at least the quorum


class PairAgreement(NamedTuple):
    """Agreement of two labelers on one image."""

    labeler_a: str
    labeler_b: str
    matched: int  # objects both boxed
    f1: float  # IoU-weighted F1 (a matched pair counts its IoU when the classes agree, else 0)
    mean_iou: float | None  # over the matched objects; None when nothing matched


class Flag(NamedTuple):
    """One inconsistency, in words a project lead understands."""

    kind: str
    labelers: tuple[str, ...]  # everyone involved, including whoever missed the object
    boxes: tuple[tuple[str, int], ...]  # (labeler, index of the box in their LabelSet)
    message: str
    # The labelers in the minority: who missed the object (or boxed what the others did not),
    # drew the odd class, the loose box, the group box, or the same object twice. Empty when
    # the labelers split evenly (no majority, e.g. two labelers who disagree).
    deviating: tuple[str, ...] = ()
