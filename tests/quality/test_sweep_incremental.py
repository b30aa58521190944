"""The minute sweep is incremental: after a complete pass it reads the images whose labels changed
since (through Image.labels_changed_at's index), results of another engine version (through an
index), and the assessments of a project only when its thresholds are not known to be current.
What a lost message leaves behind is still found."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from annotations.models import Annotation
from projects.models import Image, Project
from quality.engine import ENGINE_VERSION
from quality.models import ImageAgreement
from quality.selectors.sweep import sweep_find
from quality.services.assessment import image_assess
from quality.tasks import (
    SWEEP_LOOKBACK,
    SWEEP_SWEPT_UNTIL_KEY,
    SWEEP_THRESHOLDS_KEY,
    sweep_unassessed_task,
)
from tests.quality.labels import conflicting_image
from tests.quality.reads import rows_read
from tests.quality.test_near_duplicate_index import _background

pytestmark = pytest.mark.django_db

TABLES = ("projects_image", "annotations_annotation", "quality_imageagreement")


def _settled(image, minutes: int) -> None:
    """The image's labels last changed ``minutes`` ago and it was assessed before that."""
    then = timezone.now() - timedelta(minutes=minutes)
    Annotation.objects.filter(image=image).update(updated_at=then)
    ImageAgreement.objects.filter(image=image).update(computed_at=then - timedelta(minutes=1))


def _assessed(project, labeler_a, labeler_b, classes, minutes: int):
    image = conflicting_image(project, labeler_a, labeler_b, *classes)
    image_assess(image_id=image.pk)
    ImageAgreement.objects.filter(image=image).update(
        computed_at=timezone.now() - timedelta(minutes=minutes)
    )
    Annotation.objects.filter(image=image).update(
        updated_at=timezone.now() - timedelta(minutes=minutes + 1)
    )
    return image


def _old_background(project, n: int) -> None:
    """n assessed, complete images whose labels changed two days ago."""
    ids = _background(project, n)
    Image.objects.filter(pk__in=ids).update(
        submitted_count=2, labels_changed_at=timezone.now() - timedelta(days=2)
    )


def test_after_a_complete_pass_the_sweep_reads_only_the_images_changed_since(
    project, labeler_a, labeler_b, classes
):
    _old_background(project, 300)
    assert sweep_unassessed_task() == 0  # the first pass reads everything once
    assert cache.get(SWEEP_SWEPT_UNTIL_KEY) is not None
    current = _assessed(project, labeler_a, labeler_b, classes, minutes=1)  # changed since

    with rows_read(*TABLES) as read:
        assert sweep_unassessed_task() == 0

    assert read["annotations_annotation"] == 0
    assert read["projects_image"] == 1, read  # the changed image, not the 300
    # Its agreement (once per condition) and the two ends of the engine_version and
    # figures_version indexes.
    assert read["quality_imageagreement"] <= 3 + 4, read
    assert Image.objects.get(pk=current.pk).labels_changed_at > timezone.now() - SWEEP_LOOKBACK


def test_a_submit_whose_message_was_lost_after_the_last_pass_is_found(
    project, labeler_a, labeler_b, classes
):
    _old_background(project, 20)
    assert sweep_unassessed_task() == 0
    lost = conflicting_image(project, labeler_a, labeler_b, *classes)  # its task never ran
    Annotation.objects.filter(image=lost).update(updated_at=timezone.now() - timedelta(minutes=2))
    edited = _assessed(project, labeler_a, labeler_b, classes, minutes=10)
    _settled(edited, minutes=3)  # edited after it was assessed; that task was lost too

    assert sweep_unassessed_task() == 2

    assert ImageAgreement.objects.filter(image=lost).exists()
    assert ImageAgreement.objects.get(image=edited).computed_at > timezone.now() - timedelta(
        minutes=1
    )
    assert sweep_unassessed_task() == 0


def test_a_withdrawal_after_the_last_pass_is_found_at_once(project, labeler_a, labeler_b, classes):
    image = _assessed(project, labeler_a, labeler_b, classes, minutes=30)
    assert sweep_unassessed_task() == 0
    Annotation.objects.filter(image=image, labeler=labeler_b).update(
        status="draft", submitted_at=None
    )

    assert sweep_unassessed_task() == 1

    assert not ImageAgreement.objects.filter(image=image).exists()


def test_a_change_long_before_the_last_pass_is_not_read_again(
    project, labeler_a, labeler_b, classes
):
    image = conflicting_image(project, labeler_a, labeler_b, *classes)
    Annotation.objects.filter(image=image).update(updated_at=timezone.now() - timedelta(hours=3))
    # A pass an hour ago was complete: it saw this image (and enqueued it; say that was lost).
    cache.set(SWEEP_SWEPT_UNTIL_KEY, timezone.now() - timedelta(hours=1), timeout=None)
    now = timezone.now()
    assert timedelta(hours=2) > SWEEP_LOOKBACK

    found = sweep_find(
        limit=10,
        settled_before=now - timedelta(minutes=1),
        runs_after=now - timedelta(hours=1),
        changed_after=cache.get(SWEEP_SWEPT_UNTIL_KEY) - SWEEP_LOOKBACK,
    )
    assert found.images == {}
    cache.delete(SWEEP_SWEPT_UNTIL_KEY)  # Redis lost what the sweep remembered: all again
    assert sweep_unassessed_task() == 1


def test_a_pass_that_reaches_the_batch_limit_looks_again_from_where_it_was(
    settings, project, labeler_a, labeler_b, classes
):
    settings.AGREEMENT_SWEEP_BATCH = 1
    for _ in range(2):
        image = conflicting_image(project, labeler_a, labeler_b, *classes)
        Annotation.objects.filter(image=image).update(
            updated_at=timezone.now() - timedelta(hours=2)
        )

    assert sweep_unassessed_task() == 1
    assert cache.get(SWEEP_SWEPT_UNTIL_KEY) is None  # not complete: not moved
    assert sweep_unassessed_task() == 1
    assert sweep_unassessed_task() == 0
    assert cache.get(SWEEP_SWEPT_UNTIL_KEY) is not None
    assert ImageAgreement.objects.count() == 2


def test_thresholds_changed_without_a_run_are_found_then_the_project_is_current(
    project, labeler_a, labeler_b, classes
):
    images = [_assessed(project, labeler_a, labeler_b, classes, minutes=30) for _ in range(3)]
    _old_background(project, 50)
    assert sweep_unassessed_task() == 0
    assert cache.get(SWEEP_THRESHOLDS_KEY) == {project.pk: (project.match_iou, project.low_iou)}
    Project.objects.filter(pk=project.pk).update(low_iou=0.6)  # no run was started

    assert sweep_unassessed_task() == 3  # found by a scan of the project's assessments

    assert {a.params["low_iou"] for a in ImageAgreement.objects.filter(image__in=images)} == {0.6}
    assert sweep_unassessed_task() == 0  # the scan finds none: the project is current
    assert cache.get(SWEEP_THRESHOLDS_KEY) == {project.pk: (project.match_iou, 0.6)}


def test_a_project_whose_thresholds_are_current_is_not_read(project, labeler_a, labeler_b, classes):
    for _ in range(3):
        _assessed(project, labeler_a, labeler_b, classes, minutes=30)
    _old_background(project, 50)
    assert sweep_unassessed_task() == 0

    with rows_read(*TABLES) as read:
        assert sweep_unassessed_task() == 0

    # The two ends of the engine_version and figures_version indexes, and at most the
    # label-change index's entries for versions of the three images this transaction updated:
    # not the project's 53 images.
    assert read["annotations_annotation"] == 0
    assert read["quality_imageagreement"] == 4
    assert read["projects_image"] <= 2 * 3, read


def test_an_older_engines_results_are_found_after_a_complete_pass(
    project, labeler_a, labeler_b, classes
):
    image = _assessed(project, labeler_a, labeler_b, classes, minutes=300)
    _old_background(project, 50)
    assert sweep_unassessed_task() == 0
    ImageAgreement.objects.filter(image=image).update(engine_version="1.2.0", input_digest="old")

    assert sweep_unassessed_task() == 1

    assert ImageAgreement.objects.get(image=image).engine_version == ENGINE_VERSION


def test_an_older_engines_results_are_read_through_the_index(
    project, labeler_a, labeler_b, classes
):
    image = _assessed(project, labeler_a, labeler_b, classes, minutes=300)
    _old_background(project, 50)
    ImageAgreement.objects.filter(image=image).update(engine_version="1.2.0", input_digest="old")
    now = timezone.now()

    with rows_read(*TABLES) as read:
        found = sweep_find(
            limit=10,
            settled_before=now,
            runs_after=now,
            changed_after=now,
            thresholds_current={project.pk: (project.match_iou, project.low_iou)},
        )

    assert found.images == {project.pk: [image.pk]}
    # The two ends of the engine_version and figures_version indexes, then the older one's row
    # and its image: not the 50 others.
    assert read == {"projects_image": 1, "annotations_annotation": 0, "quality_imageagreement": 5}
