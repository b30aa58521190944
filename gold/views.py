"""The lead's gold page: gold images, each labeler's standing and score, the gold policy; and the
"make gold" form of an image's page. Engineers read it; leads change it."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotations.selectors import annotation_of_owner
from concord.params import id_value
from gold import selectors, services
from gold.feedback import answer_feedback
from gold.models import GoldImage
from gold.services import GoldInvalid
from projects.models import Image, Membership, Project
from projects.permissions import Capability, has_capability, project_for, require
from quality.selectors.report import labeler_table

PERCENT_FIELDS = ("rate", "qualify_threshold", "threshold", "confidence")
COUNT_FIELDS = ("qualification_size", "min_images", "feedback_limit")


@login_required
@require_http_methods(["GET", "POST"])
def gold_page(request, slug):
    project = project_for(request, slug, Capability.READ_RESULTS)
    if request.method == "POST":
        require(request.user, project, Capability.MANAGE)
        try:
            message = _act(request, project)
        except GoldInvalid as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, message)
        return redirect("gold:page", slug=project.slug)
    rows = labeler_table(project=project)
    rows.sort(key=lambda r: (not (r["gold"] and r["gold"]["paused"]), r["username"]))
    return render(
        request,
        "gold/page.html",
        {
            "project": project,
            "policy": selectors.policy_of(project),
            "labelers": rows,
            "paused": sum(1 for r in rows if r["gold"] and r["gold"]["paused"]),
            "golds": selectors.gold_images(project=project),
            "can_manage": has_capability(request.user, project, Capability.MANAGE),
        },
    )


def _act(request, project: Project) -> str:
    action = request.POST.get("action", "")
    if action == "policy":
        services.gold_policy_save(project=project, **_policy_fields(request.POST))
        return "Gold settings saved."
    if action == "resume":
        member = Membership.objects.filter(
            project=project, user_id=id_value(request.POST.get("labeler")), role="labeler"
        ).first()
        if member is None:
            raise GoldInvalid("No such labeler in this project.")
        labeler = get_user_model().objects.get(pk=member.user_id)
        services.labeler_resume(project=project, labeler=labeler, user=request.user)
        return f"{labeler.username} can label again; the pause rule counts their gold from now."
    if action in ("serve", "retire"):
        gold = GoldImage.objects.filter(project=project, pk=id_value(request.POST.get("gold")))
        if not gold.exists():
            raise GoldInvalid("No such gold image in this project.")
        services.gold_image_activate(gold=gold.get(), active=action == "serve")
        return "Served to labelers again." if action == "serve" else "No longer served."
    raise GoldInvalid(f"Unknown action {action!r}.")


def _policy_fields(post) -> dict:
    fields = {}
    for name in PERCENT_FIELDS:
        try:
            fields[name] = float(post.get(name, "")) / 100
        except ValueError:
            raise GoldInvalid(f"{name.replace('_', ' ')}: give a percentage.") from None
    for name in COUNT_FIELDS:
        value = post.get(name, "")
        if not (value.isascii() and value.isdigit()):
            raise GoldInvalid(f"{name.replace('_', ' ')}: give a whole number.")
        fields[name] = int(value)
    fields["feedback"] = post.get("feedback") == "on"
    return fields


@login_required
@require_POST
def image_make_gold(request, slug, image_id):
    """From an image's page: make it gold from its adjudication or its consensus."""
    project = project_for(request, slug, Capability.MANAGE)
    image = get_object_or_404(Image, pk=image_id, project=project)
    try:
        gold = services.gold_image_save(
            project=project, image=image, user=request.user, source=request.POST.get("source", "")
        )
    except GoldInvalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{image.original_name} is gold (version {gold.version}, {gold.boxes.count()} boxes); "
            "the queue mixes it in without telling anyone.",
        )
    return redirect(reverse("projects:image", args=[project.slug, image.pk]))


@login_required
@require_safe
def feedback_page(request, slug, annotation_id):
    """The labeler's own gold answer drawn against the gold, right after they submitted it."""
    project = project_for(request, slug, Capability.LABEL)
    annotation = annotation_of_owner(annotation_id=annotation_id, user=request.user)
    if annotation.image.project_id != project.pk:
        raise Http404("No feedback for this image.")
    return render(
        request,
        "gold/feedback.html",
        {"project": project, "feedback": answer_feedback(annotation=annotation)},
    )
