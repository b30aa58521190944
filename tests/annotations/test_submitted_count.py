"""Image.submitted_count and Image.labels_changed_at, kept by the database's triggers.

The agreement sweep reads the images whose labels changed since it last looked, and the report
counts submitted label sets, from these two columns: every way a submitted label set comes,
changes and goes must keep them (a submit, an edit, a withdrawal, a delete, a bulk insert, an
annotation moved to another image), and what is not a change of submitted labels (a draft's
autosave, a re-submit, an adjudication) must leave them alone.
"""

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Annotation
from projects.models import Image
from tests.factories import AnnotationFactory, ImageFactory, UserFactory

pytestmark = pytest.mark.django_db

SUBMITTED = Q(annotations__kind="label", annotations__status="submitted")
# SQLite's clock in the triggers has milliseconds.
CLOCK = timedelta(milliseconds=1)


def stored(image) -> tuple:
    image.refresh_from_db(fields=["submitted_count", "labels_changed_at"])
    return image.submitted_count, image.labels_changed_at


def submitted(image, labeler, **fields) -> Annotation:
    return AnnotationFactory(
        image=image, labeler=labeler, status="submitted", submitted_at=timezone.now(), **fields
    )


def test_a_submit_counts_and_stamps_the_change(project, labeler_a, labeler_b):
    image = ImageFactory(project=project)
    draft = AnnotationFactory(image=image, labeler=labeler_a)
    assert stored(image) == (0, None)

    draft.status, draft.submitted_at = "submitted", timezone.now()
    draft.save()
    assert stored(image) == (1, draft.updated_at)

    other = submitted(image, labeler_b)
    assert stored(image) == (2, other.updated_at)


def test_autosaves_of_drafts_resubmits_and_adjudications_change_nothing(
    project, lead, labeler_a, labeler_b
):
    image = ImageFactory(project=project)
    done = submitted(image, labeler_a)
    draft = AnnotationFactory(image=image, labeler=labeler_b)
    before = stored(image)

    draft.save()  # an autosave: updated_at moves on a draft
    done.active_seconds = 99
    done.save(update_fields=["active_seconds"])  # a submit again: only the time is kept
    AnnotationFactory(image=image, labeler=lead, kind="adjudication", status="submitted",
                      submitted_at=timezone.now())  # fmt: skip

    assert stored(image) == before


def test_an_edit_of_submitted_labels_moves_the_stamp(project, labeler_a):
    image = ImageFactory(project=project)
    annotation = submitted(image, labeler_a)
    annotation.save()  # the boxes were replaced: the services save updated_at
    assert stored(image) == (1, annotation.updated_at)

    hour_ago = timezone.now() - timedelta(hours=1)
    Annotation.objects.filter(pk=annotation.pk).update(updated_at=hour_ago)
    assert stored(image) == (1, hour_ago)  # the latest updated_at, as the sweep read it before


def test_a_withdrawal_or_a_delete_uncounts_and_stamps_the_time(project, labeler_a, labeler_b):
    image = ImageFactory(project=project)
    first, second = submitted(image, labeler_a), submitted(image, labeler_b)
    Annotation.objects.update(updated_at=timezone.now() - timedelta(hours=2))

    before = timezone.now()
    Annotation.objects.filter(pk=first.pk).update(status="draft", submitted_at=None)
    count, changed = stored(image)
    assert count == 1 and changed >= before - CLOCK

    Annotation.objects.update(updated_at=timezone.now() - timedelta(hours=2))
    before = timezone.now()
    second.delete()
    count, changed = stored(image)
    assert count == 0 and changed >= before - CLOCK


def test_bulk_inserts_and_moves_keep_count_and_stamp(project, labeler_a, labeler_b):
    first, second = ImageFactory(project=project), ImageFactory(project=project)
    now = timezone.now()
    Annotation.objects.bulk_create(
        [
            Annotation(image=first, labeler=labeler_a, status="submitted", submitted_at=now),
            Annotation(image=first, labeler=labeler_b, status="submitted", submitted_at=now),
            Annotation(image=second, labeler=labeler_a),
        ]
    )
    latest = Annotation.objects.filter(image=first).aggregate(t=Max("updated_at"))["t"]
    assert stored(first) == (2, latest)
    assert stored(second) == (0, None)

    before = timezone.now()
    Annotation.objects.filter(image=first, labeler=labeler_b).update(image=second)
    assert stored(second)[0] == 1 and stored(first)[0] == 1
    assert stored(first)[1] >= before - CLOCK  # a submitted label set left the image


def test_the_backfill_counts_what_is_there(project, labeler_a, labeler_b):
    image, other = ImageFactory(project=project), ImageFactory(project=project)
    submitted(image, labeler_a)
    latest = submitted(image, labeler_b).updated_at
    AnnotationFactory(image=other, labeler=labeler_a)
    Image.objects.update(submitted_count=0, labels_changed_at=None)

    migration = importlib.import_module("annotations.migrations.0004_submitted_label_sets_triggers")
    backfill = {"postgresql": migration.POSTGRESQL_BACKFILL, "sqlite": migration.SQLITE_BACKFILL}
    with connection.cursor() as cursor:
        cursor.execute(backfill[connection.vendor])

    assert stored(image) == (2, latest)
    assert stored(other) == (0, None)


def counts_agree(project) -> bool:
    """Every image's stored count equals its submitted label sets counted from the table, and
    its stamp is at least their latest updated_at."""
    images = Image.objects.filter(project=project).annotate(
        counted=Count("annotations", filter=SUBMITTED),
        latest=Max("annotations__updated_at", filter=SUBMITTED),
    )
    return all(
        image.submitted_count == image.counted
        and (image.latest is None or image.labels_changed_at >= image.latest)
        for image in images
    )


operations = st.lists(
    st.tuples(
        st.sampled_from(["draft", "submit", "withdraw", "edit", "delete", "move"]),
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
def test_count_and_stamp_hold_after_any_sequence_of_writes(project, operations):
    Image.objects.filter(project=project).delete()
    images = [ImageFactory(project=project) for _ in range(3)]
    people = [UserFactory() for _ in range(4)]
    for operation, image_index, person_index in operations:
        image, person = images[image_index], people[person_index]
        existing = Annotation.objects.filter(image=image, labeler=person)
        if operation in ("draft", "submit") and not existing.exists():
            status = "submitted" if operation == "submit" else "draft"
            Annotation.objects.create(
                image=image,
                labeler=person,
                status=status,
                submitted_at=timezone.now() if status == "submitted" else None,
            )
        elif operation == "submit":
            existing.update(status="submitted", submitted_at=timezone.now())
        elif operation == "withdraw":
            existing.update(status="draft", submitted_at=None)
        elif operation == "edit":
            for annotation in existing:
                annotation.save()
        elif operation == "delete":
            existing.delete()
        elif operation == "move":
            target = images[(image_index + 1) % 3]
            if not Annotation.objects.filter(image=target, labeler=person).exists():
                existing.update(image=target)
    assert counts_agree(project)
