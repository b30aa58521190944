"""Project settings page (leads only) and project creation from the home page."""

import pytest
from django.contrib.auth.models import Permission

from projects.instructions import instructions_current
from projects.models import Membership, Project
from quality.models import AgreementRun
from tests.factories import UserFactory
from tests.images import png_bytes, zip_bytes

pytestmark = pytest.mark.django_db


def _url(project):
    return f"/projects/{project.slug}/settings/"


def test_only_leads_open_settings(client, project, lead, engineer, labeler_a, outsider):
    for user, code in ((lead, 200), (engineer, 403), (labeler_a, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(_url(project)).status_code == code, user
    client.force_login(engineer)
    response = client.post(_url(project), {"action": "class", "name": "bus"})
    assert response.status_code == 403 and not project.classes.filter(name="bus").exists()


def test_lead_adds_renames_and_recolors_classes(client, project, lead, classes):
    client.force_login(lead)
    client.post(
        _url(project), {"action": "class", "name": "bus", "color": "#00ff00", "hotkey": "3"}
    )
    bus = project.classes.get(name="bus")
    assert (bus.color, bus.hotkey) == ("#00ff00", "3")
    car = classes[0]
    client.post(
        _url(project),
        {
            "action": "class",
            "class_id": car.pk,
            "name": "automobile",
            "color": "#123456",
            "hotkey": "1",
        },
    )
    car.refresh_from_db()
    assert (car.name, car.color) == ("automobile", "#123456")


def test_a_taken_hotkey_is_explained(client, project, lead, classes):
    client.force_login(lead)
    response = client.post(_url(project), {"action": "class", "name": "bus", "hotkey": "1"})
    assert response.status_code == 200
    assert "Hotkey 1 is already used by car." in response.content.decode()
    assert not project.classes.filter(name="bus").exists()


def test_changing_a_threshold_starts_a_recompute_with_a_progress_bar(client, project, lead):
    client.force_login(lead)
    response = client.post(
        _url(project),
        {"action": "project", "labelers_per_image": 2, "match_iou": 0.4, "low_iou": 0.7},
    )
    run = AgreementRun.objects.get(project=project)
    assert response["Location"].endswith(f"?run={run.pk}#thresholds")
    project.refresh_from_db()
    assert (project.match_iou, project.low_iou) == (0.4, 0.7)
    page = client.get(response["Location"]).content.decode()
    assert 'id="run-progress"' in page and f'data-run="{run.pk}"' in page


def test_saving_without_threshold_change_starts_nothing(client, project, lead):
    client.force_login(lead)
    client.post(
        _url(project),
        {
            "action": "project",
            "labelers_per_image": 4,
            "match_iou": project.match_iou,
            "low_iou": project.low_iou,
        },
    )
    project.refresh_from_db()
    assert project.labelers_per_image == 4 and not AgreementRun.objects.exists()


def test_bad_thresholds_are_refused_with_a_reason(client, project, lead):
    client.force_login(lead)
    response = client.post(
        _url(project),
        {"action": "project", "labelers_per_image": 2, "match_iou": 0.8, "low_iou": 0.5},
    )
    assert "at least the match threshold" in response.content.decode()
    project.refresh_from_db()
    assert project.match_iou == 0.5 and not AgreementRun.objects.exists()


def test_lead_adds_members_and_changes_roles(client, project, lead):
    UserFactory(username="newbie")
    client.force_login(lead)
    client.post(_url(project), {"action": "member", "username": "newbie", "role": "labeler"})
    assert Membership.objects.get(project=project, user__username="newbie").role == "labeler"
    client.post(_url(project), {"action": "member", "username": "newbie", "role": "engineer"})
    assert Membership.objects.get(project=project, user__username="newbie").role == "engineer"
    response = client.post(
        _url(project), {"action": "member", "username": "ghost", "role": "labeler"}
    )
    assert "No user is called “ghost”" in response.content.decode()


def test_upload_shows_a_result_per_file(client, project, lead):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(lead)
    files = [
        SimpleUploadedFile("a.png", png_bytes()),
        SimpleUploadedFile("notes.txt", b"hello"),
        SimpleUploadedFile("more.zip", zip_bytes({"b.png": png_bytes(color=(0, 200, 0))})),
    ]
    response = client.post(_url(project), {"action": "upload", "files": files})
    results = {r.name: r.status for r in response.context["ingest_results"]}
    assert results["a.png"] == "added" and results["notes.txt"] == "refused"
    assert project.images.count() == 2
    assert 'id="ingest-results"' in response.content.decode()


def test_project_creation_for_permitted_users(client, db):
    plain = UserFactory(username="plain")
    client.force_login(plain)
    assert client.get("/projects/new/").status_code == 403
    assert b'href="/projects/new/"' not in client.get("/").content
    creator = UserFactory(username="creator")
    creator.user_permissions.add(Permission.objects.get(codename="add_project"))
    client.force_login(creator)
    assert b'href="/projects/new/"' in client.get("/").content
    response = client.post(
        "/projects/new/",
        {"name": "Harbour boats", "labelers_per_image": 3, "instructions": "Box boats."},
    )
    project = Project.objects.get(name="Harbour boats")
    assert response["Location"] == f"/projects/{project.slug}/settings/"
    assert (
        project.memberships.get().user == creator
        and instructions_current(project=project).number == 1
    )
    response = client.post("/projects/new/", {"name": "  ", "labelers_per_image": 3})
    assert "Give the project a name." in response.content.decode()


def test_project_page_shows_lead_tools_by_role(client, project, lead, engineer, labeler_a):
    client.force_login(lead)
    page = client.get(project.get_absolute_url()).content.decode()
    assert "link-report" in page and "link-settings" in page
    client.force_login(engineer)
    page = client.get(project.get_absolute_url()).content.decode()
    assert "link-report" in page and "link-settings" not in page
    client.force_login(labeler_a)
    assert "link-report" not in client.get(project.get_absolute_url()).content.decode()
