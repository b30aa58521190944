"""A small labeled project that holds every case an export must keep apart.

Two labelers per image (the `project` fixture), classes car and truck:

- agree:      both box the same car (and the same truck) -> consensus car + truck
- empty:      both submit no boxes                       -> labeled, exported empty
- partial:    only labeler_a submitted                   -> incomplete, never exported as empty
- untouched:  nobody labeled it                          -> never exported
- tie:        car vs truck on the same object            -> class tie, withheld from consensus
- adjudicated: the labelers disagree, the lead adjudicated one truck -> the lead's box
- edge:       a car that reaches past the right and bottom edges -> clipped in YOLO
"""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from annotations.models import Annotation
from quality.services.assessment import images_assess
from tests.factories import AnnotationFactory, BoxFactory, ImageFactory


def label(image, user, boxes, *, kind="label"):
    annotation = AnnotationFactory(
        image=image,
        labeler=user,
        kind=kind,
        status=Annotation.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )
    for label_class, x, y, w, h in boxes:
        BoxFactory(annotation=annotation, label_class=label_class, x=x, y=y, width=w, height=h)
    return annotation


@dataclass
class Dataset:
    project: object
    car: object
    truck: object
    agree: object
    empty: object
    partial: object
    untouched: object
    tie: object
    adjudicated: object
    edge: object

    @property
    def exported_consensus(self):
        return {self.agree.pk, self.empty.pk, self.adjudicated.pk, self.edge.pk}


@pytest.fixture
def dataset(project, classes, lead, labeler_a, labeler_b):
    car, truck = classes
    images = {
        name: ImageFactory(project=project, original_name=f"{name}.png")
        for name in ("agree", "empty", "partial", "untouched", "tie", "adjudicated", "edge")
    }
    label(images["agree"], labeler_a, [(car, 10, 20, 100, 50), (truck, 300, 200, 120, 90)])
    label(images["agree"], labeler_b, [(car, 12, 21, 98, 50), (truck, 302, 198, 118, 92)])
    label(images["empty"], labeler_a, [])
    label(images["empty"], labeler_b, [])
    label(images["partial"], labeler_a, [(car, 50, 50, 40, 40)])
    label(images["tie"], labeler_a, [(car, 100, 100, 80, 60)])
    label(images["tie"], labeler_b, [(truck, 101, 100, 80, 60)])
    label(images["adjudicated"], labeler_a, [(car, 5, 5, 30, 30)])
    label(images["adjudicated"], labeler_b, [(car, 200, 200, 30, 30)])
    label(images["adjudicated"], lead, [(truck, 400, 300, 60, 40)], kind="adjudication")
    label(images["edge"], labeler_a, [(car, 600, 440, 80, 60)])
    label(images["edge"], labeler_b, [(car, 600, 440, 80, 60)])
    images_assess(image_ids=[i.pk for i in images.values()])
    return Dataset(project=project, car=car, truck=truck, **images)
