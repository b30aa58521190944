"""Races between labelers, in real concurrent PostgreSQL transactions (not a serialised client)."""

import threading

import pytest
from django.db import transaction

from annotations.services import annotation_submit
from quality.models import ImageAgreement
from tests.factories import AnnotationFactory, BoxFactory, ImageFactory
from tests.threads import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgresql(
        reason="concurrent write transactions; SQLite lets one writer in at a time"
    ),
]


def test_the_last_two_label_sets_submitted_at_once_still_get_the_image_assessed(
    project, classes, labeler_a, labeler_b
):
    """Each submit's transaction sees only its own submission; the image must still be assessed.

    Before the check moved after the commit, neither transaction saw the image complete (the
    other's label set was still a draft to it), so neither enqueued the assessment; the load
    test found such images.
    """
    image = ImageFactory(project=project)
    drafts = [AnnotationFactory(image=image, labeler=u) for u in (labeler_a, labeler_b)]
    for draft in drafts:
        BoxFactory(annotation=draft, label_class=classes[0], x=10, y=10, width=50, height=40)
    both_submitted = threading.Barrier(2, timeout=10)

    def submit(draft):
        with transaction.atomic():
            annotation_submit(annotation=draft)
            both_submitted.wait()  # neither has committed yet

    run_at_once(drafts, submit, timeout=30)
    agreement = ImageAgreement.objects.get(image=image)  # assessed eagerly after the commits
    assert agreement.labeler_count == 2


def test_projects_created_at_once_with_one_name_all_get_their_own_slug(lead):
    """8 concurrent POST /api/projects/ with one name: each check for a free slug ran before any
    insert committed, so all but one insert failed on the unique slug (6 of 8 answered 500)."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    from projects.models import Membership, Project

    lead.user_permissions.add(Permission.objects.get(codename="add_project"))
    callers = 8
    statuses, slugs = [], []

    def create(client):
        response = client.post("/api/projects/", {"name": "Street scenes"}, format="json")
        statuses.append(response.status_code)
        if response.status_code == 201:
            slugs.append(response.json()["slug"])

    clients = [APIClient() for _ in range(callers)]
    for client in clients:
        client.force_authenticate(lead)
    run_at_once(clients, create)
    assert statuses == [201] * callers
    expected = {"street-scenes", *(f"street-scenes-{n}" for n in range(2, callers + 1))}
    assert set(slugs) == expected
    assert Project.objects.filter(name="Street scenes").count() == callers
    assert Membership.objects.filter(project__name="Street scenes", role="lead").count() == callers
