"""Submitting holds the labeler to the instructions in force, and time spent stays plausible."""

import pytest

from annotations.models import Annotation
from projects.services import instruction_acknowledge, instruction_version_publish
from tests.annotations.conftest import annotation_url, queue_url, submit_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(project, acknowledged, classes, images, api_a):
    return Annotation.objects.get(pk=api_a.post(queue_url(project)).json()["annotation"])


def test_a_draft_opened_under_old_instructions_cannot_be_submitted_until_the_new_are_acknowledged(
    draft, project, lead, labeler_a, api_a
):
    version_2 = instruction_version_publish(project=project, author=lead, body="Box vans too.")
    response = api_a.post(submit_url(draft.pk), {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "instructions_not_acknowledged"
    assert body["instructions"] == 2
    assert "version 2" in body["detail"] and body["project_url"] == project.get_absolute_url()
    draft.refresh_from_db()
    assert draft.status == Annotation.Status.DRAFT and draft.instruction_version.number == 1
    # Autosave still works: the boxes are not lost while the labeler reads.
    assert api_a.put(annotation_url(draft.pk), {"boxes": []}, format="json").status_code == 200

    instruction_acknowledge(user=labeler_a, version=version_2)
    response = api_a.post(submit_url(draft.pk), {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["instruction_version"] == 2


@pytest.mark.parametrize("seconds", [1e308, 86_401, 10**9])
def test_active_seconds_beyond_a_day_on_one_image_are_refused(draft, api_a, seconds):
    for response in (
        api_a.put(
            annotation_url(draft.pk), {"boxes": [], "active_seconds": seconds}, format="json"
        ),
        api_a.post(submit_url(draft.pk), {"active_seconds": seconds}, format="json"),
    ):
        assert response.status_code == 400
        assert "86400" in str(response.json())
    draft.refresh_from_db()
    assert draft.active_seconds == 0


def test_a_day_of_active_seconds_is_accepted(draft, api_a):
    response = api_a.put(
        annotation_url(draft.pk), {"boxes": [], "active_seconds": 86_400}, format="json"
    )
    assert response.status_code == 200, response.json()
