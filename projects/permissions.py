"""Who may do what in a project: the one place every page and API endpoint asks.

A user's power in a project comes from their Membership role. Superusers act as leads. Anyone who
is not a member is told the project does not exist (404), so outsiders cannot probe for projects;
a member without the needed capability gets 403.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404
from rest_framework import permissions

from projects.models import Membership, Project

Role = Membership.Role


class Capability(StrEnum):
    VIEW = "view"  # see the project page and its instructions
    LABEL = "label"  # take images from the queue and label them (blind)
    READ_RESULTS = "read_results"  # agreement report, flags, all labelers' boxes
    EXPORT = "export"  # exports and data card
    MANAGE = "manage"  # settings, classes, instructions, members, uploads
    RESOLVE = "resolve"  # resolve flags, adjudicate


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.LEAD: frozenset(
        {
            Capability.VIEW,
            Capability.READ_RESULTS,
            Capability.EXPORT,
            Capability.MANAGE,
            Capability.RESOLVE,
        }
    ),
    Role.ENGINEER: frozenset({Capability.VIEW, Capability.READ_RESULTS, Capability.EXPORT}),
    Role.LABELER: frozenset({Capability.VIEW, Capability.LABEL}),
}


def role_of(user, project: Project) -> str | None:
    """The user's role in the project, or None for outsiders. Superusers act as leads."""
    if not getattr(user, "is_authenticated", False):
        return None
    cache = _roles_known(user)
    if project.pk not in cache:
        membership_role = (
            Membership.objects.filter(project=project, user=user)
            .values_list("role", flat=True)
            .first()
        )
        role_remember(user, project.pk, membership_role)
    return cache[project.pk]


def membership_role(user, project_ref="pk") -> Subquery:
    """The user's Membership role in the project at ``project_ref`` (an OuterRef path), or null:
    annotate it on the query that loads the project, then role_remember it (one query less)."""
    role = Membership.objects.filter(project=OuterRef(project_ref), user=user).values("role")
    return Subquery(role[:1])


def role_remember(user, project_id: int, membership_role: str | None) -> None:
    """Record the user's role in a project, read along with something else (membership_role)."""
    if membership_role is None and user.is_superuser:
        membership_role = Role.LEAD
    _roles_known(user)[project_id] = membership_role


def _roles_known(user) -> dict:
    cache = getattr(user, "_concord_roles", None)
    if cache is None:
        cache = user._concord_roles = {}
    return cache


def capabilities_of(user, project: Project) -> frozenset[Capability]:
    role = role_of(user, project)
    return ROLE_CAPABILITIES.get(role, frozenset()) if role else frozenset()


def has_capability(user, project: Project, capability: Capability) -> bool:
    return capability in capabilities_of(user, project)


def require(user, project: Project, capability: Capability) -> None:
    """Raise Http404 for outsiders and PermissionDenied for members who lack the capability."""
    if role_of(user, project) is None:
        raise Http404("No such project.")
    if not has_capability(user, project, capability):
        raise PermissionDenied(f"Your role in {project.name} does not allow this ({capability}).")


def projects_visible_to(user):
    """Projects where the user has any role (all projects for superusers)."""
    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def can_create_projects(user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_staff or user.has_perm("projects.add_project"))
    )


class HasProjectCapability(permissions.BasePermission):
    """DRF permission for views that set `required_capability` and resolve `get_project()`.

    Views call `check_project(request, project)` via `self.check_object_permissions`-style hook:
    each view loads its project and passes it to `require`, which raises 404/403 as above.
    """

    message = "You do not have the role in this project that this action needs."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        project = view.get_project()
        capability = getattr(view, "required_capability", Capability.VIEW)
        if isinstance(capability, dict):
            capability = capability.get(request.method, capability.get("*", Capability.MANAGE))
        require(request.user, project, capability)
        return True
