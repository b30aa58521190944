import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404

from projects.permissions import (
    Capability,
    can_create_projects,
    has_capability,
    project_for,
    projects_visible_to,
    require,
    role_of,
)
from tests.factories import UserFactory

User = get_user_model()


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


def test_project_for_loads_by_slug_or_id_and_reads_the_role_in_the_same_query(
    rf, project, engineer, django_assert_num_queries
):
    for ref in (project.slug, project.pk):
        request = rf.get("/")
        request.user = User.objects.get(pk=engineer.pk)  # nothing remembered yet
        with django_assert_num_queries(1):
            assert project_for(request, ref, Capability.READ_RESULTS) == project
            assert has_capability(request.user, project, Capability.EXPORT)
            assert not has_capability(request.user, project, Capability.MANAGE)


def test_project_for_hides_the_project_from_outsiders_and_refuses_a_missing_capability(
    rf, project, labeler_a, outsider
):
    request = rf.get("/")
    request.user = outsider
    with pytest.raises(Http404):
        project_for(request, project.slug, Capability.VIEW)
    request.user = labeler_a
    with pytest.raises(PermissionDenied):
        project_for(request, project.pk, Capability.READ_RESULTS)
    assert project_for(request, project.pk, Capability.LABEL) == project
    with pytest.raises(Http404):
        project_for(request, "no-such-project", Capability.VIEW)
