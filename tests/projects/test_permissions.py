import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from projects.permissions import (
    Capability,
    can_create_projects,
    has_capability,
    projects_visible_to,
    require,
    role_of,
)
from tests.factories import UserFactory


def test_roles_come_from_membership(project, lead, labeler_a, engineer, outsider):
    assert role_of(lead, project) == "lead"
    assert role_of(labeler_a, project) == "labeler"
    assert role_of(engineer, project) == "engineer"
    assert role_of(outsider, project) is None


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        ("lead", {"view", "read_results", "export", "manage", "resolve"}),
        ("engineer", {"view", "read_results", "export"}),
        ("labeler_a", {"view", "label"}),
        ("outsider", set()),
        ("other_project_labeler", set()),
    ],
)
def test_capabilities_per_role(request, project, actor, allowed):
    user = request.getfixturevalue(actor)
    granted = {c.value for c in Capability if has_capability(user, project, c)}
    assert granted == allowed


def test_labeler_cannot_read_results(project, labeler_a):
    with pytest.raises(PermissionDenied):
        require(labeler_a, project, Capability.READ_RESULTS)


def test_outsider_is_told_the_project_does_not_exist(project, outsider):
    with pytest.raises(Http404):
        require(outsider, project, Capability.VIEW)


def test_superuser_acts_as_lead(project):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert role_of(admin, project) == "lead"
    assert project in projects_visible_to(admin)


def test_projects_visible_to_members_only(project, labeler_a, outsider):
    assert list(projects_visible_to(labeler_a)) == [project]
    assert list(projects_visible_to(outsider)) == []


def test_project_creation_right(db):
    assert not can_create_projects(UserFactory(username="plain"))
    assert can_create_projects(UserFactory(username="staff", is_staff=True))
