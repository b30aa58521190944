"""Who may do what in a project: the one place every page and API endpoint asks.

A user's power in a project comes from their Membership role. Superusers act as leads. Anyone who
is not a member is told the project does not exist (404), so outsiders cannot probe for projects;
a member without the needed capability gets 403.

Pages load their project with project_for(request, slug, capability); API views that act in one
project subclass ProjectScopedApi. Neither is written out again in a view.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import permissions
from rest_framework.views import APIView

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


def project_for(request, slug_or_id: str | int, capability: Capability) -> Project:
    """The project a request names (a page's slug or the API's id), for a caller whose role in it
    has `capability`: the one way every page and API view loads its project.

    Raises Http404 when there is no such project or the caller has no role in it (outsiders
    cannot probe for projects), PermissionDenied when the role lacks the capability.
    """
    project = project_load(request.user, slug_or_id)
    require(request.user, project, capability)
    return project


def project_load(user, slug_or_id: str | int) -> Project:
    """The project by id (an int) or slug, with the user's role read in the same query so that
    the role checks after it ask nothing more; Http404 when there is none. Checks nothing:
    call require() on it, or use project_for()."""
    lookup = {"pk": slug_or_id} if isinstance(slug_or_id, int) else {"slug": slug_or_id}
    if not getattr(user, "is_authenticated", False):
        return get_object_or_404(Project, **lookup)
    project = get_object_or_404(
        Project.objects.annotate(requester_role=membership_role(user)), **lookup
    )
    role_remember(user, project.pk, project.requester_role)
    return project


def read_then_write(read: Capability, write: Capability = Capability.MANAGE) -> dict:
    """required_capability for views whose reads need `read` and whose writes need `write`."""
    return {"GET": read, "HEAD": read, "OPTIONS": read, "*": write}


class HasProjectCapability(permissions.BasePermission):
    """DRF permission of ProjectScopedApi: loads the view's project (get_project) and requires
    the view's `required_capability` in it: a Capability, or one per method ({"GET": ...,
    "*": the rest}). Sets `view.project` for the handler."""

    message = "You do not have the role in this project that this action needs."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        project = view.get_project()
        capability = view.required_capability
        if isinstance(capability, dict):
            capability = capability.get(request.method, capability.get("*", Capability.MANAGE))
        require(request.user, project, capability)
        view.project = project
        return True


class ProjectScopedApi(APIView):
    """Base of every API view that acts in one project (tests/security/test_project_scope.py
    holds them to it). Before the handler runs, the project is loaded once and the caller's role
    checked: anonymous 401, outsiders 404, members without `required_capability` 403. The
    handler reads it as `self.project`.

    Subclasses set `required_capability`; URLs that name an object of a project (a flag, a run)
    instead of the project override get_project().
    """

    permission_classes = [HasProjectCapability]
    required_capability: Capability | dict[str, Capability]
    project: Project

    def get_project(self) -> Project:
        """The project the URL names; called once, by the permission check."""
        return project_load(self.request.user, self.kwargs["project_id"])
