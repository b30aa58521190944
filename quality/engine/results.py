"""Results: BatchAssessment (columnar, for the pipeline) and ImageAssessment (a per-image view)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .batch import BoxBatch
from .messages import flag_message
from .types import FLAG_KINDS, AgreementParams, ConsensusObject, Flag, PairAgreement

if TYPE_CHECKING:
    from .consensus import Objects, Pairs
    from .flags import FlagTable


@dataclass(frozen=True, eq=False)
class BatchAssessment(Sequence):
    """Everything the engine found in a batch, as flat arrays; also a sequence of per-image views.

    Boxes are named by their row in the BoxBatch (``batch.box_ref[row]`` is the name the caller
    knows). Labelers in ``pair_labeler_a/b`` are codes into ``batch.labeler_names``; a flag's
    ``flag_labeler_mask`` has bit k set for the k-th label set of its image (label sets of an
    image are in labeler-name order). Objects, pairs and flags are sorted by image, so
    ``*_image_ptr[i]:*_image_ptr[i + 1]`` is image i's slice.
    """

    batch: BoxBatch
    params: AgreementParams
    image_score: np.ndarray
    box_object: np.ndarray  # per row: object id, or -1 for a duplicate's extra copy
    object_image: np.ndarray
    object_label: np.ndarray  # code into batch.label_names, -1 on a tie
    object_xywh: np.ndarray
    object_support: np.ndarray
    object_label_confidence: np.ndarray
    object_mean_iou: np.ndarray  # NaN for an object with one box
    object_consensus: np.ndarray
    object_member_ptr: np.ndarray
    object_member_rows: np.ndarray  # rows of each object's boxes, in labeler order
    pair_image: np.ndarray
    pair_labeler_a: np.ndarray
    pair_labeler_b: np.ndarray
    pair_matched: np.ndarray
    pair_f1: np.ndarray
    pair_mean_iou: np.ndarray  # NaN when nothing matched
    flag_image: np.ndarray
    flag_kind: np.ndarray  # index into FLAG_KINDS
    flag_value: np.ndarray
    flag_labeler_mask: np.ndarray
    flag_box_ptr: np.ndarray
    flag_box_rows: np.ndarray
    flag_box_roles: np.ndarray  # 1: a grouping flag's big box; a low_overlap flag's outlier
    flag_deviating_mask: np.ndarray  # like flag_labeler_mask: the labelers in the minority
    set_image_ptr: np.ndarray
    object_image_ptr: np.ndarray
    pair_image_ptr: np.ndarray
    flag_image_ptr: np.ndarray

    @classmethod
    def build(
        cls,
        *,
        batch: BoxBatch,
        params: AgreementParams,
        order: np.ndarray,
        obj: np.ndarray,
        objects: Objects,
        pairs: Pairs,
        score: np.ndarray,
        flags: FlagTable,
        set_start: np.ndarray,
    ) -> BatchAssessment:
        """Translate the canonical-order internals into caller rows and labeler codes."""
        n_images = batch.n_images
        box_object = np.empty(len(order), dtype=np.int64)
        box_object[order] = obj
        xyxy = objects.xyxy
        xywh = xyxy.copy()
        xywh[:, 2:] -= xyxy[:, :2]
        pair_start = set_start.take(pairs.image)
        pair_set_a = pair_start + pairs.a
        pair_set_b = pair_start + pairs.b
        images = np.arange(n_images + 1)
        return cls(
            batch=batch,
            params=params,
            image_score=score,
            box_object=box_object,
            object_image=objects.image,
            object_label=objects.label,
            object_xywh=xywh,
            object_support=objects.support,
            object_label_confidence=objects.confidence,
            object_mean_iou=objects.mean_iou,
            object_consensus=objects.consensus,
            object_member_ptr=objects.ptr,
            object_member_rows=order.take(objects.member_box),
            pair_image=pairs.image,
            pair_labeler_a=batch.set_labeler.take(pair_set_a),
            pair_labeler_b=batch.set_labeler.take(pair_set_b),
            pair_matched=pairs.matched,
            pair_f1=pairs.f1,
            pair_mean_iou=pairs.mean_iou,
            flag_image=flags.image,
            flag_kind=flags.kind,
            flag_value=flags.value,
            flag_labeler_mask=flags.labmask,
            flag_box_ptr=flags.box_ptr,
            flag_box_rows=order.take(flags.boxes),
            flag_box_roles=flags.roles,
            flag_deviating_mask=flags.deviating,
            set_image_ptr=np.append(set_start, len(batch.set_image)),
            object_image_ptr=np.searchsorted(objects.image, images),
            pair_image_ptr=np.searchsorted(pairs.image, images),
            flag_image_ptr=np.searchsorted(flags.image, images),
        )

    def __len__(self) -> int:
        return self.batch.n_images

    def __getitem__(self, image):
        if isinstance(image, slice):
            return [ImageAssessment(self, i) for i in range(len(self))[image]]
        if not -len(self) <= image < len(self):
            raise IndexError(image)
        return ImageAssessment(self, image % len(self))

    def __iter__(self):
        return (ImageAssessment(self, i) for i in range(len(self)))

    # Helpers shared by the per-image view and the message formatter.
    def labeler_of_row(self, row: int) -> str:
        b = self.batch
        return b.labeler_names[b.set_labeler[b.box_set[row]]]

    def image_labelers(self, image: int) -> list[str]:
        b = self.batch
        start, end = self.set_image_ptr[image], self.set_image_ptr[image + 1]
        return [b.labeler_names[c] for c in b.set_labeler[start:end].tolist()]

    def flag_labelers(self, flag: int, *, deviating: bool = False) -> tuple[str, ...]:
        names = self.image_labelers(int(self.flag_image[flag]))
        masks = self.flag_deviating_mask if deviating else self.flag_labeler_mask
        mask = int(masks[flag])
        return tuple(name for k, name in enumerate(names) if mask >> k & 1)

    def flag_labeler_codes(self, *, deviating: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """All flags' labelers (or only the deviating ones) at once, as CSR (ptr, codes into
        batch.labeler_names)."""
        n_sets = np.diff(self.set_image_ptr)
        width = int(n_sets.max()) if len(n_sets) else 0
        masks = self.flag_deviating_mask if deviating else self.flag_labeler_mask
        bits = (masks[:, None] >> np.arange(width)[None, :]) & 1
        flag, local = np.nonzero(bits)
        codes = self.batch.set_labeler[self.set_image_ptr[self.flag_image[flag]] + local]
        ptr = np.zeros(len(self.flag_kind) + 1, dtype=np.int64)
        np.cumsum(np.bincount(flag, minlength=len(self.flag_kind)), out=ptr[1:])
        return ptr, codes

    def flag_rows(self, flag: int) -> np.ndarray:
        return self.flag_box_rows[self.flag_box_ptr[flag] : self.flag_box_ptr[flag + 1]]

    def flag(self, flag: int) -> Flag:
        """One flag as a Flag tuple (its message is formatted here, on demand)."""
        b = self.batch
        rows = self.flag_rows(flag).tolist()
        return Flag(
            kind=FLAG_KINDS[self.flag_kind[flag]],
            labelers=self.flag_labelers(flag),
            boxes=tuple((self.labeler_of_row(r), int(b.box_ref[r])) for r in rows),
            message=flag_message(self, flag),
            deviating=self.flag_labelers(flag, deviating=True),
        )

    def label_name(self, code: int):
        return None if code < 0 else self.batch.label_names[code]


class ImageAssessment:
    """Agreement of the labelers on one image: a light view into a BatchAssessment.

    ``score`` is read straight from the batch; ``objects``, ``pairs`` and ``flags`` (with their
    messages) are built when first asked for, so assessing many images stays cheap.
    """

    __slots__ = ("_batch", "_image", "_objects", "_pairs", "_flags")

    def __init__(self, batch: BatchAssessment, image: int) -> None:
        self._batch = batch
        self._image = image
        self._objects = self._pairs = self._flags = None

    @property
    def score(self) -> float:
        return float(self._batch.image_score[self._image])

    @property
    def labelers(self) -> list[str]:
        return self._batch.image_labelers(self._image)

    @property
    def objects(self) -> list[ConsensusObject]:
        if self._objects is None:
            self._objects = self._build_objects()
        return self._objects

    @property
    def pairs(self) -> list[PairAgreement]:
        if self._pairs is None:
            r = self._batch
            names = r.batch.labeler_names
            s = slice(r.pair_image_ptr[self._image], r.pair_image_ptr[self._image + 1])
            self._pairs = [
                PairAgreement(names[a], names[b], m, f1, None if iou != iou else iou)
                for a, b, m, f1, iou in zip(
                    r.pair_labeler_a[s].tolist(),
                    r.pair_labeler_b[s].tolist(),
                    r.pair_matched[s].tolist(),
                    r.pair_f1[s].tolist(),
                    r.pair_mean_iou[s].tolist(),
                    strict=True,
                )
            ]
        return self._pairs

    @property
    def flags(self) -> list[Flag]:
        if self._flags is None:
            r = self._batch
            start, end = r.flag_image_ptr[self._image], r.flag_image_ptr[self._image + 1]
            self._flags = [r.flag(f) for f in range(start, end)]
        return self._flags

    def _build_objects(self) -> list[ConsensusObject]:
        # Slices go through tolist() once per image: numpy scalars one by one cost far more.
        r = self._batch
        b = r.batch
        first, last = r.object_image_ptr[self._image], r.object_image_ptr[self._image + 1]
        ptr = r.object_member_ptr[first : last + 1]
        rows = r.object_member_rows[ptr[0] : ptr[-1]]
        names = [b.labeler_names[c] for c in b.set_labeler[b.box_set[rows]].tolist()]
        refs = b.box_ref[rows].tolist()
        bounds = (ptr - ptr[0]).tolist()
        label_names = b.label_names
        out = []
        for k, (label, box, support, confidence, mean_iou, consensus) in enumerate(
            zip(
                r.object_label[first:last].tolist(),
                r.object_xywh[first:last].tolist(),
                r.object_support[first:last].tolist(),
                r.object_label_confidence[first:last].tolist(),
                r.object_mean_iou[first:last].tolist(),
                r.object_consensus[first:last].tolist(),
                strict=True,
            )
        ):
            lo, hi = bounds[k], bounds[k + 1]
            out.append(
                ConsensusObject(
                    members=dict(zip(names[lo:hi], refs[lo:hi], strict=True)),
                    label=None if label < 0 else label_names[label],
                    box=tuple(box),
                    support=support,
                    label_confidence=confidence,
                    mean_iou=None if mean_iou != mean_iou else mean_iou,
                    consensus=consensus,
                )
            )
        return out

    def as_dict(self) -> dict:
        """Plain data (lists, dicts, floats), e.g. for JSON or comparisons in tests."""
        return {
            "score": self.score,
            "objects": [o._asdict() for o in self.objects],
            "pairs": [p._asdict() for p in self.pairs],
            "flags": [f._asdict() for f in self.flags],
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageAssessment):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<ImageAssessment score={self.score:.3f} objects={len(self.objects)} "
            f"flags={[f.kind for f in self.flags]}>"
        )
