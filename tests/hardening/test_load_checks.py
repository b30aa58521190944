"""bench/load.py's invariant checks can fail: each kind of damage is named."""

import pytest
from django.utils import timezone

from annotations.models import Annotation
from bench.load import Submitted, invariant_problems
from projects.models import Image
from tests.factories import AnnotationFactory, BoxFactory, ImageFactory, UserFactory

pytestmark = pytest.mark.django_db


def _submitted(image, user):
    return AnnotationFactory(
        image=image, labeler=user, status="submitted", submitted_at=timezone.now()
    )


def test_the_invariant_checks_name_every_broken_promise(project, classes, labeler_a, labeler_b):
    since = timezone.now()
    crowded = ImageFactory(project=project)  # labelers_per_image is 2
    for user in (labeler_a, labeler_b, UserFactory()):
        AnnotationFactory(image=crowded, labeler=user)
    unassessed = ImageFactory(project=project)
    kept, _ = (_submitted(unassessed, user) for user in (labeler_a, labeler_b))
    BoxFactory(annotation=kept, label_class=classes[0], x=1, y=2, width=3, height=4)
    reverted = _submitted(ImageFactory(project=project), labeler_a)
    Annotation.objects.filter(pk=reverted.pk).update(status="draft")
    box = {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0, "label_class": classes[0].pk}
    seen = [
        Submitted(kept.pk, "labeler_a", [box]),  # intact
        Submitted(reverted.pk, "labeler_a", []),
        Submitted(kept.pk + 1000, "labeler_b", [box]),
    ]
    seen.append(Submitted(kept.pk, "labeler_b", [box, box]))
    miscounted = ImageFactory(project=project)
    Image.objects.filter(pk=miscounted.pk).update(label_set_count=1)  # as a lost trigger would

    problems = invariant_problems(project.pk, seen, since)

    assert sorted(problems) == sorted(
        [
            f"image {crowded.pk} has 3 label sets, more than 2",
            f"image {miscounted.pk} counts 1 label sets but has 0",
            "the same annotation was submitted (first time) twice",
            f"annotation {reverted.pk} is draft, not submitted",
            f"submitted annotation {kept.pk + 1000} is not in the database",
            f"annotation {kept.pk} belongs to labeler_a",
            f"annotation {kept.pk}: 1 boxes stored, 2 saved",
            f"complete image {unassessed.pk} is not assessed after its last submit",
        ]
    )


def test_an_intact_run_has_no_problem(project, classes, labeler_a):
    since = timezone.now()
    annotation = _submitted(ImageFactory(project=project), labeler_a)
    BoxFactory(annotation=annotation, label_class=classes[1], x=5, y=6, width=7, height=8)
    box = {"x": 5.0, "y": 6.0, "width": 7.0, "height": 8.0, "label_class": classes[1].pk}

    assert (
        invariant_problems(project.pk, [Submitted(annotation.pk, "labeler_a", [box])], since) == []
    )
