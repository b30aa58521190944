"""The previous image: a submitted image can be reopened and changed for
LABEL_EDIT_GRACE_MINUTES after its submission (enforced here, on the server), and a change
refreshes the image's agreement; afterwards its labels are settled."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Annotation
from quality.models import Flag, ImageAgreement
from tests.annotations.conftest import annotation_url, client_for, queue_url, submit_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(fn, ...): call fn, then run what its commit enqueued (eager assessments)."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def box(label_class, **overrides):
    return {"x": 10, "y": 20, "width": 100, "height": 50, "label_class": label_class.pk} | overrides


def label(api, project, boxes) -> int:
    annotation_id = api.post(queue_url(project)).json()["annotation"]
    assert (
        api.put(annotation_url(annotation_id), {"boxes": boxes}, format="json").status_code == 200
    )
    assert api.post(submit_url(annotation_id), {}, format="json").status_code == 200
    return annotation_id


def submitted_ago(annotation_id, minutes):
    Annotation.objects.filter(pk=annotation_id).update(
        submitted_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_a_reopened_image_changed_within_the_grace_period_is_assessed_again(
    project, acknowledged, classes, images, api_a, api_b, settings, committed
):
    settings.LABEL_EDIT_GRACE_MINUTES = 15
    car, truck = classes
    committed(label, api_a, project, [box(car)])
    # The same object given another class: a label conflict.
    mine = committed(label, api_b, project, [box(truck)])
    image_id = Annotation.objects.get(pk=mine).image_id
    assert Flag.objects.filter(image_id=image_id, status="open").count() == 1
    assert ImageAgreement.objects.get(image_id=image_id).score < 1
    submitted_ago(mine, 14)

    body = api_b.get(annotation_url(mine)).json()
    assert body["editable"] is True and body["editable_until"] is not None
    response = committed(api_b.put, annotation_url(mine), {"boxes": [box(car)]}, format="json")
    assert response.status_code == 200, response.json()
    assert committed(api_b.post, submit_url(mine), {}, format="json").status_code == 200

    assert Annotation.objects.get(pk=mine).status == "submitted"
    assert ImageAgreement.objects.get(image_id=image_id).score == pytest.approx(1.0)
    assert not Flag.objects.filter(image_id=image_id, status="open").exists()


def test_after_the_grace_period_a_submitted_image_refuses_changes(
    project, acknowledged, classes, images, api_a, settings
):
    settings.LABEL_EDIT_GRACE_MINUTES = 15
    car, truck = classes
    mine = label(api_a, project, [box(car)])
    submitted_ago(mine, 16)

    assert api_a.get(annotation_url(mine)).json()["editable"] is False
    response = api_a.put(annotation_url(mine), {"boxes": [box(truck)]}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "annotation_locked"
    assert "more than 15 minutes ago" in response.json()["detail"]
    assert list(Annotation.objects.get(pk=mine).boxes.values_list("label_class", flat=True)) == [
        car.pk
    ]


def test_a_grace_period_of_zero_settles_labels_at_submission(
    project, acknowledged, classes, images, api_a, settings
):
    settings.LABEL_EDIT_GRACE_MINUTES = 0
    mine = label(api_a, project, [box(classes[0])])
    response = api_a.put(annotation_url(mine), {"boxes": []}, format="json")
    assert response.status_code == 409


def test_a_draft_is_always_editable_and_names_its_image(
    project, acknowledged, classes, images, api_a, settings
):
    settings.LABEL_EDIT_GRACE_MINUTES = 0
    draft = api_a.post(queue_url(project)).json()
    body = api_a.get(annotation_url(draft["annotation"])).json()
    assert (body["editable"], body["editable_until"]) == (True, None)
    image = Annotation.objects.get(pk=draft["annotation"]).image
    assert draft["image"]["name"] == body["image"]["name"] == image.original_name


def test_queue_status_counts_the_images_left_for_the_caller(
    project, acknowledged, classes, images, api_a, api_b
):
    status_url = f"/api/projects/{project.pk}/queue/"
    assert api_a.get(status_url).json() == {"remaining": 3, "capped": False}
    label(api_a, project, [])
    api_a.post(queue_url(project))  # an open draft is not "left"
    assert api_a.get(status_url).json()["remaining"] == 1
    assert api_b.get(status_url).json()["remaining"] == 3


def test_queue_status_is_for_labelers_of_the_project(project, images, engineer, outsider):
    status_url = f"/api/projects/{project.pk}/queue/"
    assert client_for(engineer).get(status_url).status_code == 403
    assert client_for(outsider).get(status_url).status_code in (403, 404)


def test_my_work_offers_to_reopen_only_within_the_grace_period(
    project, acknowledged, classes, images, api_a, labeler_a, client, settings
):
    settings.LABEL_EDIT_GRACE_MINUTES = 15
    recent = label(api_a, project, [box(classes[0])])
    old = label(api_a, project, [box(classes[0])])
    submitted_ago(old, 60)
    client.force_login(labeler_a)
    html = client.get(f"/projects/{project.slug}/my-work/").content.decode()
    row = {
        pk: html.split(f'data-annotation="{pk}"', 1)[1].split("</tr>", 1)[0] for pk in (recent, old)
    }
    assert "Reopen to edit" in row[recent]
    assert "Reopen to edit" not in row[old] and ">View<" in row[old]
