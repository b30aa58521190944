"""Pages for leads: project settings (classes, overlap, thresholds, members, uploads) and creation.

Each form on the settings page posts an ``action``; the view parses it, calls one service and
shows the result on the same page.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from concord.params import id_param, id_value
from projects import classes as class_services
from projects.ingest import images_ingest
from projects.instructions import instructions_current
from projects.models import LabelClass, Membership
from projects.permissions import Capability, can_create_projects, project_for
from projects.services import (
    label_class_save,
    membership_set,
    project_create,
    project_settings_update,
)

THRESHOLD_FIELDS = ("match_iou", "low_iou")


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request, slug):
    project = project_for(request, slug, Capability.MANAGE)
    context = {"project": project, "run_id": id_param(request.GET, "run")}
    if request.method == "POST":
        action = request.POST.get("action", "")
        handler = _ACTIONS.get(action)
        if handler is None:
            messages.error(request, f"Unknown settings action {action!r}.")
        else:
            try:
                result = handler(request, project)
            except ValidationError as error:
                context["error_action"] = action
                context["errors"] = _messages_of(error)
                context["posted"] = request.POST
            else:
                if action == "upload":
                    context["ingest_results"] = result
                else:
                    return redirect(result)
    project.refresh_from_db()
    usage = class_services.label_class_usage(project=project)
    classes = list(project.classes.all())
    context.update(
        classes=[(c, usage.get(c.pk, {"boxes": 0, "images": 0})) for c in classes],
        suggestion=class_services.label_class_suggestion(project=project),
        members=project.memberships.select_related("user").order_by("role", "user__username"),
        roles=Membership.Role.choices,
        image_count=project.images.count(),
        instructions=instructions_current(project=project),
    )
    return render(request, "projects/settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request):
    if not can_create_projects(request.user):
        raise PermissionDenied("Ask an administrator for the right to create projects.")
    errors, posted = [], {}
    if request.method == "POST":
        posted = request.POST
        try:
            project = project_create(
                creator=request.user,
                name=posted.get("name", ""),
                description=posted.get("description", ""),
                labelers_per_image=_int(posted.get("labelers_per_image"), "labelers_per_image"),
                instructions=posted.get("instructions", ""),
            )
        except ValidationError as error:
            errors = _messages_of(error)
        else:
            next_steps = "classes, members and images"
            if instructions_current(project=project) is None:
                next_steps = "the instructions (from Instructions above), " + next_steps
            messages.success(request, f"Created {project.name}. Add {next_steps} next.")
            return redirect(reverse("project-settings:settings", args=[project.slug]))
    return render(request, "projects/settings_new.html", {"errors": errors, "posted": posted})


def _save_project(request, project) -> str:
    before = {name: getattr(project, name) for name in THRESHOLD_FIELDS}
    run = project_settings_update(
        project=project,
        user=request.user,
        labelers_per_image=_int(request.POST.get("labelers_per_image"), "labelers_per_image"),
        match_iou=_float(request.POST.get("match_iou"), "match_iou"),
        low_iou=_float(request.POST.get("low_iou"), "low_iou"),
    )
    url = reverse("project-settings:settings", args=[project.slug])
    if run is None:
        messages.success(request, "Saved.")
        return url
    after = ", ".join(f"{k} {before[k]} → {getattr(project, k)}" for k in THRESHOLD_FIELDS)
    messages.success(request, f"Saved ({after}). Agreement is being recomputed.")
    return f"{url}?run={run.pk}#thresholds"


def _save_class(request, project) -> str:
    class_id = id_param(request.POST, "class_id")
    label_class = get_object_or_404(LabelClass, pk=class_id, project=project) if class_id else None
    saved = label_class_save(
        project=project,
        label_class=label_class,
        name=request.POST.get("name", ""),
        color=request.POST.get("color") or None,
        hotkey=request.POST.get("hotkey", ""),
        guidance=request.POST.get("guidance", ""),
    )
    messages.success(request, f"Saved class {saved.name}.")
    return reverse("project-settings:settings", args=[project.slug]) + "#classes"


def _label_class(request, project, field="class_id") -> LabelClass:
    class_id = id_value(request.POST.get(field, ""))
    if class_id is None:
        raise ValidationError({field: "Choose a class."})
    return get_object_or_404(LabelClass, pk=class_id, project=project)


def _classes_url(project) -> str:
    return reverse("project-settings:settings", args=[project.slug]) + "#classes"


def _delete_class(request, project) -> str:
    label_class = _label_class(request, project)
    class_services.label_class_delete(label_class=label_class)
    messages.success(request, f"Deleted class {label_class.name}.")
    return _classes_url(project)


def _merge_class(request, project) -> str:
    source = _label_class(request, project)
    target = _label_class(request, project, "into")
    moved = class_services.label_class_merge(source=source, target=target)
    messages.success(
        request,
        f"Merged {source.name} into {target.name}: {moved['boxes']} boxes on {moved['images']} "
        "images moved; those images are being assessed again.",
    )
    return _classes_url(project)


def _move_class(request, project) -> str:
    step = -1 if request.POST.get("direction") == "up" else 1
    class_services.label_class_move(label_class=_label_class(request, project), step=step)
    return _classes_url(project)


def _save_member(request, project) -> str:
    username = request.POST.get("username", "").strip()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError(
            {"username": f"No user is called “{username}”; check the spelling of the username."}
        )
    membership = membership_set(project=project, user=user, role=request.POST.get("role", ""))
    messages.success(request, f"{user.username} is now {membership.get_role_display()}.")
    return reverse("project-settings:settings", args=[project.slug]) + "#members"


def _upload(request, project):
    files = request.FILES.getlist("files")
    if not files:
        raise ValidationError({"files": "Choose one or more images (JPEG, PNG, WebP) or a zip."})
    return images_ingest(project=project, files=[(f.name, f) for f in files])


_ACTIONS = {
    "project": _save_project,
    "class": _save_class,
    "class_delete": _delete_class,
    "class_merge": _merge_class,
    "class_move": _move_class,
    "member": _save_member,
    "upload": _upload,
}


def _messages_of(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [m for messages_ in error.message_dict.values() for m in messages_]
    return list(error.messages)


def _int(value, name) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: f"{name.replace('_', ' ')} must be a whole number."}) from None


def _float(value, name) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationError(
            {name: f"{name.replace('_', ' ')} must be a number like 0.5."}
        ) from None
