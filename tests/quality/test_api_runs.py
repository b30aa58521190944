import pytest
from rest_framework.test import APIClient

from quality.models import AgreementRun, ImageAgreement
from tests.quality.labels import conflicting_image

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def labeled(project, labeler_a, labeler_b, classes):
    return conflicting_image(project, labeler_a, labeler_b, *classes)


def test_lead_starts_a_recompute_and_follows_its_progress(
    project, lead, labeled, django_capture_on_commit_callbacks
):
    client = _client(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/projects/{project.pk}/agreement/recompute/", {"reason": "new thresholds"}
        )
    assert response.status_code == 202
    run_id = response.json()["run"]

    progress = client.get(f"/api/runs/{run_id}/").json()

    assert progress["state"] == "succeeded"
    assert (progress["done"], progress["total"], progress["progress"]) == (1, 1, 1.0)
    assert progress["reason"] == "new thresholds"
    assert progress["requested_by"] == "lead"
    assert progress["finished_at"] and progress["error"] == ""
    assert ImageAgreement.objects.filter(image=labeled).exists()


def test_engineer_reads_a_run_but_cannot_start_one(project, engineer, lead):
    run = AgreementRun.objects.create(project=project, total=3)
    client = _client(engineer)

    assert client.get(f"/api/runs/{run.pk}/").status_code == 200
    refused = client.post(f"/api/projects/{project.pk}/agreement/recompute/")
    assert refused.status_code == 403
    assert refused.json()["detail"]


def test_labeler_cannot_read_runs(project, labeler_a):
    run = AgreementRun.objects.create(project=project)
    assert _client(labeler_a).get(f"/api/runs/{run.pk}/").status_code == 403


def test_outsider_gets_404_for_runs_and_recompute(project, outsider):
    run = AgreementRun.objects.create(project=project)
    client = _client(outsider)
    assert client.get(f"/api/runs/{run.pk}/").status_code == 404
    assert client.post(f"/api/projects/{project.pk}/agreement/recompute/").status_code == 404


def test_anonymous_caller_is_told_to_authenticate(project):
    run = AgreementRun.objects.create(project=project)
    response = APIClient().get(f"/api/runs/{run.pk}/")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()
