"""Helpers for pipeline tests: submitted annotations with boxes, built through the ORM."""

from django.utils import timezone

from annotations.models import Annotation, Box
from tests.factories import AnnotationFactory, ImageFactory


def submit(image, labeler, boxes, *, seconds: float = 30.0, version=None) -> Annotation:
    """A submitted label set: ``boxes`` is [(label_class, (x, y, w, h)), ...]."""
    annotation = AnnotationFactory(
        image=image,
        labeler=labeler,
        status=Annotation.Status.SUBMITTED,
        submitted_at=timezone.now(),
        active_seconds=seconds,
        instruction_version=version,
    )
    Box.objects.bulk_create(
        Box(annotation=annotation, label_class=cls, x=x, y=y, width=w, height=h)
        for cls, (x, y, w, h) in boxes
    )
    return annotation


def conflicting_image(project, labeler_a, labeler_b, car, truck, **image):
    """An image where a says car and b says truck for the same object, and both agree on one car."""
    img = ImageFactory(project=project, **image)
    submit(img, labeler_a, [(car, (10, 10, 50, 40)), (car, (200, 200, 60, 40))])
    submit(img, labeler_b, [(truck, (11, 10, 50, 40)), (car, (201, 200, 60, 40))])
    return img
