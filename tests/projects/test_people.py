"""The People page: roles, removal, the member picker's search, and invitation links."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from projects.models import Invitation, Membership
from projects.people import USER_SEARCH_LIMIT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def _url(project):
    return f"/projects/{project.slug}/people/"


def _invite(client, project, role="labeler", note="Dana") -> str:
    response = client.post(_url(project), {"action": "invite", "role": role, "note": note})
    assert response.status_code == 200
    return response.context["new_link"]


def test_only_leads_open_people(client, project, lead, engineer, labeler_a, outsider):
    for user, code in ((lead, 200), (engineer, 403), (labeler_a, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(_url(project)).status_code == code, user
        assert client.get(_url(project) + "users/?q=la").status_code == code, user


def test_lead_changes_a_role_and_removes_a_member(client, project, lead, labeler_a):
    client.force_login(lead)
    membership = Membership.objects.get(project=project, user=labeler_a)
    client.post(_url(project), {"action": "role", "membership": membership.pk, "role": "engineer"})
    membership.refresh_from_db()
    assert membership.role == "engineer"
    response = client.post(_url(project), {"action": "remove", "membership": membership.pk})
    assert response.status_code == 302
    assert not Membership.objects.filter(project=project, user=labeler_a).exists()


def test_the_only_lead_cannot_be_removed_or_demoted(client, project, lead):
    client.force_login(lead)
    membership = Membership.objects.get(project=project, user=lead)
    response = client.post(_url(project), {"action": "remove", "membership": membership.pk})
    assert "only lead" in response.content.decode()
    response = client.post(
        _url(project), {"action": "role", "membership": membership.pk, "role": "labeler"}
    )
    assert "at least one lead" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "lead"


def test_a_membership_of_another_project_is_not_found(client, project, lead):
    other = UserFactory(username="elsewhere")
    from tests.factories import MembershipFactory

    foreign = MembershipFactory(user=other, role="labeler")
    client.force_login(lead)
    response = client.post(_url(project), {"action": "remove", "membership": foreign.pk})
    assert response.status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_user_search_needs_two_characters_and_is_limited(client, project, lead):
    for n in range(USER_SEARCH_LIMIT + 5):
        UserFactory(username=f"marta{n:02d}")
    UserFactory(username="zed", first_name="Marek")
    client.force_login(lead)
    assert client.get(_url(project) + "users/?q=m").json() == {"users": []}
    users = client.get(_url(project) + "users/?q=ma").json()["users"]
    assert len(users) == USER_SEARCH_LIMIT
    assert client.get(_url(project) + "users/?q=mare").json()["users"] == [
        {"username": "zed", "name": "Marek", "member": False}
    ]
    # a prefix, not a substring: "rta" finds nobody
    assert client.get(_url(project) + "users/?q=rta").json() == {"users": []}


def test_an_unknown_username_points_to_invitations(client, project, lead):
    client.force_login(lead)
    response = client.post(_url(project), {"action": "add", "username": "ghost", "role": "labeler"})
    assert "invite them below" in response.content.decode()


def test_invitation_link_creates_an_account_once(client, project, lead):
    client.force_login(lead)
    link = _invite(client, project, role="labeler")
    path = link.split("testserver", 1)[1]
    invitation = Invitation.objects.get()
    assert path.split("/")[2] not in invitation.token_digest  # only the digest is stored
    client.logout()
    assert client.get(path).status_code == 200
    response = client.post(
        path,
        {"username": "dana", "password": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    dana = User.objects.get(username="dana")
    assert Membership.objects.get(project=project, user=dana).role == "labeler"
    assert client.get(project.get_absolute_url()).status_code == 200  # logged in as dana
    client.logout()
    again = client.post(
        path,
        {"username": "eve", "password": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert again.status_code == 410
    assert "used already" in again.content.decode()
    assert not User.objects.filter(username="eve").exists()


def test_an_expired_or_withdrawn_link_is_refused(client, project, lead):
    client.force_login(lead)
    path = _invite(client, project).split("testserver", 1)[1]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.logout()
    response = client.get(path)
    assert response.status_code == 410 and "expired" in response.content.decode()
    client.force_login(lead)
    path = _invite(client, project).split("testserver", 1)[1]
    latest = Invitation.objects.order_by("-pk").first()
    client.post(_url(project), {"action": "revoke", "invitation": latest.pk})
    client.logout()
    assert "withdrew" in client.get(path).content.decode()
    assert client.get("/invitations/not-a-token/").status_code == 410


def test_a_bad_account_is_explained_and_the_link_stays_usable(client, project, lead):
    UserFactory(username="taken")
    client.force_login(lead)
    path = _invite(client, project).split("testserver", 1)[1]
    client.logout()
    response = client.post(path, {"username": "taken", "password": "123", "password2": "123"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "is taken" in text and "too short" in text
    assert Invitation.objects.get().used_at is None


def test_a_logged_in_user_joins_with_their_account(client, project, lead, outsider):
    client.force_login(lead)
    path = _invite(client, project, role="engineer").split("testserver", 1)[1]
    client.force_login(outsider)
    response = client.post(path, {"as_current": "1"})
    assert response.status_code == 302
    assert Membership.objects.get(project=project, user=outsider).role == "engineer"
