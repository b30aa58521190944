"""GET|PUT /api/annotations/{id}/ (autosave) and POST .../submit/: the caller's own labels only."""

import json
from unittest import mock

import pytest
from django.utils import timezone

from annotations.models import Annotation, Box
from tests.annotations.conftest import annotation_url, client_for, queue_url, submit_url
from tests.factories import AnnotationFactory, BoxFactory, LabelClassFactory

pytestmark = pytest.mark.django_db

# Measured; keep them from growing. queue/next: 11 + 1 for the gold gate (issue 19).
QUEUE_QUERIES, AUTOSAVE_QUERIES, SUBMIT_QUERIES = 12, 9, 8


@pytest.fixture
def draft(project, acknowledged, classes, images, api_a):
    return Annotation.objects.get(pk=api_a.post(queue_url(project)).json()["annotation"])


def box(label_class, **overrides):
    return {"x": 10, "y": 20, "width": 100, "height": 50, "label_class": label_class.pk} | overrides


def test_put_replaces_the_drafts_boxes_and_get_returns_them(draft, classes, api_a):
    car, truck = classes
    response = api_a.put(
        annotation_url(draft.pk),
        {"boxes": [box(car), box(truck, x=200)], "active_seconds": 12.5},
        format="json",
    )
    assert response.status_code == 200, response.json()
    response = api_a.put(annotation_url(draft.pk), {"boxes": [box(truck, x=300)]}, format="json")
    body = api_a.get(annotation_url(draft.pk)).json()
    assert body["status"] == "draft"
    assert body["active_seconds"] == 12.5
    assert body["boxes"] == [
        {"x": 300.0, "y": 20.0, "width": 100.0, "height": 50.0, "label_class": truck.pk}
    ]
    assert body["image"]["id"] == draft.image_id


def test_active_seconds_never_go_back(draft, classes, api_a):
    api_a.put(annotation_url(draft.pk), {"boxes": [], "active_seconds": 30}, format="json")
    api_a.put(annotation_url(draft.pk), {"boxes": [], "active_seconds": 10}, format="json")
    draft.refresh_from_db()
    assert draft.active_seconds == 30


def test_a_box_overshooting_the_border_a_little_is_clipped(draft, classes, api_a):
    car = classes[0]
    # The image is 640 x 480: tolerance is max(2% of the side, 4 px) = 12.8 px and 9.6 px.
    response = api_a.put(
        annotation_url(draft.pk),
        {"boxes": [box(car, x=-5, y=400, width=100, height=89)]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    stored = Box.objects.get(annotation=draft)
    assert (stored.x, stored.y, stored.width, stored.height) == (0, 400, 95, 80)


BAD_BOXES = {
    "nan_as_string": ({"x": "NaN"}, "x must be a number"),
    "inf_as_string": ({"width": "Infinity"}, "width must be a number"),
    "number_as_string": ({"y": "12"}, "y must be a number"),
    "boolean": ({"x": True}, "x must be a number"),
    "null": ({"height": None}, "height must be a number"),
    "negative_width": ({"width": -5}, "width and height must be positive"),
    "zero_height": ({"height": 0}, "width and height must be positive"),
    "far_left": ({"x": -50}, "lies outside the 640 x 480 image"),
    "far_below": ({"y": 470, "height": 30}, "lies outside the 640 x 480 image"),
    "entirely_past_the_border": ({"x": 641, "width": 5}, "lies outside the image"),
    "missing_class": ({"label_class": None}, "label_class must be the id"),
    "class_as_string": ({"label_class": "car"}, "label_class must be the id"),
    "unknown_class": ({"label_class": 999999}, "not a class of this project"),
}


@pytest.mark.parametrize("overrides, reason", BAD_BOXES.values(), ids=BAD_BOXES.keys())
def test_a_bad_box_is_refused_naming_the_box_and_nothing_is_stored(
    draft, classes, api_a, overrides, reason
):
    car = classes[0]
    BoxFactory(annotation=draft, label_class=car)
    response = api_a.put(
        annotation_url(draft.pk),
        {"boxes": [box(car), box(car), box(car) | overrides]},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["box"] == 2
    assert body["detail"].startswith("Box 3 (index 2): ")
    assert reason in body["detail"]
    assert Box.objects.filter(annotation=draft).count() == 1


def test_a_box_missing_fields_is_refused(draft, classes, api_a):
    response = api_a.put(annotation_url(draft.pk), {"boxes": [{"x": 1}]}, format="json")
    assert response.status_code == 400
    assert "missing y, width, height, label_class" in response.json()["detail"]


def test_a_class_of_another_project_is_refused(draft, classes, api_a):
    foreign = LabelClassFactory()  # its own project
    response = api_a.put(annotation_url(draft.pk), {"boxes": [box(foreign)]}, format="json")
    assert response.status_code == 400
    assert "not a class of this project" in response.json()["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_a_raw_body_are_refused(draft, classes, api_a, literal):
    car = classes[0]
    raw = (
        f'{{"boxes": [{{"x": {literal}, "y": 1, "width": 5, "height": 5, '
        f'"label_class": {car.pk}}}]}}'
    )
    response = api_a.put(annotation_url(draft.pk), raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Box.objects.filter(annotation=draft).exists()


def test_at_most_1000_boxes(draft, classes, api_a):
    car = classes[0]
    many = [box(car, x=i % 500, width=5, height=5) for i in range(1001)]
    response = api_a.put(annotation_url(draft.pk), {"boxes": many}, format="json")
    assert response.status_code == 400
    assert "at most 1000 boxes" in response.json()["detail"]
    response = api_a.put(annotation_url(draft.pk), {"boxes": many[:1000]}, format="json")
    assert response.status_code == 200
    assert Box.objects.filter(annotation=draft).count() == 1000


def test_boxes_must_be_a_list(draft, api_a):
    response = api_a.put(annotation_url(draft.pk), {"boxes": {"x": 1}}, format="json")
    assert response.status_code == 400
    assert "must be a list" in response.json()["detail"]
    response = api_a.put(annotation_url(draft.pk), {}, format="json")
    assert response.status_code == 400
    assert "boxes: This field is required" in response.json()["detail"]


def test_negative_active_seconds_are_refused(draft, api_a):
    response = api_a.put(
        annotation_url(draft.pk), {"boxes": [], "active_seconds": -1}, format="json"
    )
    assert response.status_code == 400
    assert "active_seconds: Send the seconds spent on this image" in response.json()["detail"]


def test_submit_stores_the_time_and_submitting_twice_is_harmless(draft, classes, api_a, lead):
    api_a.put(annotation_url(draft.pk), {"boxes": [box(classes[0])]}, format="json")
    first = api_a.post(submit_url(draft.pk), {"active_seconds": 20}, format="json")
    assert first.status_code == 200
    assert first.json()["status"] == "submitted"
    second = api_a.post(submit_url(draft.pk), format="json")
    assert second.status_code == 200
    assert second.json()["submitted_at"] == first.json()["submitted_at"]
    draft.refresh_from_db()
    assert draft.status == "submitted" and draft.active_seconds == 20
    assert draft.boxes.count() == 1


def test_submit_records_the_instruction_version_in_force(draft, api_a, acknowledged):
    api_a.post(submit_url(draft.pk))
    draft.refresh_from_db()
    assert draft.instruction_version == acknowledged


def test_submit_tells_the_pipeline_inside_the_transaction(draft, api_a):
    with mock.patch("quality.enqueue.image_labels_changed") as changed:
        api_a.post(submit_url(draft.pk))
        api_a.post(submit_url(draft.pk))
    changed.assert_called_once_with(image_id=draft.image_id)


def test_editing_a_submitted_annotation_keeps_it_submitted_and_retriggers(draft, classes, api_a):
    api_a.post(submit_url(draft.pk))
    with mock.patch("quality.enqueue.image_labels_changed") as changed:
        response = api_a.put(annotation_url(draft.pk), {"boxes": [box(classes[1])]}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    changed.assert_called_once_with(image_id=draft.image_id)


def test_a_refused_edit_of_a_submitted_annotation_does_not_retrigger(draft, classes, api_a):
    api_a.post(submit_url(draft.pk))
    with mock.patch("quality.enqueue.image_labels_changed") as changed:
        api_a.put(annotation_url(draft.pk), {"boxes": [box(classes[0], width=0)]}, format="json")
    changed.assert_not_called()


def test_submit_enqueues_assessment_once_the_image_is_complete(
    project, acknowledged, classes, images, api_a, api_b, django_capture_on_commit_callbacks
):
    first = api_a.post(queue_url(project)).json()
    second = api_b.post(queue_url(project)).json()
    assert first["image"] == second["image"]  # partly labeled first
    with mock.patch("quality.tasks.assess_image_task.apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            api_a.post(submit_url(first["annotation"]))
        enqueue.assert_not_called()
        with django_capture_on_commit_callbacks(execute=True):
            api_b.post(submit_url(second["annotation"]))
        enqueue.assert_called_once_with((first["image"]["id"],), ignore_result=True)


def test_a_labeler_asking_for_another_labelers_annotation_gets_404(draft, classes, api_b):
    BoxFactory(annotation=draft, label_class=classes[0])
    assert api_b.get(annotation_url(draft.pk)).status_code == 404
    assert api_b.put(annotation_url(draft.pk), {"boxes": []}, format="json").status_code == 404
    assert api_b.post(submit_url(draft.pk)).status_code == 404
    assert draft.boxes.count() == 1
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_leads_engineers_and_outsiders_get_404_for_a_labelers_annotation(
    draft, lead, engineer, outsider
):
    for user in (lead, engineer, outsider):
        assert client_for(user).get(annotation_url(draft.pk)).status_code == 404


def test_a_labeler_removed_from_the_project_cannot_reach_their_annotation(
    draft, api_a, labeler_a, project
):
    project.memberships.filter(user=labeler_a).delete()
    labeler_a._concord_roles = {}
    assert api_a.get(annotation_url(draft.pk)).status_code == 404


def test_the_lead_cannot_reach_their_adjudication_through_the_labeling_api(project, images, lead):
    adjudication = AnnotationFactory(
        image=images[0],
        labeler=lead,
        kind="adjudication",
        status="submitted",
        submitted_at=timezone.now(),
    )
    assert client_for(lead).get(annotation_url(adjudication.pk)).status_code == 404


def test_anonymous_callers_are_refused(draft, client):
    response = client.get(annotation_url(draft.pk))
    assert response.status_code in (401, 403)
    assert json.loads(response.content)["detail"]


def test_the_labelers_three_requests_take_a_bounded_number_of_queries(
    project, acknowledged, classes, images, api_a, django_assert_max_num_queries
):
    # Every labeler makes these all day: a new query here costs the whole crowd (BENCHMARKS.md,
    # "Load and faults"). Savepoints and the transaction's own statements are counted too.
    with django_assert_max_num_queries(QUEUE_QUERIES):
        annotation = api_a.post(queue_url(project)).json()["annotation"]
    with django_assert_max_num_queries(AUTOSAVE_QUERIES):
        response = api_a.put(
            annotation_url(annotation), {"boxes": [box(classes[0])]}, format="json"
        )
    assert response.status_code == 200
    with django_assert_max_num_queries(SUBMIT_QUERIES):
        assert api_a.post(submit_url(annotation), {}, format="json").status_code == 200
