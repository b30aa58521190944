"""Pages of the lead's work: the agreement report, the flag queue and the review of one flag."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.decorators.http import require_http_methods, require_safe

from concord.params import id_value
from concord.parsers import JSONTooStrange, json_loads
from projects.instructions import instructions_current
from projects.markdown import render_markdown
from projects.permissions import Capability, has_capability, project_for, require, role_of
from quality.models import Flag
from quality.selectors import flag_queue
from quality.selectors import report as report_selectors
from quality.selectors.patterns import pattern_rows
from quality.services import review

FLAGS_PER_PAGE = 50
FLAGS_COUNTED = 10_000  # the queue counts this far: "10,000+ flags" rather than a full scan


class CappedPaginator(Paginator):
    """A paginator that counts at most `cap` rows (COUNT over a LIMIT subquery).

    An exact count of a 100,000-image project's flags filtered by labeler costs a scan of
    every flag; nobody pages to the 201st page, they narrow the filters instead.
    """

    cap = FLAGS_COUNTED

    @cached_property
    def count(self) -> int:
        return min(self.object_list[: self.cap + 1].count(), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def cap_text(self) -> str:
        return f"{self.cap:,}"

    @cached_property
    def num_pages(self) -> int:
        return super().num_pages if not self.capped else -(-self.cap // self.per_page)


@login_required
@require_safe
def report(request, slug):
    project = project_for(request, slug, Capability.READ_RESULTS)
    data = report_selectors.project_report(project=project)
    return render(
        request,
        "quality/report.html",
        {
            "project": project,
            "role": role_of(request.user, project),
            "report": data,
            "patterns": pattern_rows(project=project),
            "empty": _empty_charts(data),
            "can_resolve": has_capability(request.user, project, Capability.RESOLVE),
            "can_manage": has_capability(request.user, project, Capability.MANAGE),
        },
    )


def _empty_charts(data: dict) -> dict:
    """Which of the report's charts have nothing to draw (the page says why instead)."""
    return {
        "sweep": not data["threshold_sweep"],
        "histogram": not any(row["count"] for row in data["score_histogram"]),
        "flags": not (data["flags"]["open"] or data["flags"]["settled"]),
        "versions": not data["by_instruction_version"],
    }


@login_required
@require_safe
def flag_list(request, slug):
    project = project_for(request, slug, Capability.READ_RESULTS)
    filters = queue_filters(request.GET)
    flags = flag_queue.flags_in_order(
        flag_queue.flags_filtered(project=project, filters=filters), filters["order"]
    )
    page = CappedPaginator(flag_queue.flag_list_rows(flags), FLAGS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "quality/flag_list.html",
        {
            "project": project,
            "page": page,
            "filters": filters,
            "query": queue_query(filters),
            "choices": flag_queue.flag_filter_choices(project=project),
            "orders": flag_queue.QUEUE_ORDERS.items(),
            "can_resolve": has_capability(request.user, project, Capability.RESOLVE),
            "bulk": {
                "url": reverse("api-flags-bulk", args=[project.pk]),
                "filters": {k: filters[k] for k in flag_queue.FLAG_FILTERS if filters[k]},
            },
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def flag_review(request, slug, flag_id):
    project = project_for(request, slug, Capability.READ_RESULTS)
    flag = get_object_or_404(
        Flag.objects.select_related("image", "project", "label_class", "resolved_by"),
        pk=flag_id,
        project=project,
    )
    filters = queue_filters(request.GET)
    queue = flag_queue.flags_filtered(project=project, filters=filters)  # refuses bad ones
    if request.method == "POST":
        require(request.user, project, Capability.RESOLVE)
        try:
            data = resolution_input(request)
            review.flag_resolve(flag=flag, user=request.user, **data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(_review_url(project, flag.pk, filters))
        messages.success(request, f"Flag #{flag.pk} settled: {_settled_text(flag)}")
        return redirect(_after(project, flag, filters))
    previous_id, next_id = flag_queue.flag_neighbours(
        flag=flag, queryset=queue, order=filters["order"]
    )
    return render(
        request,
        "quality/review.html",
        {
            "project": project,
            "flag": flag,
            "data": review.review_data(flag=flag),
            "query": queue_query(filters),
            "previous_url": previous_id and _review_url(project, previous_id, filters),
            "next_url": next_id and _review_url(project, next_id, filters),
            "list_url": reverse("quality:flags", args=[project.slug]) + queue_query(filters),
            "image_url": image_review_url(project, flag.image_id, filters),
            "can_resolve": has_capability(request.user, project, Capability.RESOLVE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def flag_instructions(request, slug, flag_id):
    """ "Instructions unclear": edit the prefilled next instruction version, then publish it."""
    project = project_for(request, slug, Capability.RESOLVE)
    flag = get_object_or_404(
        Flag.objects.select_related("image", "project"), pk=flag_id, project=project
    )
    filters = queue_filters(request.GET)
    flag_queue.flags_filtered(project=project, filters=filters)  # refuses bad filters
    body, summary = review.instructions_draft(flag=flag)
    error = ""
    if request.method == "POST":
        body, summary = request.POST.get("body", ""), request.POST.get("summary", "")
        try:
            review.flag_resolve(
                flag=flag,
                user=request.user,
                resolution=Flag.Resolution.INSTRUCTIONS,
                note=request.POST.get("note", ""),
                instructions_body=body,
                instructions_summary=summary,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            instructions_published(request, flag)
            return redirect(_after(project, flag, filters))
    return instructions_draft_render(
        request,
        project=project,
        flag=flag,
        body=body,
        summary=summary,
        error=error,
        back_url=_review_url(project, flag.pk, filters),
    )


def instructions_published(request, flag: Flag) -> None:
    """Tell the lead which instructions version settling the flag published."""
    flag.refresh_from_db()
    messages.success(
        request,
        f"Published instructions version {flag.instruction_version.number}; labelers "
        "will acknowledge it before their next image.",
    )


def instructions_draft_render(request, *, project, flag: Flag, body, summary, error, back_url):
    """The instructions editor, prefilled with a next version drawn from the flag (a worked
    example), its preview beside the version in force; publishing settles the flag."""
    return render(
        request,
        "quality/instructions_draft.html",
        {
            "project": project,
            "flag": flag,
            "body": body,
            "preview_html": render_markdown(body),
            "summary": summary,
            "error": error,
            "current": instructions_current(project=project),
            "back_url": back_url,
        },
    )


def queue_filters(params) -> dict:
    """The queue's filters from a query string, and its order ("impact" unless asked)."""
    filters = {name: params.get(name, "") for name in flag_queue.FLAG_FILTERS}
    if "status" not in params:
        filters["status"] = Flag.Status.OPEN  # the queue shows what is left to do
    elif filters["status"] == "all":
        filters["status"] = ""
    order = params.get("order", "")
    filters["order"] = order if order in flag_queue.QUEUE_ORDERS else "impact"
    return filters


def queue_query(filters: dict) -> str:
    shown = {k: v for k, v in filters.items() if v and k not in ("status", "order")}
    shown["status"] = filters.get("status") or "all"
    if filters.get("order", "impact") != "impact":
        shown["order"] = filters["order"]
    return "?" + urlencode(shown)


def image_review_url(project, image_id, filters) -> str:
    return reverse("quality:image-review", args=[project.slug, image_id]) + queue_query(filters)


def _review_url(project, flag_id, filters) -> str:
    return reverse("quality:review", args=[project.slug, flag_id]) + queue_query(filters)


def _after(project, flag, filters) -> str:
    queue = flag_queue.flags_filtered(project=project, filters=filters)
    _, next_id = flag_queue.flag_neighbours(flag=flag, queryset=queue, order=filters["order"])
    if next_id:
        return _review_url(project, next_id, filters)
    return reverse("quality:flags", args=[project.slug]) + queue_query(filters)


def resolution_input(request) -> dict:
    resolution = request.POST.get("resolution", "")
    data = {"resolution": resolution, "note": request.POST.get("note", "")}
    if resolution == Flag.Resolution.ACCEPT_LABELER:
        labeler_id = id_value(request.POST.get("accepted_labeler", ""))
        labeler = get_user_model().objects.filter(pk=labeler_id).first() if labeler_id else None
        if labeler is None:
            _invalid("Choose the labeler whose version you accept.")
        data["accepted_labeler"] = labeler
    elif resolution == Flag.Resolution.ADJUDICATED:
        try:
            data["boxes"] = json_loads(request.POST.get("boxes", ""))
        except JSONTooStrange as error:
            _invalid(f"The adjudicated boxes cannot be saved: {error}")
        except ValueError:
            _invalid("The adjudicated boxes did not arrive; draw them again and save.")
        if not isinstance(data["boxes"], list):
            _invalid("The adjudicated boxes must be a list.")
    elif resolution == Flag.Resolution.INSTRUCTIONS:
        raise PermissionDenied("Publish clarified instructions from the instructions page.")
    return data


def _invalid(message: str):
    raise ValidationError(message)


def _settled_text(flag) -> str:
    flag.refresh_from_db()
    text = flag.get_resolution_display().lower()
    if flag.accepted_labeler:
        text += f" ({flag.accepted_labeler.username})"
    along = sorted(flag.settled_flags.values_list("pk", flat=True))
    if along:
        text += "; it set the image's labels, so it also settled " + ", ".join(
            f"#{pk}" for pk in along
        )
    return text + "."
