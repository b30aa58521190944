"""The data card: what an export holds, how it was labeled and how consistent the labels are.

Built from the same ExportQuery as the export (same filters, same images), in one pass over the
exported boxes; box and image sizes are kept as compact float arrays for the quantiles.
"""

from array import array
from collections import Counter

import numpy as np
from django.db.models import Count
from django.utils import timezone

from annotations.models import Annotation
from exports.formats import COORDINATES, FILE_NAMES
from exports.params import ExportSpec
from exports.selectors import ExportQuery
from exports.splits import SUBSETS
from gold.selectors import gold_card
from projects.instructions import instructions_current
from projects.models import Project
from quality.engine.near_duplicates import NEAR_DUPLICATE_BITS
from quality.models import Flag, ProjectAgreement
from quality.selectors.labels import SUBMITTED_LABELS
from quality.selectors.report import flag_summary

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
# COCO's area ranges (pixels squared): small < 32^2 <= medium < 96^2 <= large.
SMALL, MEDIUM = 32 * 32, 96 * 96


def _quantiles(values) -> dict | None:
    if len(values) == 0:
        return None
    data = (
        np.frombuffer(values, dtype=np.float64) if isinstance(values, array) else np.asarray(values)
    )
    points = np.quantile(data, QUANTILES)
    out = {f"p{round(q * 100)}": round(float(v), 4) for q, v in zip(QUANTILES, points, strict=True)}
    out["mean"] = round(float(data.mean()), 4)
    return out


def datacard_build(*, project: Project, spec: ExportSpec) -> dict:
    query = ExportQuery(project=project, spec=spec)
    class_boxes: Counter = Counter()
    widths, heights, areas, relative = array("d"), array("d"), array("d"), array("d")
    per_image, image_w, image_h, image_sizes = array("d"), array("d"), array("d"), Counter()
    empty = adjudicated = 0
    sizes = Counter()
    for image, boxes in query.groups():
        per_image.append(len(boxes))
        image_w.append(image.width)
        image_h.append(image.height)
        image_sizes[f"{image.width}x{image.height}"] += 1
        empty += not boxes
        adjudicated += image.adjudicated
        image_area = image.width * image.height
        for _image_id, class_id, _x, _y, w, h, *_ in boxes:
            class_boxes[class_id] += 1
            widths.append(w)
            heights.append(h)
            area = w * h
            areas.append(area)
            relative.append(area / image_area)
            sizes["small" if area < SMALL else "medium" if area < MEDIUM else "large"] += 1
    exported = len(per_image)
    labeled_sets = Annotation.objects.filter(SUBMITTED_LABELS, image__in=query.image_ids())
    versions = (
        labeled_sets.values("instruction_version__number", "instruction_version__summary")
        .annotate(label_sets=Count("pk"))
        .order_by("instruction_version__number")
    )
    current = instructions_current(project=project)
    stored = ProjectAgreement.objects.filter(project=project).first()
    total_images = project.images.count()
    with_labels = (
        Annotation.objects.filter(SUBMITTED_LABELS, image__project=project)
        .values("image_id")
        .distinct()
        .count()
    )
    return {
        "dataset": {
            "name": project.name,
            "slug": project.slug,
            "description": project.description,
            "source": spec.source,
            "generated_at": timezone.now().isoformat(timespec="seconds"),
            "labelers_per_image": project.labelers_per_image,
        },
        "filters": {
            k: v for k, v in spec.as_query().items() if k not in ("format", "include_images")
        },
        "instructions": {
            "current_version": current.number if current else None,
            "labeled_under": [
                {
                    "version": row["instruction_version__number"],
                    "summary": row["instruction_version__summary"] or "",
                    "label_sets": row["label_sets"],
                }
                for row in versions
            ],
        },
        "classes": [
            {"id": c.id, "name": c.name, "index": c.index, "boxes": class_boxes[c.id]}
            for c in query.classes
        ],
        "images": {
            "exported": exported,
            "empty": empty,
            "adjudicated": adjudicated,
            "withheld_class_ties": query.withheld_ties(),
            "in_project": total_images,
            "not_labeled": total_images - with_labels,
            "sizes": _quantiles(image_w)
            and {
                "width": _quantiles(image_w),
                "height": _quantiles(image_h),
                "most_common": [{"size": s, "images": n} for s, n in image_sizes.most_common(5)],
            },
        },
        "boxes": {
            "total": len(widths),
            "per_image": _quantiles(per_image),
            "width": _quantiles(widths),
            "height": _quantiles(heights),
            "area": _quantiles(areas),
            "share_of_image": _quantiles(relative),
            "coco_area_ranges": {k: sizes[k] for k in ("small", "medium", "large")},
        },
        "agreement": _agreement(stored),
        "flags": {**flag_summary(project=project), "resolutions": _resolutions(project)},
        "labelers": labeled_sets.values("labeler_id").distinct().count(),
        "gold": gold_card(project=project),
        "files": {"names": FILE_NAMES, "coordinates": COORDINATES},
        "split": _split(query),
    }


def _split(query: ExportQuery) -> dict | None:
    split = query.split
    if split is None:
        return None
    return {
        "fractions": dict(zip(SUBSETS, query.spec.split.fractions, strict=True)),
        "seed": query.spec.split.seed,
        "images": split.counts(),
        "near_duplicate_groups_kept_together": split.groups_joined,
        "images_in_those_groups": split.images_in_groups,
        "rule": "Images whose perceptual hashes are within "
        f"{NEAR_DUPLICATE_BITS} bits of each other (transitively) go to the same subset.",
    }


def _resolutions(project: Project) -> list[dict]:
    labels = dict(Flag.Resolution.choices)
    rows = (
        Flag.objects.filter(project=project)
        .exclude(resolution="")
        .values("resolution")
        .annotate(n=Count("pk"))
        .order_by("-n", "resolution")
    )
    return [
        {
            "resolution": r["resolution"],
            "label": labels.get(r["resolution"], r["resolution"]),
            "flags": r["n"],
        }
        for r in rows
    ]


def _agreement(stored: ProjectAgreement | None) -> dict:
    if stored is None:
        return {"kalpha": None, "note": "Agreement has not been computed for this project yet."}
    return {
        "kalpha": stored.kalpha,
        "mean_image_score": stored.mean_score,
        "images_assessed": stored.images_assessed,
        "per_class": stored.per_class,
        "match_iou": stored.params.get("match_iou"),
        "engine_version": stored.engine_version,
        "computed_at": stored.computed_at.isoformat(timespec="seconds"),
    }


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _gold_lines(gold: dict) -> list[str]:
    if not gold["images"]:
        return []
    lines = [
        "## Gold images",
        "",
        f"{gold['images']} gold images ({gold['served']} served), whose true boxes the lead set, "
        "were mixed unmarked into the labelers' queues. Answers on them are in no export; "
        f"they score each labeler (TP / (TP + FP + FN) against the gold boxes, "
        f"{gold['confidence']:.0%} interval):",
        "",
    ]
    lines += [
        f"- {row['labeler']}: {_fmt(row['score'], 2)} ({_fmt(row['ci'][0], 2)}-"
        f"{_fmt(row['ci'][1], 2)}) over {row['gold_images']} gold images"
        + (" - paused" if row["paused"] else "")
        for row in gold["labelers"]
    ]
    return [*lines, ""]


def datacard_markdown(card: dict) -> str:
    d, images, boxes, agreement = card["dataset"], card["images"], card["boxes"], card["agreement"]
    lines = [f"# Data card: {d['name']}", ""]
    if d["description"]:
        lines += [d["description"], ""]
    lines += [
        f"Generated {d['generated_at']} by Concord from the **{d['source']}** labels "
        f"({d['labelers_per_image']} independent labelers per image).",
        "",
        "## Filters",
        "",
        *[
            f"- {k}: {', '.join(v) if isinstance(v, list) else _fmt(v, 2)}"
            for k, v in card["filters"].items()
        ],
        "",
        "## Images",
        "",
        f"- exported: {images['exported']} of {images['in_project']} in the project",
        f"- labeled as having no objects (exported empty): {images['empty']}",
        f"- adjudicated by the lead: {images['adjudicated']}",
        f"- not labeled yet (not exported): {images['not_labeled']}",
        f"- withheld because the labelers' classes tie: {images['withheld_class_ties']}",
    ]
    if images["sizes"]:
        common = ", ".join(f"{s['size']} ({s['images']})" for s in images["sizes"]["most_common"])
        lines.append(f"- most common sizes: {common}")
    lines += ["", "## Classes", "", "| class | YOLO index | boxes |", "|---|---|---|"]
    lines += [f"| {c['name']} | {c['index']} | {c['boxes']} |" for c in card["classes"]]
    per = boxes["per_image"] or {}
    lines += [
        "",
        "## Boxes",
        "",
        f"- total: {boxes['total']}; per image: mean {_fmt(per.get('mean'))}, "
        f"median {_fmt(per.get('p50'))}, max {_fmt(per.get('p100'))}",
        "- COCO area ranges: "
        + ", ".join(f"{k} {v}" for k, v in boxes["coco_area_ranges"].items()),
    ]
    if boxes["width"]:
        lines += ["", "| pixels | p5 | p25 | median | p75 | p95 |", "|---|---|---|---|---|---|"]
        for key in ("width", "height"):
            q = boxes[key]
            lines.append(
                f"| box {key} | {_fmt(q['p5'])} | {_fmt(q['p25'])} | {_fmt(q['p50'])} | {_fmt(q['p75'])} | {_fmt(q['p95'])} |"
            )
    lines += ["", "## Agreement", ""]
    if agreement["kalpha"] is None and "note" in agreement:
        lines.append(agreement["note"])
    else:
        lines += [
            f"- K-alpha (Tschirschwitz et al. 2022, IoU {_fmt(agreement['match_iou'], 2)}): {_fmt(agreement['kalpha'], 3)}",
            f"- mean image agreement score: {_fmt(agreement['mean_image_score'], 3)} over {agreement['images_assessed']} images",
        ]
        per_class = agreement.get("per_class") or {}
        if per_class:
            lines += [
                "",
                "Per class (consensus objects; support: share of labelers who boxed them; label "
                "agreement: share who gave the consensus class; IoU: mean pairwise overlap):",
                "",
                "| class | objects | support | label agreement | mean IoU |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {name} | {_fmt(figures.get('objects'))} | {_fmt(figures.get('support'), 2)} "
                f"| {_fmt(figures.get('label_confidence'), 2)} | {_fmt(figures.get('mean_iou'), 2)} |"
                for name, figures in per_class.items()
                if isinstance(figures, dict)
            ]
    lines += ["", "## Instructions", ""]
    ins = card["instructions"]
    lines.append(f"- current version: {_fmt(ins['current_version'])}")
    for row in ins["labeled_under"]:
        version = f"v{row['version']}" if row["version"] else "no version recorded"
        summary = f" ({row['summary']})" if row["summary"] else ""
        lines.append(f"- {version}{summary}: {row['label_sets']} label sets")
    flags = card["flags"]
    lines += [
        "",
        "## Flags (whole project)",
        "",
        f"{flags['open']} open, {flags['settled']} settled.",
        "",
        "| kind | open | resolved | dismissed |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {k['label']} | {k['open']} | {k['resolved']} | {k['dismissed']} |"
        for k in flags["by_kind"]
    ]
    if flags["resolutions"]:
        lines += [
            "",
            "How settled flags were resolved: "
            + ", ".join(f"{r['label'].lower()} {r['flags']}" for r in flags["resolutions"])
            + ".",
        ]
    lines += ["", f"Labelers who contributed: {card['labelers']}.", ""]
    lines += _gold_lines(card["gold"])
    split = card.get("split")
    if split:
        counts = ", ".join(f"{k} {v}" for k, v in split["images"].items())
        lines += [
            "## Split",
            "",
            f"- images: {counts} (seed {split['seed']})",
            f"- {split['rule']} {split['images_in_those_groups']} images in "
            f"{split['near_duplicate_groups_kept_together']} such groups were kept together.",
            "",
        ]
    lines += ["## Files", "", card["files"]["names"], ""]
    lines += [f"- {text}" for text in card["files"]["coordinates"].values()]
    lines.append("")
    return "\n".join(lines)
