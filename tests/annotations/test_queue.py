"""The queue rules, one behaviour per test (POST /api/projects/{id}/queue/next/)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Annotation
from projects.services import instruction_acknowledge, instruction_version_publish
from tests.annotations.conftest import client_for, queue_url
from tests.factories import AnnotationFactory, ImageFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def a_submission(image, labeler):
    return AnnotationFactory(
        image=image, labeler=labeler, status="submitted", submitted_at=timezone.now()
    )


def an_abandoned_draft(image, labeler):
    """A draft last saved 31 minutes ago: abandoned under QUEUE_DRAFT_TIMEOUT_MINUTES = 30."""
    draft = AnnotationFactory(image=image, labeler=labeler)
    Annotation.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - timedelta(minutes=31))
    return draft


def a_labeler(project, instructions, name):
    user = UserFactory(username=name)
    MembershipFactory(project=project, user=user, role="labeler")
    instruction_acknowledge(user=user, version=instructions)
    return user


def test_queue_gives_an_image_with_a_member_only_url_and_an_open_draft(
    project, acknowledged, images, api_a, labeler_a
):
    response = api_a.post(queue_url(project))
    assert response.status_code == 200
    body = response.json()
    image = images[0]
    assert body["image"] == {
        "id": image.pk,
        "url": f"/projects/{project.slug}/images/{image.pk}/file/",
        "name": image.original_name,
        "width": 640,
        "height": 480,
    }
    annotation = Annotation.objects.get(pk=body["annotation"])
    assert annotation.labeler == labeler_a
    assert annotation.status == Annotation.Status.DRAFT
    assert annotation.kind == Annotation.Kind.LABEL


def test_queue_records_the_instruction_version_in_force(project, acknowledged, images, api_a):
    body = api_a.post(queue_url(project)).json()
    assert Annotation.objects.get(pk=body["annotation"]).instruction_version == acknowledged


def test_queue_resumes_the_labelers_open_draft(project, acknowledged, images, api_a):
    first = api_a.post(queue_url(project)).json()
    again = api_a.post(queue_url(project)).json()
    assert again == first
    assert Annotation.objects.count() == 1


def test_queue_never_gives_an_image_the_labeler_already_labeled(
    project, acknowledged, images, api_a, labeler_a
):
    for image in images[:2]:
        a_submission(image, labeler_a)
    body = api_a.post(queue_url(project)).json()
    assert body["image"]["id"] == images[2].pk


def test_queue_never_exceeds_labelers_per_image_counting_drafts(
    project, acknowledged, api_a, labeler_b, instructions
):
    image = ImageFactory(project=project)
    other = ImageFactory(project=project)
    AnnotationFactory(image=image, labeler=labeler_b)  # a fresh draft holds a slot
    cho = a_labeler(project, instructions, "cho")
    a_submission(image, cho)
    # labelers_per_image is 2: image is full with one draft and one submission.
    body = api_a.post(queue_url(project)).json()
    assert body["image"]["id"] == other.pk


def test_queue_gives_partly_labeled_images_first(project, acknowledged, images, api_a, labeler_b):
    partly = images[2]
    a_submission(partly, labeler_b)
    body = api_a.post(queue_url(project)).json()
    assert body["image"]["id"] == partly.pk


def test_queue_gives_the_images_closest_to_complete_first(
    project, acknowledged, images, api_a, labeler_b, instructions
):
    project.labelers_per_image = 3
    project.save(update_fields=["labelers_per_image"])
    cho = a_labeler(project, instructions, "cho")
    one, two = images[1], images[2]
    for image, labelers in ((one, [labeler_b]), (two, [labeler_b, cho])):
        for labeler in labelers:
            a_submission(image, labeler)
    assert api_a.post(queue_url(project)).json()["image"]["id"] == two.pk


def test_raising_labelers_per_image_reopens_complete_images(
    project, acknowledged, api_a, labeler_b, instructions
):
    image = ImageFactory(project=project)
    cho = a_labeler(project, instructions, "cho")
    for labeler in (labeler_b, cho):
        a_submission(image, labeler)
    assert api_a.post(queue_url(project)).status_code == 204
    project.labelers_per_image = 3
    project.save(update_fields=["labelers_per_image"])
    assert api_a.post(queue_url(project)).json()["image"]["id"] == image.pk


def test_adjudications_do_not_take_a_labelers_slot(project, acknowledged, api_a, lead, labeler_b):
    image = ImageFactory(project=project)
    a_submission(image, labeler_b)
    AnnotationFactory(
        image=image,
        labeler=lead,
        kind="adjudication",
        status="submitted",
        submitted_at=timezone.now(),
    )
    assert api_a.post(queue_url(project)).json()["image"]["id"] == image.pk


def test_an_abandoned_draft_goes_back_to_the_pool(
    project, acknowledged, api_a, labeler_b, instructions, settings
):
    settings.QUEUE_DRAFT_TIMEOUT_MINUTES = 30
    image = ImageFactory(project=project)
    cho = a_labeler(project, instructions, "cho")
    a_submission(image, cho)
    abandoned = an_abandoned_draft(image, labeler_b)
    body = api_a.post(queue_url(project)).json()
    assert body["image"]["id"] == image.pk
    assert not Annotation.objects.filter(pk=abandoned.pk).exists()
    assert Annotation.objects.filter(image=image, kind="label").count() == 2
    image.refresh_from_db()
    assert image.label_set_count == 2  # one draft reclaimed, one opened


def test_a_full_image_with_an_abandoned_draft_comes_before_less_labeled_images(
    project, acknowledged, api_a, labeler_b, instructions, settings
):
    settings.QUEUE_DRAFT_TIMEOUT_MINUTES = 30
    project.labelers_per_image = 3
    project.save(update_fields=["labelers_per_image"])
    cho, dee = (a_labeler(project, instructions, name) for name in ("cho", "dee"))
    partly = ImageFactory(project=project)
    full = ImageFactory(project=project)
    for image, labeler in ((partly, cho), (full, cho), (full, dee)):
        a_submission(image, labeler)
    an_abandoned_draft(full, labeler_b)
    assert api_a.post(queue_url(project)).json()["image"]["id"] == full.pk


def test_a_recent_draft_keeps_its_slot(
    project, acknowledged, api_a, labeler_b, instructions, settings
):
    settings.QUEUE_DRAFT_TIMEOUT_MINUTES = 30
    image = ImageFactory(project=project)
    cho = a_labeler(project, instructions, "cho")
    a_submission(image, cho)
    recent = AnnotationFactory(image=image, labeler=labeler_b)
    Annotation.objects.filter(pk=recent.pk).update(
        updated_at=timezone.now() - timedelta(minutes=29)
    )
    response = api_a.post(queue_url(project))
    assert response.status_code == 204
    assert Annotation.objects.filter(pk=recent.pk).exists()


def test_a_labeler_coming_back_to_an_abandoned_draft_resumes_it(
    project, acknowledged, images, api_a, labeler_a, settings
):
    settings.QUEUE_DRAFT_TIMEOUT_MINUTES = 30
    draft = AnnotationFactory(image=images[1], labeler=labeler_a)
    Annotation.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - timedelta(hours=5))
    body = api_a.post(queue_url(project)).json()
    assert body["annotation"] == draft.pk
    draft.refresh_from_db()
    assert draft.updated_at > timezone.now() - timedelta(minutes=1)


def test_queue_answers_204_with_a_message_when_nothing_is_left(
    project, acknowledged, api_a, labeler_a
):
    image = ImageFactory(project=project)
    a_submission(image, labeler_a)
    response = api_a.post(queue_url(project))
    assert response.status_code == 204
    assert "Nothing left" in response.data["detail"]


def test_queue_refuses_until_the_current_instructions_are_acknowledged(
    project, instructions, images, api_a, labeler_a, lead
):
    response = api_a.post(queue_url(project))
    assert response.status_code == 409
    assert "acknowledge version 1" in response.json()["detail"]
    instruction_acknowledge(user=labeler_a, version=instructions)
    assert api_a.post(queue_url(project)).status_code == 200

    instruction_version_publish(project=project, author=lead, body="Box trucks too.", summary="x")
    response = api_a.post(queue_url(project))
    assert response.status_code == 409
    assert response.json()["instructions"] == 2
    assert Annotation.objects.count() == 1


def test_queue_is_for_labelers_only(project, acknowledged, images, lead, engineer, outsider):
    assert client_for(lead).post(queue_url(project)).status_code == 403
    assert client_for(engineer).post(queue_url(project)).status_code == 403
    assert client_for(outsider).post(queue_url(project)).status_code == 404
    assert Annotation.objects.count() == 0


def test_a_labeler_of_another_project_cannot_take_images_here(
    project, acknowledged, images, other_project_labeler
):
    assert client_for(other_project_labeler).post(queue_url(project)).status_code == 404
