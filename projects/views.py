from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_safe

from accounts.authentication import login_or_token_required
from projects.home import home_rows
from projects.instructions import (
    instructions_current,
    instructions_pending_for,
    last_acknowledged_version,
)
from projects.markdown import render_markdown
from projects.models import Image
from projects.permissions import (
    Capability,
    can_create_projects,
    has_capability,
    project_for,
    role_of,
)


@login_required
@require_safe
def home(request):
    return render(
        request,
        "projects/home.html",
        {"rows": home_rows(user=request.user), "can_create": can_create_projects(request.user)},
    )


@login_required
@require_safe
def project_detail(request, slug):
    """Instructions (rendered, sanitised), class guidance, and for labelers: acknowledge, start."""
    project = project_for(request, slug, Capability.VIEW)
    instructions = instructions_current(project=project)
    is_labeler = has_capability(request.user, project, Capability.LABEL)
    pending = instructions_pending_for(user=request.user, project=project) if is_labeler else None
    changes = []
    last_acknowledged = None
    if pending is not None:
        last_acknowledged = last_acknowledged_version(user=request.user, project=project)
        if last_acknowledged is not None:
            changes = [
                (version, render_markdown(version.body))
                for version in project.instruction_versions.filter(
                    number__gt=last_acknowledged.number
                ).order_by("number")
            ]
    return render(
        request,
        "projects/detail.html",
        {
            "project": project,
            "role": role_of(request.user, project),
            "instructions": instructions,
            "instructions_html": render_markdown(instructions.body) if instructions else "",
            "classes": [(c, render_markdown(c.guidance)) for c in project.classes.all()],
            "is_labeler": is_labeler,
            "pending": pending,
            "last_acknowledged": last_acknowledged,
            "changes": changes,
        },
    )


@login_or_token_required
@require_safe
def image_file(request, slug, image_id):
    """Serve an image's pixels to members of its project only (by session or API token)."""
    project = project_for(request, slug, Capability.VIEW)
    image = get_object_or_404(Image, pk=image_id, project=project)
    try:
        return FileResponse(image.file.open("rb"))
    except FileNotFoundError:
        raise Http404("The image file is missing from storage.") from None


@require_GET
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
