"""The flag queue: a project's flags narrowed by the lead's filters, a page at a time."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from concord.params import ParamError, id_param
from projects.models import Membership, Project
from quality.models import Flag, FlagLabeler, LabelerAgreement

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
    """The queue's filter options; labelers are the project's and whoever has figures in it
    (labelers whose labels were imported are no members)."""
    labelers = dict(
        Membership.objects.filter(project=project, role=Membership.Role.LABELER).values_list(
            "user_id", "user__username"
        )
    )
    labelers.update(
        LabelerAgreement.objects.filter(project=project).values_list(
            "labeler_id", "labeler__username"
        )
    )
    return {
        "kinds": Flag.Kind.choices,
        "statuses": Flag.Status.choices,
        "labelers": sorted(labelers.items(), key=lambda item: item[1]),
        "classes": list(project.classes.values_list("id", "name")),
    }


# Feedback to labelers.
