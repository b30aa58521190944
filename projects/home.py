"""The home page's rows: each of the user's projects with its progress, agreement and open flags
at a glance, read from the stored report figures and summary (a fixed number of queries however
many projects: no count per project)."""

from django.db.models import Count

from annotations.models import Annotation
from projects.models import Image, Membership, Project
from projects.permissions import ROLE_CAPABILITIES, Capability

_RELATED = ("figures", "agreement")


def home_rows(*, user) -> list[dict]:
    memberships = (
        Membership.objects.filter(user=user, project__archived=False)
        .select_related(*(f"project__{name}" for name in _RELATED))
        .order_by("project__name")
    )
    rows = [(m.project, m.get_role_display(), m.role) for m in memberships]
    if user.is_superuser:
        member_of = {m.project_id for m in memberships}
        rows += [
            (p, "Superuser (acts as lead)", Membership.Role.LEAD)
            for p in Project.objects.filter(archived=False)
            .exclude(pk__in=member_of)
            .select_related(*_RELATED)
        ]
    rows.sort(key=lambda row: row[0].name.lower())
    unsummarized = [p.pk for p, _, _ in rows if _figures(p) is None]
    image_counts = (
        dict(
            Image.objects.filter(project_id__in=unsummarized)
            .values_list("project")
            .annotate(n=Count("pk"))
            .order_by()
        )
        if unsummarized
        else {}
    )
    labeled = [p.pk for p, _, role in rows if role == Membership.Role.LABELER]
    mine = (
        dict(
            Annotation.objects.filter(
                labeler=user,
                image__project_id__in=labeled,
                kind__in=Annotation.LABELER_KINDS,
                status=Annotation.Status.SUBMITTED,
            )
            .values_list("image__project")
            .annotate(n=Count("pk"))
            .order_by()
        )
        if labeled
        else {}
    )
    return [
        _row(project, label, role, image_counts.get(project.pk, 0), mine.get(project.pk, 0))
        for project, label, role in rows
    ]


def _figures(project):
    return getattr(project, "figures", None)


def _row(project, role_label, role, image_count, my_submitted) -> dict:
    figures = _figures(project)
    agreement = getattr(project, "agreement", None)
    progress = (figures.progress or {}) if figures else {}
    total = int(progress.get("total") or image_count)
    complete = int(progress.get("complete") or 0)
    untouched = int(progress.get("untouched") or (total if figures is None else 0))
    in_progress = max(total - complete - untouched, 0)
    reads_results = Capability.READ_RESULTS in ROLE_CAPABILITIES.get(role, ())
    open_flags = None
    if figures is not None:
        open_flags = sum(
            int(statuses.get("open", 0)) for statuses in (figures.flags_by_kind or {}).values()
        )
    return {
        "project": project,
        "role": role,
        "role_label": role_label,
        "reads_results": reads_results,
        "total": total,
        "complete": complete,
        "in_progress": in_progress,
        "untouched": untouched,
        "complete_pct": round(100 * complete / total) if total else 0,
        "progress_pct": round(100 * in_progress / total) if total else 0,
        "kalpha": agreement.kalpha if agreement and reads_results else None,
        "mean_score": agreement.mean_score if agreement and reads_results else None,
        "open_flags": open_flags if reads_results else None,
        "my_submitted": my_submitted,
        "as_of": figures.computed_at if figures else None,
    }
