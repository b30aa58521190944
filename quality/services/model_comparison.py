"""A model's predictions compared with the consensus, stored: its flags and per-class counts.

Models are raters of their own kind (Annotation kind=model): never a labeler, so never in the
engine's input, consensus, K-alpha or anyone's figures. Once an image's consensus is stored,
each model's predictions on it are compared with it (quality.engine.model_compare) and the
result kept in step: ``model_disagrees`` flags (through flags_sync, under their own kind, with
no labeler involved) and ModelComparison rows, which the report adds up per class.

Called by the assessment of changed images (quality.services.assessment, in its transaction)
and after predictions are imported (imports.services), whose labels did not change.
"""

from __future__ import annotations

import hashlib

import numpy as np
from django.contrib.auth import get_user_model

from annotations.models import Annotation, Box
from projects.models import LabelClass, Project
from quality.dbcopy import rows_insert
from quality.engine.model_compare import TIE, compare_with_consensus, comparison_counts
from quality.models import ConsensusBox, Flag, ImageAgreement, ModelComparison
from quality.services.flags import FlagSpec, flags_sync

KIND = Flag.Kind.MODEL_DISAGREES
COUNT_FIELDS = ["consensus", "predicted", "agreed", "other_class", "unboxed"]


def model_comparisons_refresh(
    *, project_id: int, image_ids: list[int], all_assessed: bool = False
) -> set[int]:
    """Compare the models' predictions on these images with their stored consensus.

    Call after the images' consensus was stored, in the same transaction. Images not assessed
    (no ImageAgreement; ``all_assessed``: the caller is storing theirs) lose their model flags
    and counts. Returns the ids of images whose open
    flags changed (the caller refreshes their open flag counts). Three short queries when the
    images have no prediction and never had a model flag.
    """
    image_ids = list(image_ids)
    runs = list(
        Annotation.objects.filter(
            image_id__in=image_ids,
            kind=Annotation.Kind.MODEL,
            status=Annotation.Status.SUBMITTED,
        ).values_list("labeler_id", "image_id")
    )  # the images each model ran on (with or without boxes)
    predictions = list(
        Box.objects.filter(
            annotation__image_id__in=image_ids,
            annotation__kind=Annotation.Kind.MODEL,
            annotation__status=Annotation.Status.SUBMITTED,
        )
        .order_by("id")
        .values_list(
            "id", "annotation__image_id", "annotation__labeler_id", "label_class_id",
            "x", "y", "width", "height", "score",
        )
    )  # fmt: skip
    if not runs:
        ModelComparison.objects.filter(image_id__in=image_ids).delete()
        live = Flag.objects.filter(image_id__in=image_ids, kind=KIND).exclude(
            status=Flag.Status.SUPERSEDED
        )
        if not live.exists():
            return set()
        return flags_sync(project_id=project_id, image_ids=image_ids, kinds=[KIND], specs=[])
    assessed = (
        set(image_ids)
        if all_assessed
        else set(
            ImageAgreement.objects.filter(image_id__in=image_ids).values_list("image_id", flat=True)
        )
    )
    project = Project.objects.only("match_iou").get(pk=project_id)
    consensus = list(
        ConsensusBox.objects.filter(image_id__in=assessed)
        .order_by("image_id", "index")
        .values_list("image_id", "label_class_id", "x", "y", "width", "height")
    )
    labeled = list(
        Box.objects.filter(
            annotation__image_id__in=assessed,
            annotation__kind=Annotation.Kind.LABEL,
            annotation__status=Annotation.Status.SUBMITTED,
        )
        .order_by("id")
        .values_list("annotation__image_id", "x", "y", "width", "height")
    )
    names = dict(LabelClass.objects.filter(project_id=project_id).values_list("pk", "name"))
    models = dict(
        get_user_model()
        .objects.filter(pk__in={model_id for model_id, _ in runs})
        .values_list("pk", "username")
    )
    c_image = np.array([r[0] for r in consensus], dtype=np.int64)
    c_label = np.array([TIE if r[1] is None else r[1] for r in consensus], dtype=np.int64)
    c_xywh = np.array([r[2:] for r in consensus], dtype=np.float64).reshape(-1, 4)
    l_image = np.array([r[0] for r in labeled], dtype=np.int64)
    l_xywh = np.array([r[1:] for r in labeled], dtype=np.float64).reshape(-1, 4)

    specs: list[FlagSpec] = []
    rows: list[tuple] = []
    for model_id in sorted(models):
        ran = {image_id for m, image_id in runs if m == model_id} & assessed
        if not ran:
            continue
        mine = [r for r in predictions if r[2] == model_id and r[1] in ran]
        seen = np.isin(c_image, list(ran))
        p_image = np.array([r[1] for r in mine], dtype=np.int64)
        p_label = np.array([r[3] for r in mine], dtype=np.int64)
        p_xywh = np.array([r[4:8] for r in mine], dtype=np.float64)
        p_score = np.array([1.0 if r[8] is None else r[8] for r in mine], dtype=np.float64)
        result = compare_with_consensus(
            consensus_image=np.where(seen, c_image, -1),
            consensus_xywh=c_xywh,
            consensus_label=c_label,
            labeler_image=l_image,
            labeler_xywh=l_xywh,
            pred_image=p_image,
            pred_xywh=p_xywh,
            pred_label=p_label,
            pred_score=p_score,
            match_iou=project.match_iou,
        )
        model = models[model_id]
        for p in result.unboxed.tolist():
            box_id, image_id, _, class_id, *_ = mine[p]
            specs.append(
                FlagSpec(
                    image_id=image_id,
                    other_image_id=None,
                    kind=KIND,
                    key=f"{KIND}:u:b{box_id}",
                    labeler_ids=[],
                    box_ids=[box_id],
                    label_class_id=class_id,
                    message=f"Model {model} found {_a(names[class_id])} (score "
                    f"{p_score[p]:.2f}) that no labeler boxed",
                )
            )
        for p in result.relabeled.tolist():
            box_id, image_id, _, class_id, *_ = mine[p]
            obj = int(result.pred_object[p])
            agreed = int(c_label[obj])
            where = hashlib.blake2b(c_xywh[obj].round(2).tobytes(), digest_size=4).hexdigest()
            specs.append(
                FlagSpec(
                    image_id=image_id,
                    other_image_id=None,
                    kind=KIND,
                    key=f"{KIND}:c:b{box_id}:{agreed}:{where}",
                    labeler_ids=[],
                    box_ids=[box_id],
                    label_class_id=agreed,
                    message=f"Model {model} calls {names[class_id]} (score {p_score[p]:.2f}) "
                    f"an object the labelers agreed is {_a(names[agreed])}",
                )
            )
        counts = comparison_counts(
            result,
            consensus_image=np.where(seen, c_image, -1),
            consensus_label=c_label,
            pred_image=p_image,
            pred_label=p_label,
        )
        for (image_id, class_id), values in sorted(counts.items()):
            if image_id < 0:
                continue  # consensus of images this model did not run on
            class_or_none = None if class_id == TIE else class_id
            rows.append((project_id, image_id, model_id, class_or_none, *values))
    touched = flags_sync(project_id=project_id, image_ids=image_ids, kinds=[KIND], specs=specs)
    ModelComparison.objects.filter(image_id__in=image_ids).delete()
    rows_insert(
        ModelComparison,
        ["project_id", "image_id", "model_id", "label_class_id", *COUNT_FIELDS],
        rows,
    )
    return touched


def model_comparisons_forget(*, image_ids: list[int]) -> None:
    """Drop the counts of images that lost their assessment (their flags are retired with it)."""
    ModelComparison.objects.filter(image_id__in=image_ids).delete()


def _a(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
