"""POST /api/projects/{id}/instructions/{number}/acknowledge/ and the page form doing the same."""

import pytest

from projects.instructions import instructions_pending_for
from projects.models import InstructionAcknowledgement
from tests.annotations.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def ack_url(project, number):
    return f"/api/projects/{project.pk}/instructions/{number}/acknowledge/"


def test_acknowledging_the_current_version_unlocks_the_queue(project, instructions, labeler_a):
    api = client_for(labeler_a)
    assert instructions_pending_for(user=labeler_a, project=project) == instructions
    response = api.post(ack_url(project, 1))
    assert response.status_code == 200
    assert response.json()["instructions"] == 1
    assert instructions_pending_for(user=labeler_a, project=project) is None
    assert api.post(ack_url(project, 1)).status_code == 200  # twice is harmless
    assert InstructionAcknowledgement.objects.filter(user=labeler_a).count() == 1


def test_acknowledging_an_unknown_version_is_404_with_a_message(project, instructions, labeler_a):
    response = client_for(labeler_a).post(ack_url(project, 7))
    assert response.status_code == 404
    assert response.json()["detail"]


def test_outsiders_cannot_acknowledge(project, instructions, outsider):
    assert client_for(outsider).post(ack_url(project, 1)).status_code == 404
    assert not InstructionAcknowledgement.objects.exists()


def test_the_project_page_form_acknowledges_and_starts_labeling(
    client, project, instructions, labeler_a
):
    client.login(username="labeler_a", password=PASSWORD)
    response = client.post(f"/projects/{project.slug}/instructions/1/acknowledge/")
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.slug}/label/"
    assert instructions_pending_for(user=labeler_a, project=project) is None
