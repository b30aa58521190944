"""Selectors for the agreement report, the flag queue and labelers' feedback.

The report reads what the pipeline stored: ProjectAgreement and LabelerAgreement (the summary)
and ReportFigures (progress, flag counts, the worst images; written with the summary and kept
in step with a lead's decisions). No request scans a project's images, annotations or flags, so
the report stays fast on a project of 100,000 images. figures_compute is the one scan, run when
the summary is stored.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q

from gold.selectors import labelers_gold
from projects.models import Image, LabelClass, Membership, Project
from quality.engine.figures import HISTOGRAM_BINS, histogram_edges
from quality.models import (
    Flag,
    ImageAgreement,
    LabelerAgreement,
    ProjectAgreement,
    ReportFigures,
)
from quality.selectors.figures import summary_pending
from quality.selectors.model_comparison import model_agreement

WORST_IMAGES = 12
WORST_STORED = 2 * WORST_IMAGES  # a margin for images whose score rises after the summary


def project_report(*, project: Project) -> dict:
    """Everything the report page and GET /api/projects/{id}/agreement/ show, as plain data.

    A handful of small reads: the stored project summary (ProjectAgreement), the stored report
    figures (ReportFigures: progress, flag counts, worst images), labelers' rows and the few
    worst images. Nothing here scans the project's images, annotations or flags, except for a
    project whose figures were never stored (a new one), where they are computed live.
    """
    stored = ProjectAgreement.objects.filter(project=project).first()
    figures = ReportFigures.objects.filter(project=project).first()
    live = figures is None
    if live:
        figures = ReportFigures(project=project, computed_at=None, **figures_compute(project))
    classes = list(project.classes.all())
    data = {
        "project": {"id": project.pk, "slug": project.slug, "name": project.name},
        "params": {"match_iou": project.match_iou, "low_iou": project.low_iou},
        "computed_at": stored.computed_at.isoformat() if stored else None,
        "figures_at": None if live else figures.computed_at.isoformat(),
        # The stored figures trail the labels only while a summary is on its way.
        "figures_pending": not live and summary_pending(project_id=project.pk),
        "engine_version": stored.engine_version if stored else "",
        "kalpha": stored.kalpha if stored else None,
        "mean_score": stored.mean_score if stored else None,
        "images_assessed": stored.images_assessed if stored else 0,
        "progress": _progress(figures.progress),
        "threshold_sweep": _sweep(stored.threshold_sweep if stored else []),
        "score_histogram": _histogram(stored.score_histogram if stored else None, project),
        "flags": flag_summary(figures=figures),
        "per_class": class_agreement(classes=classes, stored=stored, figures=figures),
        "confusion": class_confusion(classes=classes, stored=stored),
        "labelers": labeler_table(project=project),
        "by_instruction_version": instruction_version_agreement(stored=stored),
        "worst_images": worst_images(image_ids=figures.worst_images),
        "models": model_agreement(project=project),
    }
    data["highlights"] = report_highlights(data)
    return data


def report_highlights(data: dict) -> list[str]:
    """A few sentences that say where and why labelers disagree, from the figures above."""
    out = []
    kinds = sorted(data["flags"]["by_kind"], key=lambda k: -k["open"])
    if kinds and kinds[0]["open"]:
        top = [f"{k['label'].lower()} ({k['open']})" for k in kinds[:3] if k["open"]]
        out.append(f"Most open flags: {', '.join(top)}.")
    pairs = []
    rows = data["confusion"]["rows"]
    for i, row in enumerate(rows):
        for j in range(i + 1, len(row["cells"])):
            n = row["cells"][j]["count"]
            if n:
                pairs.append((n, row["name"], data["confusion"]["labels"][j]))
    if pairs:
        n, a, b = max(pairs)
        out.append(f"Classes most often confused: {a} and {b} ({n} times).")
    rated = [r for r in data["labelers"] if r["agreement_with_peers"] is not None]
    if len(rated) > 1:
        low = min(rated, key=lambda r: r["agreement_with_peers"])
        top = (
            f", mostly {low['top_flag_kinds'][0]['label'].lower()}" if low["top_flag_kinds"] else ""
        )
        out.append(
            f"Lowest agreement with peers: {low['username']} "
            f"({low['agreement_with_peers']:.2f}){top}."
        )
    weak = [c for c in data["per_class"] if c["objects"] and c["label_agreement"] is not None]
    if weak:
        c = min(weak, key=lambda c: c["label_agreement"])
        out.append(
            f"Least agreed class: {c['name']} (labelers agree on its class "
            f"{c['label_agreement']:.0%} of the time)."
        )
    return out


def figures_compute(project: Project) -> dict:
    """The report figures ReportFigures stores, read from the project's rows (a few scans).

    Called when the summary is stored (quality.services.summary.report_figures_refresh), not
    per request; the report computes them live only for a project that has none stored yet.
    """
    return {
        "progress": image_progress(project=project),
        "worst_images": worst_image_ids(project=project),
        **flag_counts(project=project),
    }


def image_progress(*, project: Project) -> dict:
    """Images complete (N submitted label sets), in progress (some labels), untouched: one
    aggregate over the project's image rows, whose label-set counts triggers keep."""
    totals = Image.objects.filter(project=project).aggregate(
        total=Count("id"),
        complete=Count("id", filter=Q(submitted_count__gte=project.labelers_per_image)),
        untouched=Count("id", filter=Q(label_set_count=0)),
    )
    totals["in_progress"] = totals["total"] - totals["complete"] - totals["untouched"]
    return totals


def worst_image_ids(*, project: Project, limit: int = WORST_STORED) -> list[int]:
    return list(
        ImageAgreement.objects.filter(image__project=project)
        .order_by("score", "image_id")
        .values_list("image_id", flat=True)[:limit]
    )


def flag_counts(*, project: Project) -> dict:
    """Live flags by kind and status, and open flags by class, in one grouped query."""
    by_kind: dict[str, dict[str, int]] = {}
    open_by_class: dict[str, int] = {}
    rows = (
        Flag.objects.filter(project=project)
        .exclude(status=Flag.Status.SUPERSEDED)
        .values_list("kind", "status", "label_class")
        .annotate(n=Count("id"))
        .order_by()
    )
    for kind, status, label_class, n in rows:
        statuses = by_kind.setdefault(kind, {})
        statuses[status] = statuses.get(status, 0) + n
        if status == Flag.Status.OPEN:
            key = class_key(label_class)
            open_by_class[key] = open_by_class.get(key, 0) + n
    return {"flags_by_kind": by_kind, "open_flags_by_class": open_by_class}


def class_key(label_class_id: int | None) -> str:
    """The key of a class in ReportFigures.open_flags_by_class (JSON keys are strings)."""
    return "" if label_class_id is None else str(label_class_id)


def score_histogram(*, project: Project) -> list[dict]:
    """Image scores in ten bins of width 0.1 (the last bin includes 1.0): the bins stored with
    each image's assessment (quality.engine.figures.score_bins), counted in one query."""
    counts = [0] * HISTOGRAM_BINS
    for score_bin, n in (
        ImageAgreement.objects.filter(image__project=project)
        .order_by()
        .values_list("score_bin")
        .annotate(n=Count("id"))
    ):
        counts[min(score_bin, HISTOGRAM_BINS - 1)] += n
    edges = histogram_edges()
    return [{"from": edges[i], "to": edges[i + 1], "count": n} for i, n in enumerate(counts)]


def _histogram(stored, project: Project) -> list[dict]:
    """The summary's stored histogram; live only before the first summary (few images then)."""
    if stored is None:
        return score_histogram(project=project)
    out = []
    for row in stored:
        if isinstance(row, dict) and "count" in row:
            out.append({"from": row.get("from"), "to": row.get("to"), "count": row["count"]})
    return out


def _progress(raw) -> dict:
    progress = {k: int((raw or {}).get(k) or 0) for k in ("total", "complete", "untouched")}
    progress["in_progress"] = max(
        progress["total"] - progress["complete"] - progress["untouched"], 0
    )
    return progress


def flag_summary(*, figures: ReportFigures | None = None, project: Project | None = None) -> dict:
    """Flags by kind and status: the stored counts (figures), or counted live (project; the
    data card, which is downloaded, not shown on every request)."""
    if figures is not None:
        stored = figures.flags_by_kind or {}
    else:
        stored = flag_counts(project=project)["flags_by_kind"]
    kinds = []
    for kind, label in Flag.Kind.choices:
        counts = stored.get(kind) or {}
        kinds.append(
            {
                "kind": kind,
                "label": label,
                **{s: int(counts.get(s, 0)) for s in ("open", "resolved", "dismissed")},
            }
        )
    return {
        "by_kind": kinds,
        "open": sum(k["open"] for k in kinds),
        "settled": sum(k["resolved"] + k["dismissed"] for k in kinds),
    }


def class_agreement(
    *, classes: list[LabelClass], stored: ProjectAgreement | None, figures: ReportFigures
) -> list[dict]:
    """Per class: consensus objects, how often labelers agree on its class, their mean IoU,
    and its open flags: all from the stored summary and figures."""
    rows = (_stored_per_class(stored, classes) if stored else None) or {}
    open_flags = figures.open_flags_by_class or {}
    out = []
    for label_class in classes:
        row = rows.get(label_class.pk, {})
        out.append(
            {
                "id": label_class.pk,
                "name": label_class.name,
                "color": label_class.color,
                "objects": row.get("objects", 0),
                "label_agreement": row.get("label_agreement"),
                "mean_iou": row.get("mean_iou"),
                "support": row.get("support"),
                "open_flags": int(open_flags.get(class_key(label_class.pk), 0)),
            }
        )
    return out


def _stored_per_class(stored: ProjectAgreement, classes: list[LabelClass]) -> dict | None:
    """{class id: figures} from ProjectAgreement.per_class ({name: {objects, ...}})."""
    if not isinstance(stored.per_class, dict):
        return None
    by_name = {c.name: c.pk for c in classes}
    rows = {}
    for name, figures in stored.per_class.items():
        if not isinstance(figures, dict) or name not in by_name:
            continue
        rows[by_name[name]] = {
            "objects": figures.get("objects", 0),
            "label_agreement": figures.get("label_confidence"),
            "mean_iou": figures.get("mean_iou"),
            "support": figures.get("support"),
        }
    return rows


def class_confusion(*, classes: list[LabelClass], stored: ProjectAgreement | None) -> dict:
    """The stored confusion matrix with class names and colors, and each row's shares."""
    data = (stored.class_confusion if stored else None) or {}
    labels, matrix = data.get("labels") or [], data.get("matrix") or []
    if not labels or len(matrix) != len(labels):
        return {"labels": [], "rows": []}
    by_key = {}
    for c in classes:
        by_key[str(c.pk)] = by_key[c.name] = c
    names = [by_key[str(label)].name if str(label) in by_key else str(label) for label in labels]
    rows = []
    for name, counts in zip(names, matrix, strict=True):
        total = sum(counts) or 0
        cells = [
            {"count": n, "share": (n / total) if total else 0.0, "diagonal": j == len(rows)}
            for j, n in enumerate(counts)
        ]
        off = total - counts[len(rows)] if len(rows) < len(counts) else 0
        rows.append({"name": name, "cells": cells, "total": total, "confused": off})
    return {"labels": names, "rows": rows}


def labeler_table(*, project: Project) -> list[dict]:
    stored = {
        row.labeler_id: row
        for row in LabelerAgreement.objects.filter(project=project).select_related("labeler")
    }
    members = Membership.objects.filter(
        project=project, role=Membership.Role.LABELER
    ).select_related("user")
    users = {m.user_id: m.user for m in members}
    users.update({row.labeler_id: row.labeler for row in stored.values()})
    gold = labelers_gold(project=project)  # their scores against gold images, next to peers'
    out = []
    for user_id, user in sorted(users.items(), key=lambda item: item[1].username):
        row = stored.get(user_id)
        kinds = _flag_kind_counts(row.flag_counts if row else {})
        tied = _flag_kind_counts(row.tied_flag_counts if row else {})
        out.append(
            {
                "id": user_id,
                "username": user.username,
                "name": user.get_full_name() or user.username,
                "images_submitted": row.images_submitted if row else 0,
                "agreement_with_peers": row.agreement_with_peers if row else None,
                "vitality": row.vitality if row else None,
                "agreement_with_adjudicated": row.agreement_with_adjudicated if row else None,
                "boxes_per_image": row.boxes_per_image if row else None,
                "peer_boxes_per_image": row.peer_boxes_per_image if row else None,
                "median_seconds": row.median_seconds if row else None,
                "top_flag_kinds": [
                    {"kind": k, "label": Flag.Kind(k).label if k in Flag.Kind else k, "count": n}
                    for k, n in kinds[:3]
                ],
                "flags_deviating": sum(n for _, n in kinds),
                "flags_without_majority": sum(n for _, n in tied),
                "gold": gold.get(user_id),
            }
        )
    return out


def instruction_version_agreement(*, stored: ProjectAgreement | None) -> list:
    """Mean image score (and K-alpha) of the label sets made under each instruction version."""
    if not stored or not stored.by_instruction_version:
        return []
    normalized = [_version_row(row) for row in stored.by_instruction_version]
    return [row for row in normalized if row]


def worst_images(*, image_ids: list[int], limit: int = WORST_IMAGES) -> list[dict]:
    """The stored worst images with their current score, open flags and first open flag."""
    if not image_ids:
        return []
    first_open_flag = Flag.objects.filter(image=OuterRef("image"), status=Flag.Status.OPEN)
    rows = (
        ImageAgreement.objects.filter(image_id__in=image_ids)
        .annotate(flag_id=first_open_flag.order_by("id").values("id")[:1])
        .select_related("image")
        .only("image_id", "score", "open_flag_count", "image__original_name")
        .order_by("score", "image_id")[:limit]
    )
    return [
        {
            "image_id": row.image_id,
            "name": row.image.original_name,
            "score": row.score,
            "open_flags": row.open_flag_count,
            "flag_id": row.flag_id,
        }
        for row in rows
    ]


def _sweep(raw) -> list[dict]:
    out = []
    for point in raw or []:
        if isinstance(point, dict):
            iou = point.get("match_iou", point.get("iou", point.get("threshold")))
            value = point.get("kalpha", point.get("alpha", point.get("value")))
        else:
            iou, value = (list(point) + [None, None])[:2]
        if iou is not None:
            out.append({"iou": float(iou), "kalpha": _number(value)})
    return sorted(out, key=lambda p: p["iou"])


def _number(value) -> float | None:
    if isinstance(value, dict):
        for key in ("agreement", "kalpha", "score", "f1", "value", "mean"):
            if isinstance(value.get(key), int | float):
                return float(value[key])
        return None
    return float(value) if isinstance(value, int | float) else None


def _flag_kind_counts(raw) -> list[tuple[str, int]]:
    counts = {}
    for kind, value in (raw or {}).items():
        if isinstance(value, dict):
            value = sum(v for v in value.values() if isinstance(v, int | float))
        if isinstance(value, int | float) and value > 0:
            counts[kind] = int(value)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _version_row(row) -> dict | None:
    if isinstance(row, dict):
        number = row.get("number", row.get("version"))
        mean = row.get("mean_score", row.get("score", row.get("agreement")))
        images = row.get("images", row.get("count", 0))
        kalpha = row.get("kalpha")
    elif isinstance(row, list | tuple) and len(row) >= 2:
        number, mean, images = row[0], row[1], row[2] if len(row) > 2 else 0
        kalpha = None
    else:
        return None
    if number is None:
        return None
    return {
        "number": number,
        "images": images,
        "mean_score": _number(mean),
        "kalpha": _number(kalpha),
    }
