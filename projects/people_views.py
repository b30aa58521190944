"""Pages for who is in a project: the lead's People page, its user picker, and the page where an
invited person creates their account.

Each form on the People page posts an ``action``; the view parses it, calls one service and
shows the result on the same page (as the settings page does).
"""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from concord.params import id_value
from projects import people
from projects.models import Invitation, Membership
from projects.permissions import Capability, project_for
from projects.services import membership_set


@login_required
@require_http_methods(["GET", "POST"])
def people_page(request, slug):
    project = project_for(request, slug, Capability.MANAGE)
    context = {"project": project, "errors": [], "posted": {}}
    if request.method == "POST":
        action = request.POST.get("action", "")
        handler = _ACTIONS.get(action)
        try:
            if handler is None:
                raise ValidationError(f"Unknown action {action!r}.")
            result = handler(request, project)
        except ValidationError as error:
            context.update(errors=error.messages, posted=request.POST, error_action=action)
        else:
            if isinstance(result, dict):  # a new invitation: its link is shown once, here
                context.update(result)
            else:
                return redirect(result)
    context.update(
        members=project.memberships.select_related("user").order_by("role", "user__username"),
        roles=Membership.Role.choices,
        invitations=people.invitations_pending(project=project),
        search_min=people.USER_SEARCH_MIN_CHARS,
    )
    return render(request, "projects/people.html", context)


@login_required
@require_safe
def user_search(request, slug):
    """Users whose name starts with ``q`` (a few, for the member picker): leads only."""
    project = project_for(request, slug, Capability.MANAGE)
    return JsonResponse(
        {"users": people.users_matching(project=project, prefix=request.GET.get("q", ""))}
    )


def _people_url(project, anchor="members") -> str:
    return reverse("project-settings:people", args=[project.slug]) + f"#{anchor}"


def _membership(request, project) -> Membership:
    membership_id = id_value(request.POST.get("membership", ""))
    if membership_id is None:
        raise ValidationError("Choose a member.")
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, project=project
    )


def _role_change(request, project) -> str:
    membership = _membership(request, project)
    membership = membership_set(
        project=project, user=membership.user, role=request.POST.get("role", "")
    )
    messages.success(request, f"{membership.user.username} is now {membership.get_role_display()}.")
    return _people_url(project)


def _remove(request, project) -> str:
    membership = _membership(request, project)
    people.membership_remove(project=project, membership=membership)
    messages.success(
        request,
        f"Removed {membership.user.username} from {project.name}. Their submitted labels stay.",
    )
    return _people_url(project)


def _add(request, project) -> str:
    username = request.POST.get("username", "").strip()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError(
            f"No user is called “{username}”. Check the spelling, or invite them below: "
            "the invitation link lets them create an account."
        )
    membership = membership_set(project=project, user=user, role=request.POST.get("role", ""))
    messages.success(request, f"{user.username} is now {membership.get_role_display()}.")
    return _people_url(project)


def _invite(request, project) -> dict:
    invitation, token = people.invitation_create(
        project=project,
        created_by=request.user,
        role=request.POST.get("role", ""),
        note=request.POST.get("note", ""),
    )
    link = request.build_absolute_uri(reverse("invitation", args=[token]))
    return {"new_invitation": invitation, "new_link": link}


def _revoke(request, project) -> str:
    invitation_id = id_value(request.POST.get("invitation", ""))
    invitation = get_object_or_404(Invitation, pk=invitation_id or 0, project=project)
    people.invitation_revoke(invitation=invitation)
    messages.success(request, "Invitation withdrawn: its link no longer works.")
    return _people_url(project, "invitations")


_ACTIONS = {
    "role": _role_change,
    "remove": _remove,
    "add": _add,
    "invite": _invite,
    "revoke": _revoke,
}


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """Open to anyone holding the link: create an account (or use the one logged in) and join."""
    try:
        invitation = people.invitation_for_token(token)
    except people.InvitationUnusable as unusable:
        return render(
            request, "registration/invitation.html", {"unusable": str(unusable)}, status=410
        )
    errors, username = [], ""
    if request.method == "POST":
        username = request.POST.get("username", "")
        as_current = request.POST.get("as_current") == "1" and request.user.is_authenticated
        password = request.POST.get("password", "")
        try:
            if not as_current and password != request.POST.get("password2", ""):
                raise ValidationError("The two passwords differ; type the same password twice.")
            user = people.invitation_accept(
                token=token,
                username=username,
                password=password,
                user=request.user if as_current else None,
            )
        except people.InvitationUnusable as unusable:
            return render(
                request, "registration/invitation.html", {"unusable": str(unusable)}, status=410
            )
        except ValidationError as error:
            errors = error.messages
        else:
            if not as_current:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Welcome, {user.username}: you joined {invitation.project.name} as "
                f"{invitation.get_role_display()}.",
            )
            return redirect(invitation.project.get_absolute_url())
    return render(
        request,
        "registration/invitation.html",
        {"invitation": invitation, "errors": errors, "username": username},
    )
