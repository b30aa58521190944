"""Instruction pages: the lead's editor (live preview, images, publish), the version history and
the diff between any two versions.

The preview is rendered by the server with the same sanitising renderer as the project page
(projects.markdown), so what the lead previews is exactly what labelers will read.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from projects.instruction_diff import instruction_diff
from projects.instructions import instructions_current
from projects.markdown import render_markdown
from projects.models import InstructionAsset, Membership
from projects.permissions import Capability, has_capability, project_for, role_of
from projects.services import AssetRefused, instruction_asset_add, instructions_edit_publish


@login_required
@require_http_methods(["GET", "POST"])
def instructions_edit(request, slug):
    project = project_for(request, slug, Capability.MANAGE)
    current = instructions_current(project=project)
    body = current.body if current else ""
    summary, errors = "", []
    based_on = current.number if current else 0
    if request.method == "POST":
        body = request.POST.get("body", "")
        summary = request.POST.get("summary", "")
        try:
            based_on = int(request.POST.get("based_on", ""))
        except ValueError:
            based_on = -1
        try:
            version = instructions_edit_publish(
                project=project,
                author=request.user,
                body=body,
                summary=summary,
                based_on=based_on,
            )
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(
                request,
                f"Published instructions version {version.number}. Labelers read and acknowledge "
                "it before their next image.",
            )
            return redirect(project.get_absolute_url() + "#instructions")
    return render(
        request,
        "projects/instructions_edit.html",
        {
            "project": project,
            "role": role_of(request.user, project),
            "current": current,
            "body": body,
            "summary": summary,
            "based_on": based_on,
            "errors": errors,
            "preview_html": render_markdown(body),
            "assets": project.instruction_assets.order_by("-id")[:24],
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def instructions_preview(request, slug):
    project_for(request, slug, Capability.MANAGE)
    return JsonResponse({"html": render_markdown(request.POST.get("body", ""))})


@login_required
@require_POST
def instruction_asset_upload(request, slug):
    project = project_for(request, slug, Capability.MANAGE)
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"detail": "Choose an image file (JPEG, PNG or WebP)."}, status=400)
    try:
        asset = instruction_asset_add(
            project=project, user=request.user, name=upload.name, fileobj=upload
        )
    except AssetRefused as refused:
        return JsonResponse({"detail": str(refused)}, status=400)
    url = asset.get_absolute_url()
    alt = asset.original_name.rsplit(".", 1)[0].replace("[", "").replace("]", "")
    return JsonResponse(
        {
            "id": asset.pk,
            "url": url,
            "width": asset.width,
            "height": asset.height,
            "markdown": f"![{alt}]({url})",
        },
        status=201,
    )


@login_required
@require_safe
def instruction_asset_file(request, slug, asset_id):
    """An instruction image, for members of its project only (others get a 404)."""
    project = project_for(request, slug, Capability.VIEW)
    asset = get_object_or_404(InstructionAsset, pk=asset_id, project=project)
    try:
        response = FileResponse(asset.file.open("rb"))
    except FileNotFoundError:
        raise Http404("The image file is missing from storage.") from None
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_safe
def instructions_history(request, slug):
    project = project_for(request, slug, Capability.VIEW)
    can_manage = has_capability(request.user, project, Capability.MANAGE)
    versions = project.instruction_versions.select_related("author").order_by("-number")
    labelers = None
    if can_manage:
        labelers = project.memberships.filter(role=Membership.Role.LABELER)
        versions = versions.annotate(
            acknowledged=Count(
                "acknowledgements",
                filter=Q(acknowledgements__user__in=labelers.values("user")),
            )
        )
        labelers = labelers.count()
    versions = list(versions)
    return render(
        request,
        "projects/instructions_history.html",
        {
            "project": project,
            "role": role_of(request.user, project),
            "versions": [(v, render_markdown(v.body)) for v in versions],
            "can_manage": can_manage,
            "labelers": labelers,
        },
    )


@login_required
@require_safe
def instructions_diff(request, slug):
    project = project_for(request, slug, Capability.VIEW)
    versions = {v.number: v for v in project.instruction_versions.select_related("author")}
    context = {"project": project, "numbers": sorted(versions), "error": ""}
    if len(versions) < 2:
        context["error"] = (
            "There is only one version of the instructions so far: nothing to compare."
        )
        return render(request, "projects/instructions_diff.html", context)
    newest = max(versions)
    old_number = _number(request.GET.get("from"), newest - 1)
    new_number = _number(request.GET.get("to"), newest)
    bad = [
        (name, request.GET.get(name))
        for name, number in (("from", old_number), ("to", new_number))
        if number not in versions
    ]
    if bad:
        name, raw = bad[0]
        context["error"] = (
            f"{name}={raw}: no such version; this project has versions 1 to {newest}."
        )
        return render(request, "projects/instructions_diff.html", context, status=400)
    old, new = versions[old_number], versions[new_number]
    context.update(
        old=old,
        new=new,
        diff=instruction_diff(old.body, new.body),
        between=[versions[n] for n in sorted(versions) if old.number < n <= new.number],
    )
    return render(request, "projects/instructions_diff.html", context)


def _number(raw, default):
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        return None
