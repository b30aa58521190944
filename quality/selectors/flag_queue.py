"""The flag queue: a project's flags narrowed by the lead's filters, a page at a time."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from concord.params import ParamError, id_param
from projects.models import Membership, Project
from quality.models import FLAG_IMPACT_RANK, Flag, FlagLabeler, LabelerAgreement, flag_impact_rank

FLAG_FILTERS = ("kind", "status", "labeler", "label_class")
# The queue's orders: by impact (the default; see models.FLAG_IMPACT_RANK) or by image. Each
# has its index: flag_queue_impact and flag_queue_order.
QUEUE_ORDERS = {"impact": "Impact first", "image": "Image order"}


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
    image = id_param(filters, "image")  # the image review screen's: not one of the list's filters
    if image is not None:
        qs = qs.filter(image_id=image)
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


def flags_in_order(queryset: QuerySet[Flag], order: str) -> QuerySet[Flag]:
    """The queue in `order` (one of QUEUE_ORDERS; anything else is image order). By impact,
    the rank is the very expression the flag_queue_impact index holds, so a page of a
    project's open flags is read from the index."""
    if order == "impact":
        return queryset.alias(impact=flag_impact_rank()).order_by(
            "impact", "-severity", "image_id", "id"
        )
    return queryset.order_by("image_id", "id")


# The queue's sort keys: (field, descending) in order; "impact" is flag_impact_rank().
_ORDER_KEYS = {
    "impact": (("impact", False), ("severity", True), ("image_id", False), ("id", False)),
    "image": (("image_id", False), ("id", False)),
}


def _order_keys(order: str):
    return _ORDER_KEYS["impact" if order == "impact" else "image"]


def _key_values(flag: Flag, order: str) -> dict:
    values = {"image_id": flag.image_id, "id": flag.pk, "severity": flag.severity}
    values["impact"] = FLAG_IMPACT_RANK.get(flag.kind, len(FLAG_IMPACT_RANK))
    return values


def _nearest(queryset: QuerySet[Flag], flag: Flag, order: str, forward: bool, field: str):
    """`field` of the nearest row of `queryset` after (`forward`) or before `flag` in the queue
    order. One query per sort key, nearest first: equal on the keys before it, strictly past
    on it. Each is a range of the order's index (an OR of them is not, and read ~1 s of a
    million-flag queue); the first that finds a row is the answer."""
    keys = _order_keys(order)
    values = _key_values(flag, order)
    queryset = queryset.alias(impact=flag_impact_rank()) if order == "impact" else queryset
    ordering = [f"-{name}" if desc != (not forward) else name for name, desc in keys]
    for depth in range(len(keys) - 1, -1, -1):
        name, desc = keys[depth]
        past = "gt" if desc != forward else "lt"
        equal = {n: values[n] for n, _ in keys[:depth]}
        found = (
            queryset.filter(**equal, **{f"{name}__{past}": values[name]})
            .order_by(*ordering)
            .values_list(field, flat=True)
            .first()
        )
        if found is not None:
            return found
    return None


def flag_neighbours(
    *, flag: Flag, queryset: QuerySet[Flag], order: str = "image"
) -> tuple[int | None, int | None]:
    """Ids of the previous and next flag in the queue order."""
    return (
        _nearest(queryset, flag, order, forward=False, field="id"),
        _nearest(queryset, flag, order, forward=True, field="id"),
    )


def image_neighbours(
    *, image_id: int, queryset: QuerySet[Flag], order: str = "image"
) -> tuple[int | None, int | None]:
    """Ids of the images before and after this one in the queue: from the image's first flag
    in the queue order, the nearest flag of another image each way (by impact an image with
    flags of two kinds is met twice; the second time it is skipped only if it comes first)."""
    first = flags_in_order(queryset.filter(image_id=image_id), order).first()
    if first is None:  # none of its flags is in the queue (any more): from its place by image
        first = Flag(pk=0, image_id=image_id, kind="", severity=0)
        order = "image"
    others = queryset.exclude(image_id=image_id)
    return (
        _nearest(others, first, order, forward=False, field="image_id"),
        _nearest(others, first, order, forward=True, field="image_id"),
    )


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
