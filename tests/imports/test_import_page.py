"""The lead's Import page: start an import from the form, read its report."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from quality.models import AgreementRun

pytestmark = pytest.mark.django_db

LABELS = json.dumps({
    "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
               {"id": 2, "file_name": "nowhere.jpg", "width": 640, "height": 480}],
    "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "bus"}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]},
                    {"id": 2, "image_id": 1, "category_id": 2, "bbox": [5, 5, 30, 40]}],
}).encode()  # fmt: skip


def test_the_lead_imports_from_the_page_and_reads_the_report(
    client, project, images, lead, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/import/")
    assert page.status_code == 200 and b"No imports yet" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/projects/{project.slug}/import/",
            {"files": [SimpleUploadedFile("vendor.json", LABELS)], "format": "coco",
             "labeler": "vendor", "unknown_classes": "add"},
        )  # fmt: skip
    run = AgreementRun.objects.get(kind="import")
    assert response.status_code == 302 and response["Location"].endswith(f"?run={run.pk}")
    page = client.get(response["Location"]).content.decode()
    assert "Import (coco) of vendor.json" in page
    assert "Classes added: <strong>bus</strong>" in page
    assert "no image of the project has this name" in page and "nowhere.jpg" in page
    assert "Import-only rater made: <strong>vendor</strong>" in page


def test_a_bad_form_is_400_with_the_reason_and_starts_nothing(client, project, lead):
    client.force_login(lead)
    response = client.post(
        f"/projects/{project.slug}/import/", {"format": "coco", "score_threshold": "high"}
    )
    assert response.status_code == 400
    assert b"score threshold must be a number" in response.content
    response = client.post(f"/projects/{project.slug}/import/", {"format": "coco"})
    assert response.status_code == 400 and b"send the label files" in response.content
    assert not AgreementRun.objects.exists()
