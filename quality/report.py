"""Selectors for the agreement report, the flag queue and labelers' feedback.

The report reads what the pipeline stored: ProjectAgreement and LabelerAgreement (the summary)
and ReportFigures (progress, flag counts, the worst images; written with the summary and kept
in step with a lead's decisions). No request scans a project's images, annotations or flags, so
the report stays fast on a project of 100,000 images. figures_compute is the one scan, run when
the summary is stored.
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from annotations.models import Annotation, Box
from concord.params import ParamError, id_param
from gold.selectors import labelers_gold
from projects.markdown import render_markdown
from projects.models import Image, LabelClass, Membership, Project
from quality.aliases import labeler_aliases, names_replaced
from quality.models import (
    Flag,
    FlagLabeler,
    ImageAgreement,
    LabelerAgreement,
    ProjectAgreement,
    ReportFigures,
)

HISTOGRAM_BINS = 10
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

    Called when the summary is stored (quality.services_summary.report_figures_refresh), not
    per request; the report computes them live only for a project that has none stored yet.
    """
    return {
        "progress": image_progress(project=project),
        "worst_images": worst_image_ids(project=project),
        **flag_counts(project=project),
    }


def image_progress(*, project: Project) -> dict:
    """Images complete (N submitted label sets), in progress (some labels), untouched."""
    counted = Image.objects.filter(project=project).annotate(
        submitted=Count(
            "annotations",
            filter=Q(
                annotations__kind=Annotation.Kind.LABEL,
                annotations__status=Annotation.Status.SUBMITTED,
            ),
        ),
        started=Count("annotations", filter=Q(annotations__kind=Annotation.Kind.LABEL)),
    )
    totals = counted.aggregate(
        total=Count("id"),
        complete=Count("id", filter=Q(submitted__gte=project.labelers_per_image)),
        untouched=Count("id", filter=Q(started=0)),
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
    """Image scores in ten bins of width 0.1 (the last bin includes 1.0), in one query."""
    edges = [i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)]
    bins = {}
    for i in range(HISTOGRAM_BINS):
        upper = Q(score__lt=edges[i + 1]) if i < HISTOGRAM_BINS - 1 else Q(score__lte=1)
        bins[f"b{i}"] = Count("id", filter=Q(score__gte=edges[i]) & upper)
    counts = ImageAgreement.objects.filter(image__project=project).aggregate(**bins)
    return [
        {"from": edges[i], "to": edges[i + 1], "count": counts[f"b{i}"]}
        for i in range(HISTOGRAM_BINS)
    ]


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


# The flag queue.

FLAG_FILTERS = ("kind", "status", "labeler", "label_class")


def flags_filtered(*, project: Project, filters: dict) -> QuerySet[Flag]:
    """Flags of the project narrowed by kind, status, labeler (user id: the flags where that
    labeler is the one who deviates) and label_class (id).

    Superseded flags are left out unless asked for by status. Unknown values raise ParamError
    with a message a person can act on. The queryset is lazy: call this before any write to
    refuse bad filters before anything changes.
    """
    qs = Flag.objects.filter(project=project)
    kind, status = filters.get("kind") or "", filters.get("status") or ""
    if kind:
        if kind not in Flag.Kind.values:
            raise ParamError(
                "kind", f"Unknown kind {kind!r}; use one of {', '.join(Flag.Kind.values)}."
            )
        qs = qs.filter(kind=kind)
    if status:
        if status not in Flag.Status.values:
            raise ParamError(
                "status", f"Unknown status {status!r}; use one of {', '.join(Flag.Status.values)}."
            )
        qs = qs.filter(status=status)
    else:
        qs = qs.exclude(status=Flag.Status.SUPERSEDED)
    label_class, labeler = id_param(filters, "label_class"), id_param(filters, "labeler")
    if label_class is not None:
        qs = qs.filter(label_class_id=label_class)
    if labeler is not None:
        # The flags where this labeler is the one who deviates (what the per-labeler counts
        # count). EXISTS, not a join: a join would need DISTINCT, which sorts every flag.
        deviating = FlagLabeler.objects.filter(
            flag_id=OuterRef("pk"), user_id=labeler, deviating=True
        )
        qs = qs.filter(Exists(deviating))
    return qs.order_by("image_id", "id")


def flag_list_rows(queryset: QuerySet[Flag]) -> QuerySet[Flag]:
    """What a list of flags shows, in a bounded number of queries; labelers by name."""
    by_name = get_user_model().objects.order_by("username")
    deviating = FlagLabeler.objects.filter(deviating=True).select_related("user")
    return queryset.select_related(
        "image", "label_class", "accepted_labeler", "resolved_by", "instruction_version"
    ).prefetch_related(
        Prefetch("labelers", queryset=by_name),
        Prefetch(
            "labeler_rows",
            queryset=deviating.order_by("user__username"),
            to_attr="deviating_rows",
        ),
    )


def flag_neighbours(*, flag: Flag, queryset: QuerySet[Flag]) -> tuple[int | None, int | None]:
    """Ids of the previous and next flag in the queue order (image, id)."""
    before = Q(image_id__lt=flag.image_id) | Q(image_id=flag.image_id, id__lt=flag.pk)
    after = Q(image_id__gt=flag.image_id) | Q(image_id=flag.image_id, id__gt=flag.pk)
    previous = queryset.filter(before).order_by("-image_id", "-id").values_list("id", flat=True)
    following = queryset.filter(after).order_by("image_id", "id").values_list("id", flat=True)
    return previous.first(), following.first()


def flag_filter_choices(*, project: Project) -> dict:
    labelers = (
        Membership.objects.filter(project=project, role=Membership.Role.LABELER)
        .select_related("user")
        .order_by("user__username")
    )
    return {
        "kinds": Flag.Kind.choices,
        "statuses": Flag.Status.choices,
        "labelers": [(m.user_id, m.user.username) for m in labelers],
        "classes": list(project.classes.values_list("id", "name")),
    }


# Feedback to labelers.


def labeler_feedback(*, user, project: Project, limit: int = 20) -> list[dict]:
    """Flags involving this labeler that a lead settled, with the decision and its rule.

    Only the labeler's own side is described: never another labeler's boxes or classes. The
    lead's note is shown with the labelers' names replaced by "labeler A"... (quality.aliases).
    """
    flags = (
        Flag.objects.filter(
            project=project,
            labelers=user,
            status__in=[Flag.Status.RESOLVED, Flag.Status.DISMISSED],
        )
        .select_related("image", "label_class", "instruction_version")
        .order_by("-resolved_at", "-id")[:limit]
    )
    flags = list(flags)
    aliases = labeler_aliases(image_ids={flag.image_id for flag in flags if flag.resolution_note})
    # Who was in the minority on each flag (the caller's own mark only ever reaches the page),
    # and which of the flags' boxes are the caller's: two queries for the whole list.
    odd_ones = list(
        FlagLabeler.objects.filter(flag__in=flags, deviating=True).values_list("flag_id", "user_id")
    )
    someone_deviates = {flag_id for flag_id, _ in odd_ones}
    mine = {flag_id for flag_id, user_id in odd_ones if user_id == user.pk}
    own_boxes = set(
        Box.objects.filter(
            pk__in={pk for flag in flags for pk in flag.box_ids}, annotation__labeler=user
        ).values_list("pk", flat=True)
    )
    rows = [
        {
            "flag_id": flag.pk,
            "image": flag.image.original_name,
            "image_id": flag.image_id,
            "kind": flag.get_kind_display(),
            "label_class": flag.label_class.name if flag.label_class else "",
            "decision": _decision_for(flag, user),
            "your_part": _your_part(
                flag,
                you_deviate=flag.pk in mine,
                someone_deviates=flag.pk in someone_deviates,
                your_box_in_it=bool(own_boxes.intersection(flag.box_ids)),
            ),
            "note": names_replaced(flag.resolution_note, aliases.get(flag.image_id, {})),
            "resolved_at": flag.resolved_at,
            "instruction_number": flag.instruction_version.number
            if flag.instruction_version
            else None,
            "excerpt": instruction_excerpt(flag=flag),
        }
        for flag in flags
    ]
    for row in rows:  # Markdown, sanitised as the instructions are
        row["note_html"] = render_markdown(row["note"])
        row["excerpt_html"] = render_markdown(row["excerpt"])
    return rows


def _your_part(flag: Flag, *, you_deviate: bool, someone_deviates: bool, your_box_in_it: bool):
    """Whether the labeler's own box was the odd one out, in plain words, never naming anyone.

    From the flag's deviating labelers (the minority): the labeler is told what they did when
    they were in it, that their labels went with the majority when someone else was, and that
    nobody was when the labelers split evenly.
    """
    K = Flag.Kind
    if not someone_deviates:
        return "The labelers split evenly here, so no one's boxes were the odd ones out."
    if not you_deviate:
        return "Another labeler's boxes differed here; yours went with the majority."
    if flag.kind == K.MISSING:
        if your_box_in_it:
            return "You boxed an object here that the other labelers did not box."
        return "You did not box an object that the other labelers boxed."
    return {
        K.LABEL_CONFLICT: "You gave this object a different class from the other labelers.",
        K.LOW_OVERLAP: "Your box of this object overlapped the other labelers' boxes too little "
        "(much tighter or looser than theirs).",
        K.GROUPING: "You boxed these objects differently from the other labelers: one box "
        "around several objects against one box each, or the other way round.",
        K.DUPLICATE: "You boxed this object more than once.",
    }.get(flag.kind, "Your boxes were the ones that differed from the others.")


def _decision_for(flag: Flag, user) -> str:
    R = Flag.Resolution
    if flag.resolution == R.ACCEPT_LABELER:
        if flag.accepted_labeler_id == user.pk:
            return "The lead accepted your version."
        return "The lead accepted another labeler's version, not yours."
    return {
        R.ACCEPT_CONSENSUS: "The lead accepted the consensus of all labelers.",
        R.ADJUDICATED: "The lead drew the final boxes for this image.",
        R.DISMISSED: "The lead dismissed this flag: nothing to change.",
        R.INSTRUCTIONS: "The lead clarified the instructions for cases like this one.",
    }.get(flag.resolution, "Settled by the lead.")


WORKED_EXAMPLE_MARK = "<!-- flag {id} -->"


def instruction_excerpt(*, flag: Flag, length: int = 400) -> str:
    """The part of the flag's instruction version its decision rests on.

    The worked example written for this flag if there is one, else the first paragraph that
    names the flag's class, else the beginning of the instructions.
    """
    version = flag.instruction_version
    if version is None:
        return ""
    body = version.body
    mark = WORKED_EXAMPLE_MARK.format(id=flag.pk)
    if mark in body:
        return body.split(mark, 1)[1].strip()[:length]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n(?=[*-] )", body) if p.strip()]
    if flag.label_class:
        name = re.compile(rf"\b{re.escape(flag.label_class.name)}\b", re.IGNORECASE)
        for paragraph in paragraphs:
            if name.search(paragraph) and not paragraph.startswith("#"):
                return paragraph[:length]
    rules = [p for p in paragraphs if not p.startswith("#")]
    return (rules[0] if rules else body)[:length]


# Helpers for the shapes the pipeline stores in JSON fields.


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
