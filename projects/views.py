from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from projects.models import Image, Membership, Project
from projects.permissions import Capability, can_create_projects, require, role_of


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user, project__archived=False)
        .select_related("project")
        .order_by("project__name")
    )
    rows = [(m.project, m.get_role_display(), m.role) for m in memberships]
    if request.user.is_superuser:
        member_of = {m.project_id for m in memberships}
        rows += [
            (p, "Superuser (acts as lead)", "lead")
            for p in Project.objects.filter(archived=False).exclude(pk__in=member_of)
        ]
    return render(
        request,
        "projects/home.html",
        {"rows": rows, "can_create": can_create_projects(request.user)},
    )


@login_required
def project_detail(request, slug):
    project = get_object_or_404(Project, slug=slug)
    require(request.user, project, Capability.VIEW)
    return render(
        request,
        "projects/detail.html",
        {
            "project": project,
            "role": role_of(request.user, project),
            "instructions": project.current_instructions,
            "classes": project.classes.all(),
        },
    )


@login_required
def image_file(request, slug, image_id):
    """Serve an image's pixels to members of its project only."""
    project = get_object_or_404(Project, slug=slug)
    require(request.user, project, Capability.VIEW)
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
