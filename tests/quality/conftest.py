"""Fixtures of the quality tests; stored pipeline results for report and review tests."""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command

from projects.models import Project
from quality.tasks import SWEEP_KEYS
from tests.quality.review_fixtures import instructions, results  # noqa: F401


@pytest.fixture(autouse=True)
def sweep_state_forgotten():
    """The sweep remembers, in the cache, how far it has looked; every test starts afresh."""
    cache.delete_many(SWEEP_KEYS)


@pytest.fixture
def demo(settings, django_capture_on_commit_callbacks):
    """The demo project, assessed by a recompute in chunks of 25 images (tasks run eagerly)."""
    settings.AGREEMENT_CHUNK_SIZE = 25
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", stdout=io.StringIO())
    return Project.objects.get(slug="street-scenes")
