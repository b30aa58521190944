"""Project and labeler figures: ProjectAgreement and LabelerAgreement rows.

Figures that add up over images (scores, pairwise F1, boxes, class confusion, per class) are
collected per chunk of images as a JSON-safe *partial* (a recompute's chunk tasks return theirs
to the chord's final task), then merged. K-alpha, its threshold sweep and vitality cost about a
millisecond per image per threshold, so on large projects they are computed on a deterministic
sample of images (AGREEMENT_KALPHA_SAMPLE / AGREEMENT_SWEEP_SAMPLE; the sizes used are stored in
ProjectAgreement.params).
"""

from __future__ import annotations

import math
from collections import defaultdict
from statistics import median

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from annotations.models import Annotation
from projects.models import Project
from quality.engine import (
    ENGINE_VERSION,
    BoxBatch,
    agreement_with_reference,
    alpha_sweep,
    assess_batch,
    class_confusion,
    kalpha,
    vitality,
)
from quality.models import Flag, FlagLabeler, LabelerAgreement, ProjectAgreement, ReportFigures
from quality.report import class_key, flag_counts, image_progress, worst_image_ids
from quality.selectors import (
    ImageLabels,
    adjudicated_label_sets,
    complete_image_ids,
    images_labels,
    params_as_dict,
    project_params,
)

HISTOGRAM_BINS = 10
SWEEP = tuple(round(0.1 * k, 1) for k in range(1, 10))


def labels_partial(labels: ImageLabels, result, images: np.ndarray) -> dict:
    """Summable figures of the complete images ``images`` (indices into the batch)."""
    batch = labels.batch
    keep = np.zeros(len(labels.image_ids), dtype=bool)
    keep[images] = True
    scores = result.image_score[keep]
    version = np.zeros(len(keep), dtype=np.int64)
    np.maximum.at(version, batch.set_image, labels.set_instruction_version)
    versions: dict[str, list[float]] = {}
    for v in np.unique(version[keep]).tolist():
        sel = keep & (version == v)
        versions[str(v)] = [int(sel.sum()), float(result.image_score[sel].sum())]

    pairs: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for img, a, b, f1 in zip(
        result.pair_image.tolist(),
        result.pair_labeler_a.tolist(),
        result.pair_labeler_b.tolist(),
        result.pair_f1.tolist(),
        strict=True,
    ):
        if keep[img]:
            for code in (a, b):
                entry = pairs[str(labels.labeler_id(code))]
                entry[0] += f1
                entry[1] += 1

    set_keep = keep[batch.set_image]
    set_boxes = np.bincount(batch.box_set, minlength=len(batch.set_image))
    image_boxes = np.bincount(batch.set_image, weights=set_boxes, minlength=len(keep))
    image_sets = np.bincount(batch.set_image, minlength=len(keep))
    peer = (image_boxes[batch.set_image] - set_boxes) / np.maximum(
        image_sets[batch.set_image] - 1, 1
    )
    boxes: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    seconds: dict[str, list[float]] = defaultdict(list)
    for s in np.flatnonzero(set_keep).tolist():
        user = str(labels.labeler_id(int(batch.set_labeler[s])))
        entry = boxes[user]
        entry[0] += float(set_boxes[s])
        entry[1] += float(peer[s])
        entry[2] += 1
        seconds[user].append(float(labels.set_active_seconds[s]))

    obj_keep = keep[result.object_image]
    per_class: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0])
    for o in np.flatnonzero(obj_keep).tolist():
        code = int(result.object_label[o])
        name = "undecided" if code < 0 else str(batch.label_names[code])
        entry = per_class[name]
        iou = float(result.object_mean_iou[o])
        entry[0] += 1
        entry[1] += float(result.object_support[o])
        entry[2] += float(result.object_label_confidence[o])
        if not math.isnan(iou):
            entry[3] += iou
            entry[4] += 1

    confusion_labels, matrix = class_confusion(result) if keep.all() else _confusion(labels, keep)
    return {
        "images": int(keep.sum()),
        "score_sum": float(scores.sum()),
        "histogram": np.histogram(scores, bins=HISTOGRAM_BINS, range=(0, 1))[0].tolist(),
        "versions": versions,
        "pairs": dict(pairs),
        "boxes": dict(boxes),
        "seconds": dict(seconds),
        "per_class": dict(per_class),
        "confusion": {"labels": [str(x) for x in confusion_labels], "matrix": matrix.tolist()},
    }


def _confusion(labels: ImageLabels, keep: np.ndarray):
    return class_confusion(assess_batch(_subset(labels, keep), labels.params))


def _subset(labels: ImageLabels, keep: np.ndarray) -> BoxBatch:
    b = labels.batch
    new_index = np.cumsum(keep) - 1
    set_keep = keep[b.set_image]
    box_keep = set_keep[b.box_set]
    return BoxBatch.from_arrays(
        new_index[b.set_image[b.box_set[box_keep]]],
        b.set_labeler[b.box_set[box_keep]],
        b.xywh[box_keep],
        b.label[box_keep],
        labeler_names=b.labeler_names,
        label_names=b.label_names,
        n_images=int(keep.sum()),
        label_sets=(new_index[b.set_image[set_keep]], b.set_labeler[set_keep]),
    )


def partials_merge(partials: list[dict]) -> dict:
    out = {
        "images": 0,
        "score_sum": 0.0,
        "histogram": [0] * HISTOGRAM_BINS,
        "versions": defaultdict(lambda: [0, 0.0]),
        "pairs": defaultdict(lambda: [0.0, 0]),
        "boxes": defaultdict(lambda: [0.0, 0.0, 0]),
        "seconds": defaultdict(list),
        "per_class": defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0]),
        "confusion": {},
    }
    for p in partials:
        if not p:
            continue
        out["images"] += p["images"]
        out["score_sum"] += p["score_sum"]
        out["histogram"] = [a + b for a, b in zip(out["histogram"], p["histogram"], strict=True)]
        for field in ("versions", "pairs", "boxes", "per_class"):
            for key, values in p[field].items():
                out[field][key] = [a + b for a, b in zip(out[field][key], values, strict=True)]
        for key, values in p["seconds"].items():
            out["seconds"][key].extend(values)
        labels = p["confusion"]["labels"]
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                count = p["confusion"]["matrix"][i][j]
                if count:
                    out["confusion"][(a, b)] = out["confusion"].get((a, b), 0) + count
    return out


def project_partials(*, project: Project) -> list[dict]:
    """Partials of every complete image of the project, read and assessed chunk by chunk."""
    ids = sorted(complete_image_ids(project=project))
    size = settings.AGREEMENT_CHUNK_SIZE
    partials = []
    for start in range(0, len(ids), size):
        for labels in images_labels(image_ids=ids[start : start + size]):
            result = assess_batch(labels.batch, labels.params)
            partials.append(labels_partial(labels, result, np.flatnonzero(labels.complete)))
    return partials


def project_summarize(*, project: Project, partials: list[dict] | None = None) -> ProjectAgreement:
    """Store the project's and each labeler's agreement figures, and the report's figures.

    ``partials`` (from a recompute's chunks) saves reading every image again; without them the
    project is read chunk by chunk here.
    """
    # The report's cheap figures first (about a second at 100,000 images): the page shows fresh
    # progress and flag counts while the rest (tens of seconds there) is computed.
    report_figures_refresh(project=project)
    if partials is None:
        partials = project_partials(project=project)
    merged = partials_merge(partials)
    sampled = _sampled_figures(project)
    return _summary_store(project, merged, sampled)


def report_figures_refresh(*, project: Project) -> ReportFigures:
    """Store the report's progress, flag counts and worst images (ReportFigures).

    Progress and the worst images are read before the row is locked: they take the longest and
    no decision changes them. The flag counts are read after the lock, so a decision committed
    meanwhile is either counted here or applied (flag_counts_move) on top of these counts.
    """
    progress = image_progress(project=project)
    worst = worst_image_ids(project=project)
    with transaction.atomic():
        figures, _ = ReportFigures.objects.get_or_create(
            project=project, defaults={"computed_at": timezone.now()}
        )
        figures = ReportFigures.objects.select_for_update().get(pk=figures.pk)
        counts = flag_counts(project=project)
        figures.progress = progress
        figures.worst_images = worst
        figures.flags_by_kind = counts["flags_by_kind"]
        figures.open_flags_by_class = counts["open_flags_by_class"]
        figures.computed_at = timezone.now()
        figures.save()
    return figures


def _count_add(counts: dict, key: str, step: int) -> None:
    """Add step to counts[key]; a count that reaches zero is dropped, as a recount has none."""
    value = max(counts.get(key, 0) + step, 0)
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)


def flag_counts_move(*, project_id: int, moves: list[tuple[str, int | None, str, str]]) -> None:
    """Move stored flag counts for flags whose status a lead changed, in the caller's transaction.

    ``moves`` holds (kind, label_class_id, old status, new status) per flag. Without stored
    figures there is nothing to move: the report counts live until the next summary.
    """
    moves = [m for m in moves if m[2] != m[3]]
    if not moves:
        return
    figures = ReportFigures.objects.select_for_update().filter(project_id=project_id).first()
    if figures is None:
        return
    by_kind, by_class = figures.flags_by_kind, figures.open_flags_by_class
    for kind, label_class_id, old, new in moves:
        statuses = by_kind.setdefault(kind, {})
        for status, step in ((old, -1), (new, 1)):
            if status != Flag.Status.SUPERSEDED:
                _count_add(statuses, status, step)
            if status == Flag.Status.OPEN:
                _count_add(by_class, class_key(label_class_id), step)
    figures.flags_changed_at = timezone.now()
    figures.save(update_fields=["flags_by_kind", "open_flags_by_class", "flags_changed_at"])


def _sample_ids(ids: list[int], size: int) -> list[int]:
    if len(ids) <= size:
        return ids
    picks = np.linspace(0, len(ids) - 1, size).round().astype(int)
    return [ids[i] for i in np.unique(picks).tolist()]


def _sampled_figures(project: Project) -> dict:
    ids = sorted(complete_image_ids(project=project))
    kalpha_ids = _sample_ids(ids, settings.AGREEMENT_KALPHA_SAMPLE)
    sweep_ids = set(_sample_ids(kalpha_ids, settings.AGREEMENT_SWEEP_SAMPLE))
    out = {"kalpha_images": len(kalpha_ids), "sweep_images": len(sweep_ids), "images": len(ids)}
    groups = images_labels(image_ids=kalpha_ids)
    if not groups:
        return out | {"kalpha": None, "sweep": [], "vitality": {}, "version_kalpha": {}}
    labels = groups[0]
    params = labels.params
    k = kalpha(labels.batch, params.match_iou)
    version = np.zeros(len(labels.image_ids), dtype=np.int64)
    np.maximum.at(version, labels.batch.set_image, labels.set_instruction_version)
    by_version: dict[int, list[float]] = defaultdict(list)
    for v, alpha in zip(version.tolist(), k.per_image, strict=True):
        by_version[v].append(alpha)
    keep = np.isin(labels.image_ids, list(sweep_ids))
    small = _subset(labels, keep) if not keep.all() else labels.batch
    sweep = alpha_sweep(small, SWEEP)
    vital = vitality(small, params.match_iou)
    return out | {
        "kalpha": _finite(k.mean),
        "sweep": [[t, _finite(a)] for t, a in sweep.items()],
        "vitality": {labels.labeler_ids[name]: _finite(v) for name, v in vital.items()},
        "version_kalpha": {v: sum(a) / len(a) for v, a in by_version.items()},
    }


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _adjudicated(project: Project) -> dict[int, float]:
    """Each labeler's mean IoU-weighted F1 against the lead's adjudicated labels."""
    images, references, labeler_ids = adjudicated_label_sets(project=project)
    if not images:
        return {}
    found = agreement_with_reference(images, references, project_params(project))
    return {labeler_ids[name]: r.f1 for name, r in found.items()}


@transaction.atomic
def _summary_store(project: Project, merged: dict, sampled: dict) -> ProjectAgreement:
    now = timezone.now()
    images = merged["images"]
    per_class = {
        name: {
            "objects": v[0],
            "support": v[1] / v[0],
            "label_confidence": v[2] / v[0],
            "mean_iou": v[3] / v[4] if v[4] else None,
        }
        for name, v in sorted(merged["per_class"].items())
        if v[0]
    }
    confusion_labels = sorted({a for a, _ in merged["confusion"]})
    matrix = [
        [merged["confusion"].get((a, b), 0) for b in confusion_labels] for a in confusion_labels
    ]
    edges = np.linspace(0, 1, HISTOGRAM_BINS + 1).round(2).tolist()
    histogram = [
        {"from": edges[i], "to": edges[i + 1], "count": c}
        for i, c in enumerate(merged["histogram"])
    ]
    by_version = [
        {
            "version": int(v) or None,
            "images": n,
            "mean_score": total / n if n else None,
            "kalpha": _finite(sampled.get("version_kalpha", {}).get(int(v))),
        }
        for v, (n, total) in sorted(merged["versions"].items(), key=lambda kv: int(kv[0]))
    ]
    summary, _ = ProjectAgreement.objects.update_or_create(
        project=project,
        defaults={
            "kalpha": sampled.get("kalpha"),
            "mean_score": merged["score_sum"] / images if images else None,
            "images_assessed": images,
            "threshold_sweep": sampled.get("sweep", []),
            "class_confusion": {"labels": confusion_labels, "matrix": matrix},
            "per_class": per_class,
            "score_histogram": histogram,
            "by_instruction_version": by_version,
            "params": params_as_dict(project_params(project))
            | {
                "kalpha_images": sampled.get("kalpha_images", 0),
                "sweep_images": sampled.get("sweep_images", 0),
            },
            "engine_version": ENGINE_VERSION,
            "computed_at": now,
        },
    )
    _labelers_store(project, merged, sampled, now)
    return summary


def labeler_flag_counts(*, project: Project) -> tuple[dict, dict]:
    """Live flags per labeler and kind: those where the labeler is the one who deviates, and
    those that involve the labeler with no majority either way (no deviating labeler at all).
    """
    live = FlagLabeler.objects.filter(flag__project=project).exclude(
        flag__status=Flag.Status.SUPERSEDED
    )

    def by_labeler_and_kind(rows) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        for user_id, kind, n in (
            rows.values("user_id", "flag__kind")
            .order_by()
            .annotate(n=Count("id"))
            .values_list("user_id", "flag__kind", "n")
        ):
            counts[user_id][kind] = n
        return counts

    someone_deviates = FlagLabeler.objects.filter(flag_id=OuterRef("flag_id"), deviating=True)
    deviating = by_labeler_and_kind(live.filter(deviating=True))
    tied = by_labeler_and_kind(live.filter(~Exists(someone_deviates)))
    return deviating, tied


def _labelers_store(project: Project, merged: dict, sampled: dict, now) -> None:
    submitted = dict(
        Annotation.objects.filter(
            image__project=project,
            kind=Annotation.Kind.LABEL,
            status=Annotation.Status.SUBMITTED,
        )
        .values("labeler_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("labeler_id", "n")
    )
    flag_counts, tied_flag_counts = labeler_flag_counts(project=project)
    adjudicated = _adjudicated(project)
    vital = sampled.get("vitality", {})
    users = set(submitted) | {int(u) for u in merged["boxes"]}
    rows = []
    for user_id in sorted(users):
        pair = merged["pairs"].get(str(user_id))
        box = merged["boxes"].get(str(user_id))
        seconds = merged["seconds"].get(str(user_id))
        rows.append(
            LabelerAgreement(
                project=project,
                labeler_id=user_id,
                images_submitted=submitted.get(user_id, 0),
                agreement_with_peers=pair[0] / pair[1] if pair and pair[1] else None,
                agreement_with_adjudicated=adjudicated.get(user_id),
                vitality=vital.get(user_id),
                boxes_per_image=box[0] / box[2] if box and box[2] else None,
                peer_boxes_per_image=box[1] / box[2] if box and box[2] else None,
                median_seconds=median(seconds) if seconds else None,
                flag_counts=dict(sorted(flag_counts.get(user_id, {}).items())),
                tied_flag_counts=dict(sorted(tied_flag_counts.get(user_id, {}).items())),
                computed_at=now,
            )
        )
    LabelerAgreement.objects.filter(project=project).exclude(labeler_id__in=users).delete()
    LabelerAgreement.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["project", "labeler"],
        update_fields=[
            "images_submitted",
            "agreement_with_peers",
            "agreement_with_adjudicated",
            "vitality",
            "boxes_per_image",
            "peer_boxes_per_image",
            "median_seconds",
            "flag_counts",
            "tied_flag_counts",
            "computed_at",
        ],
    )
