"""POST /api/projects/{id}/imports/: who may, what a bad request is told, where progress is."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from quality.models import AgreementRun

pytestmark = pytest.mark.django_db

LABELS = json.dumps({
    "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
    "categories": [{"id": 1, "name": "car"}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]}],
}).encode()  # fmt: skip


@pytest.fixture
def api():
    return APIClient()


def post(api, project, user, **data):
    api.force_authenticate(user)
    body = {"format": "coco", "labeler": "vendor", **data}
    if "files" not in body:
        body["files"] = [SimpleUploadedFile("labels.json", LABELS)]
    return api.post(f"/api/projects/{project.pk}/imports/", body, format="multipart")


def test_lead_starts_an_import_and_follows_it_at_the_run(
    api, project, images, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, project, lead)
    assert response.status_code == 202, response.json()
    run_id = response.json()["run"]
    run = api.get(f"/api/runs/{run_id}/").json()
    assert (run["kind"], run["state"], run["done"], run["total"]) == ("import", "succeeded", 1, 1)
    assert run["report"]["phase"] == "done"
    assert run["report"]["totals"]["label_sets"] == 1
    assert run["report"]["units"][0]["raters"] == ["vendor"]
    assessment = api.get(f"/api/runs/{run['report']['assessment_run']}/").json()
    assert assessment["kind"] == "recompute" and assessment["report"] is None
    listed = api.get(f"/api/projects/{project.pk}/imports/").json()
    assert [r["id"] for r in listed["results"]] == [run_id]


@pytest.mark.parametrize(
    ("who", "status"), [("labeler_a", 403), ("engineer", 403), ("outsider", 404), (None, 401)]
)
def test_only_leads_import(api, project, images, who, status, request):
    user = request.getfixturevalue(who) if who else None
    response = post(api, project, user)
    assert response.status_code == status
    assert "detail" in response.json()
    assert not AgreementRun.objects.filter(kind="import").exists()


def test_a_labeler_never_reads_an_import_report(api, project, images, lead, labeler_a):
    run_id = post(api, project, lead).json()["run"]
    api.force_authenticate(labeler_a)
    assert api.get(f"/api/runs/{run_id}/").status_code == 403
    assert api.get(f"/api/projects/{project.pk}/imports/").status_code == 403


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"unknown_classes": "maybe"}, "unknown_classes"),
        ({"score_threshold": "2"}, "score_threshold"),
        ({"voc_coordinates": "two-based"}, "voc_coordinates"),
    ],
)
def test_bad_fields_are_400_naming_the_field(api, project, lead, data, field):
    response = post(api, project, lead, **data)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_nothing_sent_is_400(api, project, lead):
    api.force_authenticate(lead)
    response = api.post(f"/api/projects/{project.pk}/imports/", {"format": "coco"}, format="json")
    assert response.status_code == 400
    assert "send the label files" in response.json()["detail"]


def test_a_server_folder_only_under_import_folder_root(
    api, project, images, lead, tmp_path, settings
):
    settings.IMPORT_FOLDER_ROOT = ""
    response = post(api, project, lead, folder=str(tmp_path), files=[])
    assert response.status_code == 400 and "IMPORT_FOLDER_ROOT" in response.json()["detail"]
    settings.IMPORT_FOLDER_ROOT = str(tmp_path / "allowed")
    (tmp_path / "allowed/vendor").mkdir(parents=True)
    (tmp_path / "allowed/vendor/labels.json").write_bytes(LABELS)
    response = post(api, project, lead, folder=str(tmp_path / "allowed/../"), files=[])
    assert response.status_code == 400 and "must be inside" in response.json()["detail"]
    response = post(api, project, lead, folder=str(tmp_path / "allowed/vendor"), files=[])
    assert response.status_code == 202


def test_a_broken_label_file_is_reported_not_a_500(
    api, project, images, lead, django_capture_on_commit_callbacks
):
    broken = SimpleUploadedFile("labels.json", b'{"images": [}')
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, project, lead, files=[broken])
    assert response.status_code == 202
    run = api.get(f"/api/runs/{response.json()['run']}/").json()
    assert run["state"] == "succeeded"
    (entry,) = run["report"]["units"]
    assert entry["status"] == "refused" and "not valid JSON at line 1" in entry["reason"]
