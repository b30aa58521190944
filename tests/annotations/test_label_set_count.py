"""Image.label_set_count, kept by the database's triggers, equals the labelers' label sets.

The queue trusts the count to find free slots, so every way a label set comes and goes must keep
it: the queue's drafts, reclaimed abandoned drafts (in test_queue.py), deletes one by one or by
cascade, bulk inserts, an annotation moved to another image. Adjudications never count.
"""

import pytest
from django.db.models import Count, Q
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Annotation
from annotations.services import queue_next
from projects.models import Image
from tests.factories import AnnotationFactory, ImageFactory, UserFactory

pytestmark = pytest.mark.django_db


def counts_agree(project) -> bool:
    """Every image's stored count equals its label sets counted from the annotations table."""
    images = Image.objects.filter(project=project).annotate(
        counted=Count("annotations", filter=Q(annotations__kind="label"))
    )
    return all(image.label_set_count == image.counted for image in images)


def stored(image) -> int:
    image.refresh_from_db(fields=["label_set_count"])
    return image.label_set_count


def test_a_draft_from_the_queue_counts_and_submitting_it_changes_nothing(
    project, acknowledged, labeler_a
):
    image = ImageFactory(project=project)
    annotation = queue_next(project=project, labeler=labeler_a)
    assert annotation.image_id == image.pk
    assert stored(image) == 1
    Annotation.objects.filter(pk=annotation.pk).update(
        status="submitted", submitted_at=timezone.now()
    )
    assert stored(image) == 1


def test_an_adjudication_is_not_a_label_set(project, lead, labeler_b):
    image = ImageFactory(project=project)
    AnnotationFactory(image=image, labeler=labeler_b)
    AnnotationFactory(image=image, labeler=lead, kind="adjudication")
    assert stored(image) == 1


def test_bulk_inserts_deletes_and_moves_keep_the_count(project, labeler_a, labeler_b):
    first, second = ImageFactory(project=project), ImageFactory(project=project)
    Annotation.objects.bulk_create(
        [
            Annotation(image=first, labeler=labeler_a),
            Annotation(image=first, labeler=labeler_b),
            Annotation(image=second, labeler=labeler_a),
        ]
    )
    assert (stored(first), stored(second)) == (2, 1)
    Annotation.objects.filter(image=first, labeler=labeler_b).update(image=second)
    assert (stored(first), stored(second)) == (1, 2)
    Annotation.objects.filter(image=second, labeler=labeler_a).update(kind="adjudication")
    assert stored(second) == 1
    Annotation.objects.filter(labeler=labeler_b).delete()
    assert (stored(first), stored(second)) == (1, 0)


def test_deleting_an_image_deletes_its_label_sets_without_error(project, labeler_a):
    image = ImageFactory(project=project)
    AnnotationFactory(image=image, labeler=labeler_a)
    image.delete()
    assert not Annotation.objects.filter(labeler=labeler_a).exists()


operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "adjudicate", "delete", "move"]),
        st.integers(min_value=0, max_value=2),  # image
        st.integers(min_value=0, max_value=3),  # person
    ),
    max_size=25,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(operations=operations)
def test_the_count_equals_the_label_sets_after_any_sequence_of_writes(project, operations):
    Image.objects.filter(project=project).delete()
    images = [ImageFactory(project=project) for _ in range(3)]
    people = [UserFactory() for _ in range(4)]
    for operation, image_index, person_index in operations:
        image, person = images[image_index], people[person_index]
        existing = Annotation.objects.filter(image=image, labeler=person)
        if operation in ("add", "adjudicate") and not existing.exists():
            kind = "label" if operation == "add" else "adjudication"
            if kind == "label" or not image.annotations.filter(kind="adjudication").exists():
                Annotation.objects.create(image=image, labeler=person, kind=kind)
        elif operation == "delete":
            existing.delete()
        elif operation == "move":
            target = images[(image_index + 1) % 3]
            if not Annotation.objects.filter(image=target, labeler=person).exists():
                existing.filter(kind="label").update(image=target)
    assert counts_agree(project)
