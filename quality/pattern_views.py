"""Pages of the lead's one-step actions on habits (the report lists them): act, and clarify
the instructions with the habit's worked example."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, When
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from projects.permissions import Capability, project_for
from quality.models import Flag, Pattern
from quality.services import review
from quality.services.pattern_actions import pattern_act, pattern_clarified
from quality.views import instructions_draft_render, instructions_published

DONE = {
    Pattern.Action.ACCEPT_CONSENSUS: "Settled {settled} flag{s} with the consensus.",
    Pattern.Action.FEEDBACK: "Feedback sent: the labeler sees it, with the examples, in My work.",
}


def _report_url(project) -> str:
    return reverse("quality:report", args=[project.slug]) + "#habits"


@login_required
@require_POST
def pattern_act_page(request, slug, pattern_id):
    project = project_for(request, slug, Capability.RESOLVE)
    pattern = get_object_or_404(Pattern, pk=pattern_id, project=project)
    action = request.POST.get("action", "")
    try:
        outcome = pattern_act(
            pattern=pattern, user=request.user, action=action, note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_report_url(project))
    if outcome["redirect"]:
        return redirect(outcome["redirect"])
    text = DONE[action].format(settled=outcome["settled"], s="" if outcome["settled"] == 1 else "s")
    if outcome["skipped"]:
        text += (
            f" {outcome['skipped']} left open: their image's classes tie; settle them one by one."
        )
    messages.success(request, text)
    return redirect(_report_url(project))


def _worked_example(pattern: Pattern, flag: Flag) -> tuple[str, str]:
    """The flag's worked example (review.instructions_draft: labelers by alias), with the
    habit's size: how often it happens, in words naming nobody."""
    body, summary = review.instructions_draft(flag=flag)
    mark = "**The rule:**"
    at = body.rfind(mark)
    how_often = f"**How often:** a labeler {pattern.size}.\n\n"
    if pattern.labeler_id is None:
        how_often = f"**How often:** {pattern.size}.\n\n"
    body = body[:at] + how_often + body[at:] if at >= 0 else body + "\n\n" + how_often
    return body, summary


@login_required
@require_http_methods(["GET", "POST"])
def pattern_instructions(request, slug, pattern_id):
    """ "Clarify": the instructions editor prefilled with the habit's worked example; publishing
    records the decision on the habit (and settles the example flag with the new version)."""
    project = project_for(request, slug, Capability.RESOLVE)
    pattern = get_object_or_404(Pattern, pk=pattern_id, project=project)
    flag = (
        Flag.objects.select_related("image", "project", "label_class")
        .filter(pk__in=pattern.example_flag_ids, project=project)
        .order_by(Case(When(status=Flag.Status.OPEN, then=0), default=1), "id")
        .first()
    )
    if flag is None:
        messages.error(request, "This habit has no flag to show as a worked example.")
        return redirect(_report_url(project))
    body, summary = _worked_example(pattern, flag)
    error = ""
    if request.method == "POST":
        body, summary = request.POST.get("body", ""), request.POST.get("summary", "")
        note = request.POST.get("note", "")
        try:
            if flag.status == Flag.Status.OPEN:
                review.flag_resolve(
                    flag=flag, user=request.user, resolution=Flag.Resolution.INSTRUCTIONS,
                    note=note, instructions_body=body, instructions_summary=summary,
                )  # fmt: skip
            else:
                raise ValidationError("The example flag was settled meanwhile; reload the page.")
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            pattern_clarified(pattern=pattern, user=request.user, flag=flag, note=note)
            instructions_published(request, flag)
            return redirect(_report_url(project))
    return instructions_draft_render(
        request,
        project=project,
        flag=flag,
        body=body,
        summary=summary,
        error=error,
        back_url=_report_url(project),
    )
