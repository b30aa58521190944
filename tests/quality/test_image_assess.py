import pytest
from django.db import connection
from django.utils import timezone

from annotations.models import Annotation, Box
from quality.engine import AgreementParams, LabelSet, assess_image
from quality.models import ConsensusBox, Flag, ImageAgreement
from quality.services.assessment import image_assess, images_assess
from tests.factories import ImageFactory, UserFactory
from tests.quality.labels import conflicting_image, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def car(classes):
    return classes[0]


@pytest.fixture
def truck(classes):
    return classes[1]


def _resolve(flag):
    flag.status = Flag.Status.RESOLVED
    flag.resolution = Flag.Resolution.ACCEPT_CONSENSUS
    flag.resolved_at = timezone.now()
    flag.save()


def test_complete_image_gets_agreement_consensus_and_flags(
    project, labeler_a, labeler_b, car, truck
):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)

    image_assess(image_id=image.pk)

    agreement = ImageAgreement.objects.get(image=image)
    assert agreement.labeler_count == 2
    assert agreement.open_flag_count == 1
    flag = Flag.objects.get(image=image)
    assert flag.kind == "label_conflict"
    assert flag.status == "open"
    assert set(flag.labelers.all()) == {labeler_a, labeler_b}
    assert flag.message == (
        "labeler_a and labeler_b boxed the same object as car / truck; no class has a majority"
    )
    boxes = Box.objects.filter(annotation__image=image, x__lt=100).values_list("id", flat=True)
    assert sorted(flag.box_ids) == sorted(boxes)
    assert ConsensusBox.objects.filter(image=image).count() == 2


def test_stored_results_equal_the_engine(project, labeler_a, labeler_b, car, truck):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    image_assess(image_id=image.pk)
    expected = assess_image(
        [
            LabelSet("labeler_a", [[10, 10, 50, 40], [200, 200, 60, 40]], ["car", "car"]),
            LabelSet("labeler_b", [[11, 10, 50, 40], [201, 200, 60, 40]], ["truck", "car"]),
        ],
        AgreementParams(match_iou=project.match_iou, low_iou=project.low_iou),
    )
    agreement = ImageAgreement.objects.get(image=image)
    assert agreement.score == pytest.approx(expected.score)
    assert sorted(Flag.objects.values_list("kind", "message")) == sorted(
        (f.kind, f.message) for f in expected.flags
    )
    stored = ConsensusBox.objects.filter(image=image).order_by("index")
    consensus = [o for o in expected.objects if o.consensus]
    assert [(b.x, b.y, b.width, b.height) for b in stored] == [o.box for o in consensus]
    assert [b.label_class.name if b.label_class else None for b in stored] == [
        o.label for o in consensus
    ]


def test_incomplete_image_is_not_assessed(project, labeler_a, car):
    image = ImageFactory(project=project)
    submit(image, labeler_a, [(car, (10, 10, 50, 40))])

    image_assess(image_id=image.pk)

    assert not ImageAgreement.objects.exists()
    assert not Flag.objects.exists()


def test_empty_label_set_counts_and_gives_missing_flags(project, labeler_a, labeler_b, car):
    image = ImageFactory(project=project)
    submit(image, labeler_a, [(car, (10, 10, 50, 40))])
    submit(image, labeler_b, [])

    image_assess(image_id=image.pk)

    assert ImageAgreement.objects.get(image=image).labeler_count == 2
    flag = Flag.objects.get(image=image)
    assert flag.kind == "missing"
    assert set(flag.labelers.all()) == {labeler_a, labeler_b}
    assert f":m{labeler_b.pk}" in flag.key


def test_assessing_twice_changes_nothing(project, labeler_a, labeler_b, car, truck):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    image_assess(image_id=image.pk)
    before = (
        list(ImageAgreement.objects.values()),
        list(Flag.objects.values()),
        list(ConsensusBox.objects.values()),
        list(Flag.labelers.through.objects.values()),
    )

    image_assess(image_id=image.pk)
    images_assess(image_ids=[image.pk, image.pk])

    after = (
        list(ImageAgreement.objects.values()),
        list(Flag.objects.values()),
        list(ConsensusBox.objects.values()),
        list(Flag.labelers.through.objects.values()),
    )
    assert after == before


def test_resolved_flag_survives_a_recompute_with_new_thresholds(
    project, labeler_a, labeler_b, car, truck
):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    image_assess(image_id=image.pk)
    flag = Flag.objects.get()
    _resolve(flag)
    project.low_iou = 0.6
    project.save()

    image_assess(image_id=image.pk)

    assert ImageAgreement.objects.get().params["low_iou"] == 0.6
    assert list(Flag.objects.values_list("pk", "status")) == [(flag.pk, "resolved")]
    assert ImageAgreement.objects.get().open_flag_count == 0


def test_resolved_flag_becomes_superseded_when_its_labels_change(
    project, labeler_a, labeler_b, car, truck
):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    image_assess(image_id=image.pk)
    flag = Flag.objects.get()
    _resolve(flag)

    Box.objects.filter(label_class=truck).update(width=52)  # b redraws the box: new labels
    image_assess(image_id=image.pk)

    flag.refresh_from_db()
    assert flag.status == "superseded"
    assert flag.resolution == "accept_consensus"
    fresh = Flag.objects.exclude(pk=flag.pk).get()
    assert (fresh.kind, fresh.status) == ("label_conflict", "open")


def test_open_flag_disappears_when_labelers_agree(project, labeler_a, labeler_b, car, truck):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    image_assess(image_id=image.pk)

    Box.objects.filter(label_class=truck).update(label_class=car)
    image_assess(image_id=image.pk)

    assert not Flag.objects.exists()
    assert ImageAgreement.objects.get().score == pytest.approx(1.0, abs=0.05)
    assert ImageAgreement.objects.get().open_flag_count == 0


def test_withdrawn_submission_removes_results_and_supersedes_settled_flags(
    project, labeler_a, labeler_b, car, truck
):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    image_assess(image_id=image.pk)
    _resolve(Flag.objects.get())

    Annotation.objects.filter(labeler=labeler_b).update(status="draft", submitted_at=None)
    image_assess(image_id=image.pk)

    assert not ImageAgreement.objects.exists()
    assert not ConsensusBox.objects.exists()
    assert list(Flag.objects.values_list("status", flat=True)) == ["superseded"]


def test_queries_per_chunk_do_not_grow_with_boxes_or_images(
    project, labeler_a, labeler_b, car, truck, django_assert_max_num_queries
):
    small = [conflicting_image(project, labeler_a, labeler_b, car, truck).pk for _ in range(2)]
    images_assess(image_ids=small)  # warm: content types and the like
    Flag.objects.all().delete()
    ImageAgreement.objects.all().delete()
    with django_assert_max_num_queries(34) as few:  # 30 before the habit evidence (#18)
        images_assess(image_ids=small)

    big = []
    for _ in range(20):
        image = conflicting_image(project, labeler_a, labeler_b, car, truck)
        for labeler in (labeler_a, labeler_b):
            annotation = Annotation.objects.get(image=image, labeler=labeler)
            Box.objects.bulk_create(
                Box(
                    annotation=annotation,
                    label_class=car,
                    x=300 + 30 * k,
                    y=10,
                    width=20,
                    height=20,
                )
                for k in range(10)
            )
        big.append(image.pk)
    # SQLite caps a statement at 999 parameters, so Django splits bulk inserts of hundreds of
    # rows in a few statements (habit evidence rows have 41 columns: 24 rows a statement);
    # PostgreSQL takes each in one.
    extra = 0 if connection.vendor == "postgresql" else 8
    with django_assert_max_num_queries(len(few.captured_queries) + extra):
        images_assess(image_ids=big)
    assert ImageAgreement.objects.filter(image_id__in=big).count() == 20


def test_near_duplicate_images_with_different_labels_are_flagged(
    project, labeler_a, labeler_b, car, truck
):
    first = ImageFactory(project=project, phash=0x0F0F_0F0F_0F0F_0F0F)
    second = ImageFactory(project=project, phash=0x0F0F_0F0F_0F0F_0F0E)  # one bit apart
    far = ImageFactory(project=project, phash=-0x0F0F_0F0F_0F0F_0F10)
    for labeler in (labeler_a, labeler_b):
        submit(first, labeler, [(car, (10, 10, 50, 40))])
        submit(second, labeler, [(truck, (10, 10, 50, 40))])
        submit(far, labeler, [(truck, (10, 10, 50, 40)), (car, (100, 10, 50, 40))])

    for image in (first, second, far):
        image_assess(image_id=image.pk)
    image_assess(image_id=second.pk)  # again: still one flag

    flag = Flag.objects.get(kind="near_duplicate_conflict")
    assert (flag.image_id, flag.other_image_id) == (first.pk, second.pk)
    assert flag.message == (
        f"images {first.pk} and {second.pk} look the same but were labeled 1 car / 1 truck"
    )
    assert ImageAgreement.objects.get(image=first).open_flag_count == 1


def test_other_labelers_in_another_project_do_not_mix(project, labeler_a, labeler_b, car, truck):
    image = conflicting_image(project, labeler_a, labeler_b, car, truck)
    stranger = UserFactory(username="stranger")
    other = ImageFactory()
    submit(other, stranger, [])
    images_assess(image_ids=[image.pk, other.pk])
    assert list(ImageAgreement.objects.values_list("image_id", flat=True)) == [image.pk]
