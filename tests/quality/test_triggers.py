import pytest

from annotations.models import Box
from quality.enqueue import image_labels_changed
from quality.models import Flag, ImageAgreement
from tests.factories import ImageFactory
from tests.quality.labels import conflicting_image, submit

pytestmark = pytest.mark.django_db


def test_completing_an_image_assesses_it_after_commit(
    project, labeler_a, labeler_b, classes, django_capture_on_commit_callbacks
):
    image = conflicting_image(project, labeler_a, labeler_b, *classes)

    with django_capture_on_commit_callbacks() as callbacks:
        image_labels_changed(image_id=image.pk)
        assert not ImageAgreement.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()

    assert ImageAgreement.objects.filter(image=image).exists()
    assert Flag.objects.filter(image=image, kind="label_conflict").exists()


def test_incomplete_image_enqueues_nothing(
    project, labeler_a, classes, django_capture_on_commit_callbacks
):
    image = ImageFactory(project=project)
    submit(image, labeler_a, [(classes[0], (1, 1, 10, 10))])

    with django_capture_on_commit_callbacks() as callbacks:
        image_labels_changed(image_id=image.pk)

    assert callbacks == []


def test_edit_of_a_complete_image_refreshes_its_flags(
    project, labeler_a, labeler_b, classes, django_capture_on_commit_callbacks
):
    car, truck = classes
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    with django_capture_on_commit_callbacks(execute=True):
        image_labels_changed(image_id=image.pk)

    Box.objects.filter(label_class=truck).update(label_class=car)
    with django_capture_on_commit_callbacks(execute=True):
        image_labels_changed(image_id=image.pk)

    assert not Flag.objects.filter(image=image).exists()
