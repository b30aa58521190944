"""Debounced project summaries: one at a time per project, spaced by how long they take."""

import pytest
from django.core.cache import cache

from quality.models import ProjectAgreement
from quality.tasks import _summary_key, _summary_wait, summarize_project_task
from tests.quality.labels import conflicting_image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


def test_a_summary_asked_while_one_runs_waits_for_it(
    project, labeler_a, labeler_b, classes, django_capture_on_commit_callbacks
):
    conflicting_image(project, labeler_a, labeler_b, *classes)
    cache.add(_summary_key(project.pk, "running"), 1)  # another worker process is summarizing

    summarize_project_task(project.pk)

    assert not ProjectAgreement.objects.filter(project=project).exists()  # not twice at once
    assert cache.get(_summary_key(project.pk, "again"))  # ... but not forgotten either
    cache.delete(_summary_key(project.pk, "running"))
    cache.set(_summary_key(project.pk, "seconds"), 30)  # the last summary took 30 s
    assert _summary_wait(project.pk) == 120  # so the next waits four times that

    summarize_project_task(project.pk)  # it runs, then the one asked meanwhile is scheduled

    assert ProjectAgreement.objects.filter(project=project).exists()
    assert cache.get(_summary_key(project.pk, "again")) is None
