"""Class names of imported labels mapped onto the project's classes.

A name matches the project's class of that name, ignoring case. Names the project does not
have are counted (boxes per name) and, as the lead chose for the import: refused (the file is
not imported; the report lists them), added to the project as new classes, or ignored (their
boxes are left out, counted in the report).
"""

from __future__ import annotations

from projects.models import LabelClass, Project
from projects.services import label_class_save

UNKNOWN_CHOICES = ("refuse", "add", "ignore")


class UnknownClasses(ValueError):
    def __init__(self, counts: dict[str, int]):
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))
        super().__init__(
            f"classes the project does not have: {listed}. Add them to the project, or import "
            "again choosing to add or ignore unknown classes."
        )
        self.counts = counts


def classes_resolve(
    *, project: Project, counts: dict[str, int], unknown: str
) -> tuple[dict[str, int | None], list[str]]:
    """({label name: class id, or None for boxes to leave out}, names of classes added).

    ``counts``: boxes per label name in the file. Raises UnknownClasses when ``unknown`` is
    "refuse" and some name is not a class of the project. Call inside the file's transaction.
    """
    existing = {c.name.casefold(): c.pk for c in LabelClass.objects.filter(project=project)}
    out: dict[str, int | None] = {}
    missing: dict[str, int] = {}
    for name, n in counts.items():
        found = existing.get(name.strip().casefold())
        if found is None:
            missing[name] = n
        out[name] = found
    if not missing:
        return out, []
    if unknown == "refuse":
        raise UnknownClasses(missing)
    added = []
    if unknown == "add":
        for name in sorted(missing, key=str.casefold):
            key = name.strip().casefold()
            if key not in existing:
                existing[key] = label_class_save(project=project, name=name.strip()[:100]).pk
                added.append(name.strip())
            out[name] = existing[key]
    return out, added
