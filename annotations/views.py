"""Labeling pages: the labeling screen, the labeler's own work, the acknowledge form."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from annotations import selectors
from annotations.services import annotation_is_editable
from concord.params import id_value
from gold.selectors import policy_of
from projects.instructions import instructions_pending_for
from projects.markdown import render_markdown
from projects.models import InstructionVersion, Project
from projects.palette import RESERVED_KEYS, hotkey_free
from projects.permissions import Capability, has_capability, project_for
from projects.services import instruction_acknowledge
from quality.selectors.feedback import labeler_feedback
from quality.selectors.patterns import labeler_habits


@login_required
@require_safe
def label(request, slug):
    project = project_for(request, slug, Capability.LABEL)
    pending = instructions_pending_for(user=request.user, project=project)
    if pending is not None:
        messages.info(
            request,
            f"The instructions changed (version {pending.number}). Read them and acknowledge "
            "them to start labeling.",
        )
        return redirect(project)
    reopen = None
    if "annotation" in request.GET:
        annotation_id = id_value(request.GET["annotation"])
        if annotation_id is None:
            raise Http404("No annotation of yours with this id.")
        annotation = selectors.annotation_of_owner(annotation_id=annotation_id, user=request.user)
        if annotation.image.project_id != project.pk:
            raise Http404("No annotation of yours with this id in this project.")
        reopen = annotation.pk
    config = {
        "projectId": project.pk,
        "reopen": reopen,
        "queueUrl": reverse("api-queue-next", args=[project.pk]),
        "queueStatusUrl": reverse("api-queue-status", args=[project.pk]),
        "graceMinutes": settings.LABEL_EDIT_GRACE_MINUTES,
        "annotationUrl": reverse("api-annotation", args=[0]),
        "submitUrl": reverse("api-annotation-submit", args=[0]),
        "projectUrl": project.get_absolute_url(),
        "myWorkUrl": reverse("projects:my-work", args=[project.slug]),
        "classes": palette(project),
        # Asked after every submit when the project gives feedback on gold images (404 for
        # every other image): the same requests whichever image was gold.
        "feedbackUrl": reverse("api-annotation-feedback", args=[0])
        if policy_of(project).feedback
        else None,
    }
    return render(
        request,
        "annotations/label.html",
        {"project": project, "config": config, "classes": config["classes"]},
    )


def palette(project: Project) -> list[dict]:
    """Classes with their hotkeys; a class without one, or with a key the page keeps for
    itself, gets the next free digit 1-9."""
    classes = list(project.classes.all())
    taken = {c.hotkey for c in classes if c.hotkey and c.hotkey not in RESERVED_KEYS}
    rows = []
    for c in classes:
        key = c.hotkey if c.hotkey in taken else hotkey_free(taken)
        taken.add(key)
        rows.append(
            {
                "id": c.pk,
                "name": c.name,
                "color": c.color,
                "hotkey": key,
                "guidance": str(render_markdown(c.guidance)),
            }
        )
    return rows


@login_required
@require_safe
def my_work(request, slug):
    project = project_for(request, slug, Capability.LABEL)
    rows = list(selectors.my_work(project=project, labeler=request.user))
    for row in rows:
        row.editable = annotation_is_editable(row)
    return render(
        request,
        "annotations/my_work.html",
        {
            "project": project,
            "rows": rows,
            "totals": selectors.my_work_totals(project=project, labeler=request.user),
            "feedback": labeler_feedback(user=request.user, project=project),
            "habits": labeler_habits(user=request.user, project=project),
        },
    )


@login_required
@require_POST
def instructions_acknowledge(request, slug, number):
    project = project_for(request, slug, Capability.VIEW)
    version = get_object_or_404(InstructionVersion, project=project, number=number)
    instruction_acknowledge(user=request.user, version=version)
    if has_capability(request.user, project, Capability.LABEL) and not instructions_pending_for(
        user=request.user, project=project
    ):
        return redirect("projects:label", slug=project.slug)
    messages.success(request, f"You acknowledged version {version.number} of the instructions.")
    return redirect(project)
