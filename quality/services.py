"""Services of the agreement pipeline: run the engine on stored labels and save its results.

Writes are keyed so that running a service twice (a retry, a duplicate delivery) changes
nothing: an image whose label sets, parameters and engine version are unchanged (same
``input_digest``) is skipped, and a flag is identified by its kind and the boxes (and missing
labelers) it involves, so a recompute that finds the same disagreement keeps the same row and
the lead's resolution. Recompute runs are in services_runs, project figures in services_summary.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from quality.bulk import BULK_BATCH, results_commit_async, rows_insert
from quality.engine import (
    ENGINE_VERSION,
    FLAG_KINDS,
    BatchAssessment,
    assess_batch,
    near_duplicate_conflicts,
)
from quality.models import AgreementRun, ConsensusBox, Flag, ImageAgreement
from quality.selectors import (
    ImageLabels,
    images_labels,
    near_duplicate_candidates,
    params_as_dict,
    stored_digests,
)
from quality.services_flags import FlagSpec, flags_sync, image_flags_settle


def image_assess(*, image_id: int) -> None:
    """Assess one image (after a submit or an edit) and refresh its near-duplicate conflicts."""
    images_refresh(image_ids=[image_id])


def images_refresh(*, image_ids, touch: bool = False) -> None:
    """Assess these images and refresh their near-duplicate conflicts (a submit, the sweep).

    ``touch``: also stamp ``computed_at`` on images found unchanged, so that the sweep, which
    picks images whose labels changed after they were assessed, does not pick them again.
    """
    images_assess(image_ids=image_ids, touch=touch)
    images_near_duplicates_refresh(image_ids=image_ids)


def images_assess(*, image_ids, touch: bool = False) -> list[tuple[ImageLabels, BatchAssessment]]:
    """Assess these images and store agreement, consensus and flags.

    Complete images whose digest changed are (re)assessed; unchanged ones are not written
    again; images no longer complete lose their stored results (settled flags become
    superseded). Each project's images are written in one transaction. Returns, per project,
    the labels read and the engine's result (for summaries). ``touch``: see images_refresh.
    """
    return [
        (labels, _labels_assess(labels, touch=touch))
        for labels in images_labels(image_ids=image_ids)
    ]


@transaction.atomic
def _labels_assess(labels: ImageLabels, *, touch: bool = False) -> BatchAssessment:
    results_commit_async()
    stored = stored_digests(image_ids=labels.image_ids.tolist())
    ids = labels.image_ids.tolist()
    changed = [
        i for i, pk in enumerate(ids) if labels.complete[i] and stored.get(pk) != labels.digests[i]
    ]
    withdrawn = [pk for i, pk in enumerate(ids) if not labels.complete[i] and pk in stored]
    if withdrawn:
        images_unassess(image_ids=withdrawn)
    if touch:
        redone = set(changed)
        current = [pk for i, pk in enumerate(ids) if labels.complete[i] and i not in redone]
        ImageAgreement.objects.filter(image_id__in=current).update(computed_at=timezone.now())
    result = assess_batch(labels.batch, labels.params)
    if not changed:
        return result
    changed_ids = [ids[i] for i in changed]
    flags_sync(
        project_id=labels.project.pk,
        image_ids=changed_ids,
        kinds=[k for k in FLAG_KINDS if k != Flag.Kind.NEAR_DUPLICATE_CONFLICT],
        specs=_flag_specs(labels, result, changed),
    )
    ConsensusBox.objects.filter(image_id__in=changed_ids).delete()
    rows_insert(ConsensusBox, CONSENSUS_FIELDS, _consensus_rows(labels, result, changed))
    open_counts = _open_flag_counts(changed_ids)
    now = timezone.now()
    params = params_as_dict(labels.params)
    consensus = np.bincount(
        result.object_image[result.object_consensus.astype(bool)], minlength=len(ids)
    )
    sets = np.bincount(labels.batch.set_image, minlength=len(ids))
    # Replaced rather than updated: one DELETE and one COPY/INSERT, whatever the chunk size.
    ImageAgreement.objects.filter(image_id__in=changed_ids).delete()
    rows_insert(
        ImageAgreement,
        AGREEMENT_FIELDS,
        [
            (
                ids[i],
                float(result.image_score[i]),
                int(sets[i]),
                int(consensus[i]),
                open_counts.get(ids[i], 0),
                params,
                ENGINE_VERSION,
                labels.digests[i],
                now,
            )
            for i in changed
        ],
    )
    return result


@transaction.atomic
def images_unassess(*, image_ids: list[int]) -> None:
    """Forget the results of images that are no longer complete (a submission was withdrawn)."""
    image_flags_settle(image_ids=image_ids, keep=())
    ConsensusBox.objects.filter(image_id__in=image_ids).delete()
    ImageAgreement.objects.filter(image_id__in=image_ids).delete()


def _flag_specs(labels: ImageLabels, result, images: list[int]) -> list[FlagSpec]:
    batch = labels.batch
    ids = labels.image_ids
    specs = []
    for i in images:
        start, end = result.flag_image_ptr[i], result.flag_image_ptr[i + 1]
        set_start = result.set_image_ptr[i]
        set_users = [
            labels.labeler_id(c)
            for c in batch.set_labeler[set_start : result.set_image_ptr[i + 1]].tolist()
        ]
        for f in range(start, end):
            rows = result.flag_rows(f)
            box_ids = sorted(labels.box_ids[batch.box_ref[rows]].tolist())
            mask = int(result.flag_labeler_mask[f])
            involved = [u for k, u in enumerate(set_users) if mask >> k & 1]
            owners = {set_users[s - set_start] for s in batch.box_set[rows].tolist()}
            missing = sorted(set(involved) - owners)
            obj = int(result.box_object[rows[0]]) if len(rows) else -1
            code = int(result.object_label[obj]) if obj >= 0 else -1
            if code < 0 and len(rows):
                code = int(batch.label[rows[0]])
            kind = FLAG_KINDS[int(result.flag_kind[f])]
            key = f"{kind}:b{','.join(map(str, box_ids))}"
            if missing:
                key += f":m{','.join(map(str, missing))}"
            content = np.ascontiguousarray(
                np.column_stack([batch.xywh[rows], batch.label[rows]])[np.argsort(rows)]
            )
            key += ":" + hashlib.blake2b(content.tobytes(), digest_size=4).hexdigest()
            specs.append(
                FlagSpec(
                    image_id=int(ids[i]),
                    other_image_id=None,
                    kind=kind,
                    key=key,
                    labeler_ids=involved,
                    box_ids=box_ids,
                    label_class_id=labels.class_ids[batch.label_names[code]] if code >= 0 else None,
                    message=result.flag(f).message,
                )
            )
    return specs


CONSENSUS_FIELDS = [
    "image_id",
    "index",
    "label_class_id",
    "x",
    "y",
    "width",
    "height",
    "support",
    "label_confidence",
    "mean_iou",
]
AGREEMENT_FIELDS = [
    "image_id",
    "score",
    "labeler_count",
    "object_count",
    "open_flag_count",
    "params",
    "engine_version",
    "input_digest",
    "computed_at",
]


def _consensus_rows(labels: ImageLabels, result, images: list[int]) -> list[tuple]:
    names = labels.batch.label_names
    class_of_code = [labels.class_ids[name] for name in names]
    rows = []
    for i in images:
        image_id = int(labels.image_ids[i])
        start, end = int(result.object_image_ptr[i]), int(result.object_image_ptr[i + 1])
        for o in range(start, end):
            if not result.object_consensus[o]:
                continue
            code = int(result.object_label[o])
            x, y, w, h = result.object_xywh[o].tolist()
            mean_iou = float(result.object_mean_iou[o])
            rows.append(
                (
                    image_id,
                    o - start,
                    class_of_code[code] if code >= 0 else None,
                    x,
                    y,
                    w,
                    h,
                    float(result.object_support[o]),
                    float(result.object_label_confidence[o]),
                    # One box alone has no pairwise IoU; 0 rather than NaN (not portable).
                    0.0 if math.isnan(mean_iou) else mean_iou,
                )
            )
    return rows


def _open_flag_counts(image_ids: list[int]) -> dict[int, int]:
    return dict(
        Flag.objects.filter(image_id__in=image_ids, status=Flag.Status.OPEN)
        .values("image_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("image_id", "n")
    )


def image_open_flag_counts_refresh(*, image_ids: list[int]) -> None:
    counts = _open_flag_counts(image_ids)
    rows = list(ImageAgreement.objects.filter(image_id__in=image_ids).only("pk", "image_id"))
    for row in rows:
        row.open_flag_count = counts.get(row.image_id, 0)
    ImageAgreement.objects.bulk_update(rows, ["open_flag_count"], batch_size=BULK_BATCH)


@transaction.atomic
def images_near_duplicates_refresh(*, image_ids) -> None:
    """Near-duplicate conflicts of these images against the rest of their projects."""
    for project_id, targets, items in near_duplicate_candidates(image_ids=image_ids):
        wanted = set(targets)
        found = [f for f in near_duplicate_conflicts(items) if wanted.intersection(f.images)]
        near_duplicates_store(project_id=project_id, image_ids=targets, found=found, items=items)


def near_duplicates_store(*, project_id: int, image_ids, found, items) -> None:
    """Sync near-duplicate flags touching ``image_ids`` (None: the whole project) to ``found``."""
    counts = {key: c for key, _, c in items}
    specs = []
    for flag in found:
        a, b = sorted(flag.images)
        content = repr((sorted(counts[a].items()), sorted(counts[b].items()))).encode()
        digest = hashlib.blake2b(content, digest_size=4).hexdigest()
        specs.append(
            FlagSpec(
                image_id=a,
                other_image_id=b,
                kind=Flag.Kind.NEAR_DUPLICATE_CONFLICT,
                key=f"{Flag.Kind.NEAR_DUPLICATE_CONFLICT}:i{b}:{digest}",
                labeler_ids=[],
                box_ids=[],
                label_class_id=None,
                message=flag.message,
            )
        )
    touched = flags_sync(
        project_id=project_id,
        image_ids=None if image_ids is None else list(image_ids),
        kinds=[Flag.Kind.NEAR_DUPLICATE_CONFLICT],
        specs=specs,
        include_other_image=True,
    )
    image_open_flag_counts_refresh(image_ids=sorted(touched))


def project_recompute_start(*, project, requested_by=None, reason: str = "") -> AgreementRun:
    """Start a full recompute of the project (thresholds changed, engine upgraded, or asked).

    Call it inside the transaction that changed the thresholds: the run's chunks are enqueued
    on commit. Returns the AgreementRun whose done/total the pages show as progress.
    """
    from quality.services_runs import run_start

    return run_start(project=project, requested_by=requested_by, reason=reason)
