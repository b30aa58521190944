"""The report's model section: each model's predictions against the consensus, per class.

Adds up the stored ModelComparison rows (one GROUP BY, written with the model_disagrees flags
by quality.services.model_comparison): per class, the consensus objects, the model's boxes, how many
objects the model boxed with the same class (agreed) or another (other class), and the model's
boxes no labeler drew (unboxed); recall = agreed / objects, precision = agreed / the model's
boxes, F1 between the two. A model is never a labeler: none of this enters K-alpha or anyone's
figures.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Sum

from projects.models import Project
from quality.models import ModelComparison

FIELDS = ("consensus", "predicted", "agreed", "other_class", "unboxed")


def model_agreement(*, project: Project) -> list[dict]:
    """Per model (by name): images compared, per-class and overall figures."""
    rows = list(
        ModelComparison.objects.filter(project=project)
        .values("model_id", "label_class_id")
        .order_by()
        .annotate(**{f: Sum(f) for f in FIELDS})
    )
    if not rows:
        return []
    images = dict(
        ModelComparison.objects.filter(project=project)
        .values("model_id")
        .order_by()
        .annotate(n=Count("image_id", distinct=True))
        .values_list("model_id", "n")
    )
    names = dict(get_user_model().objects.filter(pk__in=images).values_list("pk", "username"))
    classes = list(project.classes.all())
    out = []
    for model_id in sorted(images, key=lambda pk: names[pk]):
        mine = {r["label_class_id"]: r for r in rows if r["model_id"] == model_id}
        per_class = [
            {"id": c.pk, "name": c.name, "color": c.color, **_figures(mine[c.pk])}
            for c in classes
            if c.pk in mine
        ]
        if None in mine:  # consensus objects whose class is a tie
            per_class.append({"id": None, "name": "undecided", "color": "#9ca3af",
                              **_figures(mine[None])})  # fmt: skip
        overall = _figures({f: sum(r[f] for r in mine.values()) for f in FIELDS})
        out.append(
            {"model": names[model_id], "images": images[model_id], "overall": overall,
             "per_class": per_class}
        )  # fmt: skip
    return out


def _figures(row: dict) -> dict:
    counts = {f: int(row[f] or 0) for f in FIELDS}
    objects, predicted, agreed = counts["consensus"], counts["predicted"], counts["agreed"]
    return {
        **counts,
        "recall": agreed / objects if objects else None,
        "precision": agreed / predicted if predicted else None,
        "f1": 2 * agreed / (objects + predicted) if objects + predicted else None,
    }
