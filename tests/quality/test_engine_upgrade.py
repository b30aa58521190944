"""Through the pipeline: the engine's deviating labelers are stored, and results of an older
engine version are re-assessed by the sweep without anyone asking."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Annotation
from quality.engine import ENGINE_VERSION
from quality.engine.figures import FIGURES_VERSION
from quality.models import (
    Flag,
    FlagLabeler,
    HabitEvidence,
    HabitPairEvidence,
    ImageAgreement,
    LabelSetFigures,
)
from quality.services.assessment import image_assess
from quality.tasks import sweep_unassessed_task
from tests.factories import ImageFactory, MembershipFactory, UserFactory
from tests.quality.labels import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(project, labeler_a, labeler_b):
    project.labelers_per_image = 3
    project.save(update_fields=["labelers_per_image"])
    labeler_c = UserFactory(username="labeler_c")
    MembershipFactory(project=project, user=labeler_c, role="labeler")
    return labeler_a, labeler_b, labeler_c


def _flags(image):
    return sorted(
        (
            f.kind,
            sorted(f.labelers.values_list("username", flat=True)),
            sorted(f.labeler_rows.filter(deviating=True).values_list("user__username", flat=True)),
        )
        for f in Flag.objects.filter(image=image)
    )


def test_a_labeler_who_boxes_one_truck_twice_gets_one_duplicate_flag(project, classes, three):
    """The issue's case: before engine 1.3 the copy split the object and raised a grouping
    flag and two missing flags against the labelers who boxed it once."""
    _, truck = classes
    a, b, c = three
    image = ImageFactory(project=project)
    submit(image, a, [(truck, (961, 115, 50, 145)), (truck, (963, 112, 52, 148))])
    submit(image, b, [(truck, (960, 112, 50, 141))])
    submit(image, c, [(truck, (962, 112, 51, 149))])

    image_assess(image_id=image.pk)

    assert _flags(image) == [("duplicate", ["labeler_a"], ["labeler_a"])]


def test_results_of_an_older_engine_are_reassessed_by_the_sweep(project, classes, three):
    car, truck = classes
    a, b, c = three
    image = ImageFactory(project=project)
    submit(image, a, [(car, (10, 10, 50, 40))])
    submit(image, b, [(car, (11, 10, 50, 40))])
    submit(image, c, [(truck, (10, 11, 50, 40))])
    image_assess(image_id=image.pk)
    assert _flags(image) == [
        ("label_conflict", ["labeler_a", "labeler_b", "labeler_c"], ["labeler_c"])
    ]
    # As an engine before 1.3 left it: an older version (whose name salts the input digest),
    # and nobody marked as deviating.
    ImageAgreement.objects.filter(image=image).update(
        engine_version="1.2.0", input_digest="digest-under-engine-1.2.0"
    )
    FlagLabeler.objects.update(deviating=False)
    Annotation.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    ImageAgreement.objects.update(computed_at=timezone.now() - timedelta(minutes=50))

    assert sweep_unassessed_task() == 1

    assert ImageAgreement.objects.get(image=image).engine_version == ENGINE_VERSION
    assert _flags(image) == [
        ("label_conflict", ["labeler_a", "labeler_b", "labeler_c"], ["labeler_c"])
    ]
    assert sweep_unassessed_task() == 0


def test_results_stored_without_figures_are_reassessed_by_the_sweep(project, classes, three):
    """An assessment from before the figures were stored (figures_version 0, as migration
    0007 leaves every existing row): the sweep assesses it again, and the summary then counts
    its labelers' figures."""
    car, truck = classes
    a, b, c = three
    image = ImageFactory(project=project)
    submit(image, a, [(car, (10, 10, 50, 40))])
    submit(image, b, [(car, (11, 10, 50, 40))])
    submit(image, c, [(truck, (10, 11, 50, 40))])
    image_assess(image_id=image.pk)
    old_digest = ImageAgreement.objects.get(image=image).input_digest
    LabelSetFigures.objects.all().delete()
    ImageAgreement.objects.update(
        figures_version=0,
        computed_at=timezone.now() - timedelta(minutes=50),
        input_digest="digest-before-figures",
    )
    Annotation.objects.update(updated_at=timezone.now() - timedelta(hours=1))

    assert sweep_unassessed_task() == 1

    agreement = ImageAgreement.objects.get(image=image)
    assert (agreement.figures_version, agreement.input_digest) == (FIGURES_VERSION, old_digest)
    assert LabelSetFigures.objects.filter(image=image).count() == 3
    assert sweep_unassessed_task() == 0


def test_results_stored_before_habit_evidence_are_reassessed_by_the_sweep(project, classes, three):
    """Results of FIGURES_VERSION 1 (before issue 18) have no habit evidence: the sweep
    assesses them again, which stores it."""
    car, truck = classes
    a, b, c = three
    image = ImageFactory(project=project)
    submit(image, a, [(car, (10, 10, 50, 40))])
    submit(image, b, [(car, (11, 10, 50, 40))])
    submit(image, c, [(truck, (10, 11, 50, 40))])
    image_assess(image_id=image.pk)
    assert HabitEvidence.objects.filter(image=image).exists()
    HabitEvidence.objects.all().delete()
    HabitPairEvidence.objects.all().delete()
    ImageAgreement.objects.update(
        figures_version=1,
        computed_at=timezone.now() - timedelta(minutes=50),
        input_digest="digest-under-figures-1",
    )
    Annotation.objects.update(updated_at=timezone.now() - timedelta(hours=1))

    assert sweep_unassessed_task() == 1

    assert ImageAgreement.objects.get(image=image).figures_version == FIGURES_VERSION
    labelers = set(HabitEvidence.objects.filter(image=image).values_list("labeler_id", flat=True))
    assert labelers == {a.pk, b.pk, c.pk, None}  # None: the project's rows
    assert HabitPairEvidence.objects.filter(image=image, labeler=None).exists()  # car/truck
    assert sweep_unassessed_task() == 0
