"""The periodic sweep: complete images without a current assessment are caught up."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Annotation, Box
from quality.models import AgreementRun, Flag, ImageAgreement
from quality.selectors.sweep import images_to_sweep
from quality.services.assessment import image_assess
from quality.tasks import sweep_unassessed_task
from tests.factories import ImageFactory
from tests.quality.labels import conflicting_image, submit

pytestmark = pytest.mark.django_db


def _settle():
    """Labels last changed an hour ago: their own task has had its chance."""
    Annotation.objects.update(updated_at=timezone.now() - timedelta(hours=1))


def _found():
    now = timezone.now()
    return images_to_sweep(
        limit=100, settled_before=now - timedelta(minutes=1), runs_after=now - timedelta(hours=1)
    )


def test_complete_image_without_assessment_is_assessed_by_the_sweep(
    project, labeler_a, labeler_b, classes
):
    image = conflicting_image(project, labeler_a, labeler_b, *classes)  # its task was lost
    _settle()

    assert sweep_unassessed_task() == 1

    assert ImageAgreement.objects.filter(image=image).exists()
    assert Flag.objects.filter(image=image, kind="label_conflict").exists()
    assert _found() == {}
    assert sweep_unassessed_task() == 0


def test_assessed_current_image_is_not_enqueued(project, labeler_a, labeler_b, classes):
    image = conflicting_image(project, labeler_a, labeler_b, *classes)
    image_assess(image_id=image.pk)
    _settle()
    before = list(ImageAgreement.objects.values())

    assert sweep_unassessed_task() == 0
    assert list(ImageAgreement.objects.values()) == before


def test_fresh_submit_and_incomplete_image_are_left_alone(project, labeler_a, labeler_b, classes):
    conflicting_image(project, labeler_a, labeler_b, *classes)  # just submitted: its task runs
    half = ImageFactory(project=project)
    submit(half, labeler_a, [(classes[0], (1, 1, 10, 10))])
    Annotation.objects.filter(image=half).update(updated_at=timezone.now() - timedelta(hours=1))

    assert _found() == {}


def test_stale_thresholds_edits_and_withdrawals_are_found(project, labeler_a, labeler_b, classes):
    car, truck = classes
    images = [conflicting_image(project, labeler_a, labeler_b, car, truck) for _ in range(4)]
    for image in images:
        image_assess(image_id=image.pk)
    _settle()
    ImageAgreement.objects.update(computed_at=timezone.now() - timedelta(minutes=50))
    thresholds, edited, withdrawn, current = images
    ImageAgreement.objects.filter(image=thresholds).update(  # assessed under other thresholds
        params={"match_iou": 0.5, "low_iou": 0.6}, input_digest="digest-of-other-thresholds"
    )
    annotation = Annotation.objects.get(image=edited, labeler=labeler_b)
    Box.objects.filter(annotation=annotation, label_class=truck).update(label_class=car)
    Annotation.objects.filter(pk=annotation.pk).update(
        updated_at=timezone.now() - timedelta(minutes=30)  # after the assessment, settled
    )
    Annotation.objects.filter(image=withdrawn, labeler=labeler_b).update(
        status="draft", submitted_at=None
    )

    assert _found() == {project.pk: sorted([thresholds.pk, edited.pk, withdrawn.pk])}
    assert sweep_unassessed_task() == 3

    assert _found() == {}
    assert ImageAgreement.objects.get(image=thresholds).params["low_iou"] == project.low_iou
    assert not Flag.objects.filter(image=edited).exists()  # they agree now
    assert not ImageAgreement.objects.filter(image=withdrawn).exists()
    assert Flag.objects.filter(image=current).count() == 1


def test_an_edit_that_changes_nothing_is_not_picked_again(project, labeler_a, labeler_b, classes):
    image = conflicting_image(project, labeler_a, labeler_b, *classes)
    image_assess(image_id=image.pk)
    Annotation.objects.update(updated_at=timezone.now() - timedelta(minutes=30))  # same boxes
    ImageAgreement.objects.update(computed_at=timezone.now() - timedelta(hours=1))

    assert sweep_unassessed_task() == 1
    assert sweep_unassessed_task() == 0


def test_project_with_a_running_recompute_is_left_to_the_run(
    project, labeler_a, labeler_b, classes
):
    conflicting_image(project, labeler_a, labeler_b, *classes)
    _settle()
    run = AgreementRun.objects.create(project=project, state="running", total=1)
    assert _found() == {}

    AgreementRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert list(_found()) == [project.pk]  # a run this old was lost
