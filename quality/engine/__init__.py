"""Concord's agreement engine: pure numpy/scipy, no Django.

Per image (simple API)::

    from quality.engine import AgreementParams, LabelSet, assess_image, assess_many

    result = assess_image([
        LabelSet("ann", boxes=np.array([[10, 10, 50, 40]]), labels=["car"]),
        LabelSet("bob", boxes=np.array([[12, 11, 49, 40]]), labels=["truck"]),
    ])
    result.score, result.objects, result.pairs, result.flags

Columnar API (what the pipeline should call; no Python object per box)::

    batch = BoxBatch.from_arrays(
        image, labeler, xywh, label,            # one row per box, flat arrays
        labeler_names=names, label_names=classes, n_images=n,
        label_sets=(set_image, set_labeler),    # every submitted label set, empty ones too
    )
    result = assess_batch(batch, AgreementParams())   # BatchAssessment

``BatchAssessment`` holds flat arrays (documented on the class): ``image_score``; per box row
``box_object``; per object ``object_image``, ``object_label`` (-1 on a tie), ``object_xywh``,
``object_support``, ``object_label_confidence``, ``object_mean_iou``, ``object_consensus`` and
the CSR ``object_member_ptr``/``object_member_rows``; per labeler pair ``pair_image``,
``pair_labeler_a``/``_b`` (codes into ``batch.labeler_names``), ``pair_matched``, ``pair_f1``,
``pair_mean_iou``; per flag ``flag_image``, ``flag_kind`` (index into FLAG_KINDS),
``flag_value``, ``flag_labeler_mask`` (``flag_labeler_codes()`` decodes it for all flags),
``flag_deviating_mask`` (the labelers in the minority; ``flag_labeler_codes(deviating=True)``)
and the CSR ``flag_box_ptr``/``flag_box_rows``. Box rows index the BoxBatch rows. Each
kind of row is sorted by image and ``*_image_ptr`` slices it per image. ``result[i]`` is the
ImageAssessment view of image i; ``result.flag(f)`` builds one Flag, formatting its message
only then (messages are lazy).

Project level: ``kalpha``, ``vitality``, ``alpha_sweep`` (K-alpha of Tschirschwitz et al. 2022),
``class_confusion``, ``agreement_with_reference``, and ``near_duplicate_conflicts`` across images.
"""

from .api import assess_image, assess_many
from .batch import BoxBatch
from .core import assess_batch
from .kalpha import KAlpha, alpha_sweep, kalpha, vitality
from .near_duplicates import near_duplicate_conflicts
from .reports import agreement_with_reference, class_confusion
from .results import BatchAssessment, ImageAssessment
from .types import (
    FLAG_KINDS,
    AgreementParams,
    ConsensusObject,
    Flag,
    LabelSet,
    PairAgreement,
)

# Stored with every result; bump when a change can alter scores, objects or flags.
ENGINE_VERSION = "1.3.0"

__all__ = [
    "ENGINE_VERSION",
    "FLAG_KINDS",
    "AgreementParams",
    "BatchAssessment",
    "BoxBatch",
    "ConsensusObject",
    "Flag",
    "ImageAssessment",
    "KAlpha",
    "LabelSet",
    "PairAgreement",
    "agreement_with_reference",
    "alpha_sweep",
    "assess_batch",
    "assess_image",
    "assess_many",
    "class_confusion",
    "kalpha",
    "near_duplicate_conflicts",
    "vitality",
]
