"""Class rules on the settings page: delete (refused once boxes use it), merge, reorder, and the
new-class form's suggested colour and hotkey."""

import pytest
from django.utils import timezone

from annotations.models import Annotation, Box
from projects.classes import label_class_suggestion
from projects.models import LabelClass
from projects.palette import CLASS_COLORS
from quality.models import Flag, ImageAgreement
from quality.services.assessment import images_assess
from tests.factories import (
    AnnotationFactory,
    ImageFactory,
    LabelClassFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _url(project):
    return f"/projects/{project.slug}/settings/"


def _submit(image, labeler, boxes):
    annotation = AnnotationFactory(
        image=image,
        labeler=labeler,
        status=Annotation.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )
    Box.objects.bulk_create(
        Box(annotation=annotation, label_class=c, x=x, y=y, width=w, height=h)
        for c, (x, y, w, h) in boxes
    )
    return annotation


@pytest.fixture
def conflict(project, classes):
    """Two labelers boxed the same object as car and as truck: assessed, one label conflict."""
    car, truck = classes
    image = ImageFactory(project=project)
    for name, label_class in (("ann", car), ("bob", truck)):
        user = UserFactory(username=name)
        MembershipFactory(project=project, user=user, role="labeler")
        _submit(image, user, [(label_class, (10, 10, 40, 30))])
    images_assess(image_ids=[image.pk])
    assert Flag.objects.filter(image=image, kind="label_conflict", status="open").exists()
    return image


def test_deleting_a_class_that_boxes_use_is_refused_with_the_reason(
    client, project, lead, conflict
):
    truck = project.classes.get(name="truck")
    client.force_login(lead)
    response = client.post(_url(project), {"action": "class_delete", "class_id": truck.pk})
    assert response.status_code == 200
    assert (
        "truck cannot be deleted: 1 box on 1 image use it. Merge it into another class"
        in response.content.decode()
    )
    assert LabelClass.objects.filter(pk=truck.pk).exists()


def test_an_unused_class_is_deleted(client, project, lead, classes):
    client.force_login(lead)
    response = client.post(_url(project), {"action": "class_delete", "class_id": classes[1].pk})
    assert response.status_code == 302
    assert list(project.classes.values_list("name", flat=True)) == ["car"]


def test_merging_moves_the_boxes_and_reassesses_the_images(
    client, project, lead, conflict, django_capture_on_commit_callbacks
):
    car, truck = project.classes.get(name="car"), project.classes.get(name="truck")
    before = ImageAgreement.objects.get(image=conflict).score
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(project), {"action": "class_merge", "class_id": truck.pk, "into": car.pk}
        )
    assert response.status_code == 302
    assert not LabelClass.objects.filter(pk=truck.pk).exists()
    assert set(Box.objects.values_list("label_class", flat=True)) == {car.pk}
    # assessed again: both labelers now agree on the class
    assert ImageAgreement.objects.get(image=conflict).score > before
    assert not Flag.objects.filter(image=conflict, kind="label_conflict", status="open").exists()


def test_merging_into_a_class_of_another_project_is_not_found(client, project, lead, classes):
    foreign = LabelClassFactory(name="cow")
    client.force_login(lead)
    response = client.post(
        _url(project), {"action": "class_merge", "class_id": classes[1].pk, "into": foreign.pk}
    )
    assert response.status_code == 404
    assert project.classes.count() == 2


def test_reorder_moves_a_class_up(client, project, lead, classes):
    client.force_login(lead)
    client.post(
        _url(project), {"action": "class_move", "class_id": classes[1].pk, "direction": "up"}
    )
    assert list(project.classes.values_list("name", flat=True)) == ["truck", "car"]
    client.post(
        _url(project), {"action": "class_move", "class_id": classes[1].pk, "direction": "up"}
    )  # already first: nothing moves
    assert list(project.classes.values_list("name", flat=True)) == ["truck", "car"]


def test_the_new_class_form_suggests_an_unused_colour_and_the_next_hotkey(
    client, project, lead, classes
):
    classes[0].color = CLASS_COLORS[0]
    classes[0].save()
    suggestion = label_class_suggestion(project=project)
    assert suggestion == {"color": CLASS_COLORS[1], "hotkey": "3"}
    client.force_login(lead)
    page = client.get(_url(project)).content.decode()
    assert f'id="new-class-color" value="{CLASS_COLORS[1]}"' in page
    assert 'id="new-class-hotkey" maxlength="1" class="hotkey-input" value="3"' in page


def test_after_the_nine_digits_a_letter_the_labeling_page_does_not_use_is_suggested(project):
    for n, key in enumerate("123456789abcde"):
        LabelClassFactory(project=project, name=f"c{n}", hotkey=key)
    assert label_class_suggestion(project=project)["hotkey"] == "g"  # f fits the image
