"""The per-image entry points: assess_image and assess_many."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .batch import BoxBatch
from .core import assess_batch
from .results import BatchAssessment, ImageAssessment
from .types import AgreementParams, LabelSet


def assess_many(
    images: Iterable[Sequence[LabelSet]], params: AgreementParams | None = None
) -> BatchAssessment:
    """Assess many images in one batched pass; returns one ImageAssessment per image.

    The result is a BatchAssessment: a sequence of ImageAssessment views (index it, iterate it,
    ``list()`` it) that also exposes the columnar arrays. Raises ValueError naming the box and
    labeler at fault for bad input.
    """
    return assess_batch(BoxBatch.from_label_sets(images), params)


def assess_image(
    label_sets: Sequence[LabelSet], params: AgreementParams | None = None
) -> ImageAssessment:
    """Assess one image: match the labelers' boxes, score their agreement, flag the rest."""
    return assess_many([label_sets], params)[0]
