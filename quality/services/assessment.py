"""Services of the agreement pipeline: run the engine on stored labels and save its results.

Writes are keyed so that running a service twice (a retry, a duplicate delivery) changes
nothing: an image whose label sets, parameters and engine version are unchanged (same
``input_digest``) is skipped, and a flag is identified by its kind and the boxes (and missing
labelers) it involves, so a recompute that finds the same disagreement keeps the same row and
the lead's resolution. Recompute runs are in services_runs, project figures in services_summary.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

import numpy as np
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from quality.dbcopy import (
    BULK_BATCH,
    arrays_insert,
    is_postgresql,
    pipeline_transaction_settings,
    rows_insert,
)
from quality.engine import (
    ENGINE_VERSION,
    FLAG_KINDS,
    BatchAssessment,
    assess_batch,
    near_duplicate_conflicts,
)
from quality.engine.figures import batch_figures
from quality.engine.flag_keys import flag_identities
from quality.engine.messages import flag_message
from quality.models import ConsensusBox, Flag, ImageAgreement
from quality.selectors.labels import (
    LabelBatch,
    images_labels,
    near_duplicate_candidates,
    params_as_dict,
    stored_digests,
)
from quality.services.figures import (
    AGREEMENT_FIGURE_FIELDS,
    agreement_figure_values,
    figures_delete,
    figures_store,
    image_instruction_versions,
)
from quality.services.flags import FlagSpec, flags_sync, image_flags_retire
from quality.services.habit_evidence import habit_evidence_delete, habit_evidence_store
from quality.services.model_comparison import (
    model_comparisons_forget,
    model_comparisons_refresh,
)


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


def images_assess(*, image_ids, touch: bool = False) -> list[tuple[LabelBatch, BatchAssessment]]:
    """Assess these images and store agreement, consensus and flags.

    Complete images whose digest changed are (re)assessed; unchanged ones are not written
    again; images no longer complete lose their stored results (settled flags become
    superseded). Everything is read and written in one transaction. Returns, per project, the
    labels read and the engine's result (for summaries). ``touch``: see images_refresh.
    """
    with transaction.atomic():
        pipeline_transaction_settings()
        return [
            (labels, _labels_assess(labels, touch=touch))
            for labels in images_labels(image_ids=image_ids)
        ]


ENGINE_FLAG_KINDS = [k for k in FLAG_KINDS if k != Flag.Kind.NEAR_DUPLICATE_CONFLICT]


def _labels_assess(labels: LabelBatch, *, touch: bool = False) -> BatchAssessment:
    ids = labels.image_ids.tolist()
    stored = stored_digests(image_ids=ids)
    changed = np.array(
        [labels.complete[i] and stored.get(pk) != labels.digests[i] for i, pk in enumerate(ids)],
        dtype=bool,
    )
    withdrawn = [pk for i, pk in enumerate(ids) if not labels.complete[i] and pk in stored]
    if withdrawn:
        images_unassess(image_ids=withdrawn)
    if touch:
        current = labels.image_ids[labels.complete & ~changed].tolist()
        ImageAgreement.objects.filter(image_id__in=current).update(computed_at=timezone.now())
    result = assess_batch(labels.batch, labels.params)
    if not changed.any():
        return result
    changed_ids = labels.image_ids[changed].tolist()
    flags_sync(
        project_id=labels.project.pk,
        image_ids=changed_ids,
        kinds=ENGINE_FLAG_KINDS,
        specs=_flag_specs(labels, result, changed),
    )
    # Replaced rather than updated: one DELETE and one COPY/INSERT each, whatever the size.
    ConsensusBox.objects.filter(image_id__in=changed_ids).delete()
    columns, nulls = _consensus_columns(labels, result, changed)
    arrays_insert(ConsensusBox, columns, nulls)
    model_comparisons_refresh(
        project_id=labels.project.pk, image_ids=changed_ids, all_assessed=True
    )
    open_counts = _open_flag_counts(changed_ids)
    now = timezone.now()
    params = params_as_dict(labels.params)
    consensus = np.bincount(
        result.object_image[result.object_consensus.astype(bool)], minlength=len(ids)
    )
    sets = np.bincount(labels.batch.set_image, minlength=len(ids))
    figures = batch_figures(result)
    versions = image_instruction_versions(labels)
    figures_store(labels=labels, figures=figures, changed=changed)
    habit_evidence_store(labels=labels, result=result, changed=changed)
    ImageAgreement.objects.filter(image_id__in=changed_ids).delete()
    rows_insert(
        ImageAgreement,
        AGREEMENT_FIELDS + AGREEMENT_FIGURE_FIELDS,
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
                *agreement_figure_values(figures, versions, i),
            )
            for i in np.flatnonzero(changed).tolist()
        ],
    )
    return result


@transaction.atomic
def images_unassess(*, image_ids: list[int]) -> None:
    """Forget the results of images that are no longer complete (a submission was withdrawn)."""
    image_flags_retire(image_ids=image_ids, keep=())
    figures_delete(image_ids=image_ids)
    habit_evidence_delete(image_ids=image_ids)
    ConsensusBox.objects.filter(image_id__in=image_ids).delete()
    model_comparisons_forget(image_ids=image_ids)
    ImageAgreement.objects.filter(image_id__in=image_ids).delete()


def flag_message_renamed(*, flag: Flag, name: Callable[[str], str]) -> str | None:
    """The engine's sentence for this flag, written with ``name(username)`` for each labeler.

    The image is assessed again in memory (nothing is stored) and the flag found by its key, so
    each labeler is named by who they are, never by matching their name in the stored sentence.
    None when the engine no longer finds the flag (its labels changed, or it is not the
    engine's: near-duplicate conflicts).
    """
    found = images_labels(image_ids=[flag.image_id])
    if not found:
        return None
    labels = found[0]
    result = assess_batch(labels.batch, labels.params)
    every_image = np.ones(len(labels.image_ids), dtype=bool)
    for index, spec in enumerate(_flag_specs(labels, result, every_image)):
        if spec.key == flag.key:
            names = tuple(name(username) for username in labels.batch.labeler_names)
            renamed = dataclasses.replace(
                result, batch=dataclasses.replace(labels.batch, labeler_names=names)
            )
            return flag_message(renamed, index)
    return None


def _flag_specs(labels: LabelBatch, result, changed: np.ndarray) -> list[FlagSpec]:
    """The flags the engine found on the ``changed`` images, keyed for flags_sync.

    A flag's key is its kind, the ids of its boxes, the labelers who missed the object (if
    any) and a digest of its boxes' coordinates and classes (quality.engine.flag_keys): the same
    disagreement found again has the same key; a redrawn box gives a new key.
    """
    batch = labels.batch
    flags = np.flatnonzero(changed[result.flag_image])
    if not len(flags):
        return []
    found = flag_identities(result, flags, labels.box_ids[batch.box_ref])
    user_of_code = np.array([labels.labeler_id(c) for c in range(len(batch.labeler_names))])
    set_ptr = result.set_image_ptr.tolist()
    set_users = [
        user_of_code[batch.set_labeler[set_ptr[i] : set_ptr[i + 1]]].tolist()
        for i in range(len(set_ptr) - 1)
    ]
    class_of_code = [labels.class_ids[name] for name in batch.label_names] + [None]
    involved_mask = result.flag_labeler_mask[flags].astype(np.int64)
    missing_mask = (involved_mask & ~found.owner_mask).tolist()
    deviating_mask = result.flag_deviating_mask[flags].tolist()
    bounds = found.box_ptr.tolist()
    box_ids = found.box_names.tolist()

    specs = []
    for k, (f, i, mask, missed, c, odd) in enumerate(
        zip(
            flags.tolist(),
            result.flag_image[flags].tolist(),
            involved_mask.tolist(),
            missing_mask,
            found.class_code.tolist(),
            deviating_mask,
            strict=True,
        )
    ):
        users = set_users[i]
        kind = FLAG_KINDS[result.flag_kind[f]]
        ids = box_ids[bounds[k] : bounds[k + 1]]
        key = f"{kind}:b{','.join(map(str, ids))}"
        if missed:
            key += (
                f":m{','.join(map(str, sorted(u for j, u in enumerate(users) if missed >> j & 1)))}"
            )
        specs.append(
            FlagSpec(
                image_id=int(labels.image_ids[i]),
                other_image_id=None,
                kind=kind,
                key=f"{key}:{found.digests[k]}",
                labeler_ids=[u for j, u in enumerate(users) if mask >> j & 1],
                box_ids=ids,
                label_class_id=class_of_code[c],
                message=flag_message(result, f),
                deviating_ids=tuple(u for j, u in enumerate(users) if odd >> j & 1),
                severity=_flag_severity(result, f, kind),
            )
        )
    return specs


def _flag_severity(result, flag: int, kind: str) -> float:
    """How large flag ``flag``'s disagreement is within its kind (Flag.severity; the queue
    shows larger first): 1 - the lowest IoU of a low overlap, the objects a grouping box
    holds, the copies of a duplicate; a class conflict with no majority class 1, with one 0.5."""
    value = float(result.flag_value[flag])
    if kind == Flag.Kind.LOW_OVERLAP:
        return round(1 - value, 4)
    if kind in (Flag.Kind.GROUPING, Flag.Kind.DUPLICATE):
        return value
    if kind == Flag.Kind.LABEL_CONFLICT:
        obj = result.box_object[result.flag_rows(flag)[0]]
        return 1.0 if obj >= 0 and result.object_label[obj] < 0 else 0.5
    return 0.0


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


def _consensus_columns(labels: LabelBatch, result, changed: np.ndarray):
    """Consensus boxes of the changed images as columns for arrays_insert (no row objects)."""
    picked = np.flatnonzero(changed[result.object_image] & result.object_consensus.astype(bool))
    image = result.object_image[picked]
    class_of_code = np.array(
        [labels.class_ids[name] for name in labels.batch.label_names] + [0], dtype=np.int64
    )
    code = result.object_label[picked]
    xywh = result.object_xywh[picked]
    mean_iou = result.object_mean_iou[picked]
    columns = {
        "image_id": labels.image_ids[image].astype(np.int64),
        "index": (picked - result.object_image_ptr[image]).astype(np.int32),
        "label_class_id": class_of_code[code],  # code -1 (a tie): the last entry, null below
        "x": xywh[:, 0].astype(np.float64),
        "y": xywh[:, 1].astype(np.float64),
        "width": xywh[:, 2].astype(np.float64),
        "height": xywh[:, 3].astype(np.float64),
        "support": result.object_support[picked].astype(np.float64),
        "label_confidence": result.object_label_confidence[picked].astype(np.float64),
        # One box alone has no pairwise IoU; 0 rather than NaN (not portable).
        "mean_iou": np.nan_to_num(mean_iou.astype(np.float64), nan=0.0),
    }
    return columns, {"label_class_id": code < 0}


def _open_flag_counts(image_ids: list[int]) -> dict[int, int]:
    if is_postgresql():
        # One index probe per image on (image, status), whatever the statistics say: on a
        # recompute from empty tables the planner took the project index and read every flag.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT i.id, (SELECT count(*) FROM {Flag._meta.db_table} f
                        WHERE f.image_id = i.id AND f.status = %s)
                    FROM unnest(%s::bigint[]) AS i(id)""",
                [Flag.Status.OPEN, list(image_ids)],
            )
            return {pk: n for pk, n in cursor.fetchall() if n}
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
