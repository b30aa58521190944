"""The report's project and labeler figures follow new submissions without a manual recompute."""

import pytest
from django.core.cache import cache

from quality.models import LabelerAgreement, ProjectAgreement
from quality.triggers import image_labels_changed
from tests.quality.labels import conflicting_image

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_completing_an_image_refreshes_the_project_and_labeler_figures(
    project, labeler_a, labeler_b, classes, django_capture_on_commit_callbacks
):
    image = conflicting_image(project, labeler_a, labeler_b, *classes)
    with django_capture_on_commit_callbacks(execute=True):
        image_labels_changed(image_id=image.pk)

    summary = ProjectAgreement.objects.get(project=project)
    assert summary.images_assessed == 1
    assert summary.mean_score is not None and summary.mean_score < 1
    assert set(
        LabelerAgreement.objects.filter(project=project).values_list("labeler__username", flat=True)
    ) == {"labeler_a", "labeler_b"}


def test_a_second_image_updates_the_figures_again(
    project, labeler_a, labeler_b, classes, django_capture_on_commit_callbacks
):
    for _ in range(2):
        image = conflicting_image(project, labeler_a, labeler_b, *classes)
        with django_capture_on_commit_callbacks(execute=True):
            image_labels_changed(image_id=image.pk)
    assert ProjectAgreement.objects.get(project=project).images_assessed == 2
