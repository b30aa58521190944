"""The report's project and labeler figures follow new submissions without a manual recompute."""

import pytest

from quality.enqueue import image_labels_changed
from quality.models import LabelerAgreement, ProjectAgreement, ReportFigures
from quality.selectors.report import project_report
from tests.factories import ImageFactory
from tests.quality.labels import conflicting_image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


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


def test_the_summary_stores_the_report_figures(
    project, labeler_a, labeler_b, classes, django_capture_on_commit_callbacks
):
    """Progress, flag counts and the worst images are stored with the summary, for the report."""
    untouched = ImageFactory(project=project)
    image = conflicting_image(project, labeler_a, labeler_b, *classes)
    with django_capture_on_commit_callbacks(execute=True):
        image_labels_changed(image_id=image.pk)
    figures = ReportFigures.objects.get(project=project)
    assert figures.progress == {"total": 2, "complete": 1, "in_progress": 0, "untouched": 1}
    assert figures.worst_images == [image.pk] and untouched.pk not in figures.worst_images
    assert figures.flags_by_kind == {"label_conflict": {"open": 1}}
    assert figures.open_flags_by_class == {str(classes[0].pk): 1}  # the flag names car
    assert project_report(project=project)["flags"]["open"] == 1
