"""Habits end to end on a real Celery worker: a recompute's chunks store each image's habit
evidence, its summary folds it, and the lead's API lists the habit."""

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from quality.enqueue import recompute_start
from quality.models import AgreementRun, HabitEvidence, Pattern
from tests.conftest import wait_for
from tests.quality.habit_fixtures import habits_project, label_images

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_recompute_on_the_worker_finds_the_planted_habit(lead, settings):
    world = habits_project(lead)
    images = label_images(world, 12, assess=False)
    with transaction.atomic():
        run = recompute_start(project=world["project"], reason="habits on the worker")
    wait_for(lambda: AgreementRun.objects.get(pk=run.pk).state in ("succeeded", "failed"))
    assert AgreementRun.objects.get(pk=run.pk).state == "succeeded"
    assert set(HabitEvidence.objects.values_list("image_id", flat=True)) == set(images)
    wait_for(lambda: Pattern.objects.filter(kind="loose_boxes", labeler=world["cho"]).exists())
    client = APIClient()
    client.force_login(lead)
    body = client.get(f"/api/projects/{world['project'].pk}/patterns/").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [(r["labeler"], r["kind"], r["label_class"]) for r in rows] == [
        ("labeler_cho", "loose_boxes", "car")
    ]
