"""The project's habits as the report, the API and My work read them."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.urls import reverse

from annotations.models import Box
from projects.markdown import render_markdown
from projects.models import Membership, Project
from quality.aliases import names_replaced
from quality.models import ConsensusBox, Flag, Pattern


def patterns_listed(*, project: Project) -> QuerySet[Pattern]:
    """Habits the latest summary found, and those a lead acted on: strongest support first."""
    return (
        Pattern.objects.filter(project=project)
        .filter(Q(found=True) | Q(status=Pattern.Status.ACTED))
        .select_related("labeler", "label_class", "other_class", "decided_by")
        .order_by("-status", "-support", "id")
    )


KIND_WORDS = {
    "loose_boxes": "Boxes larger than the consensus",
    "tight_boxes": "Boxes smaller than the consensus",
    "grouping": "Rows of objects boxed as one",
    "class_confusion": "Another class given",
    "misses_small": "Small objects missed",
    "misses_class": "Objects missed",
    "duplicates": "Objects boxed twice",
    "ambiguity": "Labelers split between two classes",
}


def strength_text(kind: str, value: float | None) -> str:
    """A strength in words: a rate as a percentage; for loose or tight boxes, the main edge's
    mean offset as a signed share of the object's width or height."""
    if value is None:
        return ""
    if kind in ("loose_boxes", "tight_boxes"):
        return f"{value:+.0%}"
    return f"{value:.0%}"


def pattern_rows(*, project: Project) -> list[dict]:
    """The report's habits: each with its words, figures and example flags."""
    rows = []
    for p in patterns_listed(project=project):
        rows.append(
            {
                "pattern": p,
                "title": KIND_WORDS.get(p.kind, p.kind),
                "who": p.labeler.username if p.labeler else "all labelers",
                "examples": list(p.example_flag_ids),
                "strength": strength_text(p.kind, p.strength),
                "ci": f"{strength_text(p.kind, p.ci_low)} to {strength_text(p.kind, p.ci_high)}",
                "before": strength_text(p.kind, p.before_strength),
                "after": strength_text(p.kind, p.after_strength),
                "after_support": p.after_support,
            }
        )
    return rows


def labeler_habits(*, user, project: Project) -> list[dict]:
    """The caller's own habits for My work: what the labels show, the lead's feedback, and
    3-5 examples, each with only the caller's own box and the consensus box (never another
    labeler's box or name: the consensus is everybody's)."""
    patterns = list(
        Pattern.objects.filter(project=project, labeler=user)
        .filter(Q(found=True) | Q(action=Pattern.Action.FEEDBACK))
        .select_related("label_class")
        .order_by("-decided_at", "-support", "id")
    )
    # The lead's note is the lead's words: other people's names in it are replaced.
    others = dict.fromkeys(
        Membership.objects.filter(project=project)
        .exclude(user=user)
        .values_list("user__username", flat=True),
        "another labeler",
    )
    out = []
    for p in patterns:
        feedback = p.action == Pattern.Action.FEEDBACK
        note = names_replaced(p.note, others) if feedback else ""
        flag_ids = list(p.feedback_flag_ids if feedback else p.example_flag_ids)[:5]
        out.append(
            {
                "id": p.pk,
                "title": KIND_WORDS.get(p.kind, p.kind),
                "label_class": p.label_class.name if p.label_class else "",
                "size": p.size,
                "support": p.support,
                "feedback": feedback,
                "note": note,
                "note_html": render_markdown(note) if note else "",
                "decided_at": p.decided_at if feedback else None,
                "before": strength_text(p.kind, p.before_strength) if feedback else "",
                "after": strength_text(p.kind, p.after_strength) if feedback else "",
                "after_support": p.after_support,
                "examples": own_examples(user=user, flag_ids=flag_ids),
            }
        )
    return out


def own_examples(*, user, flag_ids: list[int]) -> list[dict]:
    """Per flag: the image, the caller's own boxes in it and the consensus box of its object
    (the consensus box that overlaps the flag's boxes most; the other labelers' boxes only
    locate it and are never returned)."""
    flags = {
        f.pk: f for f in Flag.objects.filter(pk__in=flag_ids).select_related("image", "project")
    }
    box_ids = {pk for f in flags.values() for pk in f.box_ids}
    boxes = {b.pk: b for b in Box.objects.filter(pk__in=box_ids).select_related("annotation")}
    consensus: dict[int, list] = {}
    for c in ConsensusBox.objects.filter(image_id__in={f.image_id for f in flags.values()}):
        consensus.setdefault(c.image_id, []).append(c)
    out = []
    for pk in flag_ids:
        flag = flags.get(pk)
        if flag is None:
            continue
        in_flag = [boxes[b] for b in flag.box_ids if b in boxes]
        own = [b for b in in_flag if b.annotation.labeler_id == user.pk]
        best, best_iou = None, 0.0
        for c in consensus.get(flag.image_id, []):
            iou = max((_iou(c, b) for b in in_flag), default=0.0)
            if iou > best_iou:
                best, best_iou = c, iou
        image = flag.image
        view = _view([_rect(b) for b in own] + ([_rect(best)] if best is not None else []),
                     image.width or 1, image.height or 1)  # fmt: skip
        out.append(
            {
                "flag_id": flag.pk,
                "image_id": image.pk,
                "image": image.original_name,
                "width": image.width or 1,
                "height": image.height or 1,
                "url": reverse("projects:image-file", args=[flag.project.slug, image.pk]),
                "own": [_rect(b) | {"id": b.pk} for b in own],
                "consensus": _rect(best) if best is not None else None,
                "view": view,
            }
        )
    return out


def _view(rects: list[dict], width: float, height: float) -> str:
    """An SVG viewBox around the boxes (with room around them: the object's surroundings), so
    a small object is big enough to see; the whole image when there is no box."""
    if not rects:
        return f"0 0 {width} {height}"
    x1 = min(r["x"] for r in rects)
    y1 = min(r["y"] for r in rects)
    x2 = max(r["x"] + r["w"] for r in rects)
    y2 = max(r["y"] + r["h"] for r in rects)
    side = max(x2 - x1, y2 - y1, 24.0) * 1.6  # a square with the boxes in the middle
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return f"{cx - side / 2:.1f} {cy - side / 2:.1f} {side:.1f} {side:.1f}"


def _rect(b) -> dict:
    return {"x": b.x, "y": b.y, "w": b.width, "h": b.height}


def _iou(a, b) -> float:
    ix = max(0.0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0
