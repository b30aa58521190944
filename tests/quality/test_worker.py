"""The pipeline on a real Celery worker and Redis (started by the celery_worker fixture)."""

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from annotations.models import Annotation, Box
from annotations.services import annotation_submit
from quality.enqueue import recompute_start
from quality.models import AgreementRun, Flag, ImageAgreement
from quality.tasks import sweep_unassessed_task
from tests.conftest import wait_for
from tests.factories import AnnotationFactory, ImageFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


WAIT = 30  # seconds for the worker


def _draft(image, labeler, boxes):
    annotation = AnnotationFactory(image=image, labeler=labeler)
    Box.objects.bulk_create(
        Box(annotation=annotation, label_class=cls, x=x, y=y, width=w, height=h)
        for cls, (x, y, w, h) in boxes
    )
    return annotation


def _submitted_an_hour_ago_without_trigger(image, labeler, boxes):
    """As if the submit's task message died with Redis: only the sweep can find the image."""
    annotation = _draft(image, labeler, boxes)
    Annotation.objects.filter(pk=annotation.pk).update(
        status="submitted",
        submitted_at=annotation.started_at,
        updated_at=timezone.now() - timedelta(hours=1),
    )


def test_last_submit_of_an_image_brings_its_flags(project, labeler_a, labeler_b, classes):
    car, truck = classes
    image = ImageFactory(project=project)
    first = _draft(image, labeler_a, [(car, (10, 10, 50, 40))])
    last = _draft(image, labeler_b, [(truck, (11, 10, 50, 40))])
    annotation_submit(annotation=first)
    time.sleep(0.3)
    assert not ImageAgreement.objects.exists()  # one label set of two: nothing to assess yet

    annotation_submit(annotation=last)

    wait_for(lambda: Flag.objects.filter(image=image, kind="label_conflict").exists(), WAIT)
    assert ImageAgreement.objects.get(image=image).open_flag_count == 1
    assert Annotation.objects.filter(image=image, status="submitted").count() == 2


def test_recompute_run_succeeds_on_the_worker(project, labeler_a, labeler_b, classes, settings):
    car, truck = classes
    for k in range(6):
        image = ImageFactory(project=project)
        for labeler, cls in ((labeler_a, car), (labeler_b, truck if k % 2 else car)):
            annotation = _draft(image, labeler, [(cls, (10 + k, 10, 50, 40))])
            Annotation.objects.filter(pk=annotation.pk).update(
                status="submitted", submitted_at=annotation.started_at
            )
    with transaction.atomic():
        run = recompute_start(project=project, reason="worker test")

    wait_for(lambda: AgreementRun.objects.get(pk=run.pk).state in ("succeeded", "failed"), WAIT)
    run.refresh_from_db()
    assert (run.state, run.done, run.total, run.error) == ("succeeded", 6, 6, "")
    assert ImageAgreement.objects.count() == 6
    assert Flag.objects.filter(kind="label_conflict").count() == 3
    assert project.agreement.images_assessed == 6


def test_sweep_on_the_worker_assesses_an_image_whose_task_was_lost(
    project, labeler_a, labeler_b, classes
):
    car, truck = classes
    image = ImageFactory(project=project)
    for labeler, cls in ((labeler_a, car), (labeler_b, truck)):
        _submitted_an_hour_ago_without_trigger(image, labeler, [(cls, (10, 10, 50, 40))])

    sweep_unassessed_task.delay()

    wait_for(lambda: Flag.objects.filter(image=image, kind="label_conflict").exists(), WAIT)
    assert ImageAgreement.objects.get(image=image).open_flag_count == 1


def test_worker_recovers_when_the_database_dropped_its_connection(
    project, labeler_a, labeler_b, classes
):
    car, truck = classes
    first = ImageFactory(project=project)
    annotation_submit(annotation=_draft(first, labeler_a, [(car, (10, 10, 50, 40))]))
    annotation_submit(annotation=_draft(first, labeler_b, [(truck, (11, 10, 50, 40))]))
    wait_for(lambda: ImageAgreement.objects.filter(image=first).exists(), WAIT)
    with connection.cursor() as cursor:  # as a database restart would
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    second = ImageFactory(project=project)
    for labeler, cls in ((labeler_a, car), (labeler_b, truck)):
        _submitted_an_hour_ago_without_trigger(second, labeler, [(cls, (10, 10, 50, 40))])

    sweep_unassessed_task.delay()  # no automatic retry: its connection must be checked first

    wait_for(lambda: ImageAgreement.objects.filter(image=second).exists(), WAIT)
