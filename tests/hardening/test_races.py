"""Races between labelers, in real concurrent PostgreSQL transactions (not a serialised client)."""

import threading

import pytest
from django.db import connection, transaction

from annotations.services import annotation_submit
from quality.models import ImageAgreement
from tests.factories import AnnotationFactory, BoxFactory, ImageFactory
from tests.hardening.conftest import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_last_two_label_sets_submitted_at_once_still_get_the_image_assessed(
    project, classes, labeler_a, labeler_b
):
    """Each submit's transaction sees only its own submission; the image must still be assessed.

    Before the check moved after the commit, neither transaction saw the image complete (the
    other's label set was still a draft to it), so neither enqueued the assessment; the load
    test found such images.
    """
    require_postgresql()
    image = ImageFactory(project=project)
    drafts = [AnnotationFactory(image=image, labeler=u) for u in (labeler_a, labeler_b)]
    for draft in drafts:
        BoxFactory(annotation=draft, label_class=classes[0], x=10, y=10, width=50, height=40)
    both_submitted = threading.Barrier(2, timeout=10)
    errors = []

    def submit(draft):
        try:
            with transaction.atomic():
                annotation_submit(annotation=draft)
                both_submitted.wait()  # neither has committed yet
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    agreement = ImageAgreement.objects.get(image=image)  # assessed eagerly after the commits
    assert agreement.labeler_count == 2
