"""Stored pipeline results built directly with the ORM, for report and review tests.

Two labelers (labeler_a, labeler_b) on three images: image 1 has a label conflict (a: car,
b: truck) and a missing box, image 2 a low overlap, image 3 agrees. Consensus boxes, image
agreements, project and labeler figures and the report figures are what the pipeline would store.
"""

import pytest
from django.utils import timezone

from projects.models import InstructionVersion
from quality.models import (
    ConsensusBox,
    Flag,
    ImageAgreement,
    LabelerAgreement,
    ProjectAgreement,
)
from quality.services.summary import report_figures_refresh
from tests.factories import ImageFactory
from tests.quality.labels import submit


def _agreement(image, score, open_flags):
    return ImageAgreement.objects.create(
        image=image,
        score=score,
        labeler_count=2,
        object_count=2,
        open_flag_count=open_flags,
        engine_version="test",
        input_digest=f"d{image.pk}",
        computed_at=timezone.now(),
    )


def _flag(project, image, kind, key, labelers, boxes, label_class, message):
    flag = Flag.objects.create(
        project=project,
        image=image,
        kind=kind,
        key=key,
        box_ids=[b.pk for b in boxes],
        label_class=label_class,
        message=message,
    )
    flag.labelers.set(labelers)
    return flag


@pytest.fixture
def instructions(project, lead):
    return InstructionVersion.objects.create(
        project=project,
        number=1,
        body="# Street\n\nBox every car and truck.\n\n* A pickup truck is a truck.\n",
        author=lead,
    )


@pytest.fixture
def results(project, classes, lead, labeler_a, labeler_b, instructions):
    """Labels, consensus, flags and summaries of a small project; returns a dict of them."""
    car, truck = classes
    img1, img2, img3 = (ImageFactory(project=project) for _ in range(3))
    a1 = submit(img1, labeler_a, [(car, (10, 10, 50, 40)), (car, (200, 200, 60, 40))])
    b1 = submit(img1, labeler_b, [(truck, (11, 10, 50, 40))], version=instructions)
    submit(img2, labeler_a, [(car, (100, 100, 80, 60))], version=instructions)
    submit(img2, labeler_b, [(car, (100, 100, 50, 40))], version=instructions)
    submit(img3, labeler_a, [(truck, (300, 50, 100, 80))], version=instructions)
    submit(img3, labeler_b, [(truck, (301, 50, 100, 80))], version=instructions)
    a1_boxes, b1_boxes = list(a1.boxes.all()), list(b1.boxes.all())
    ConsensusBox.objects.create(
        image=img1, index=0, label_class=None, x=10.5, y=10, width=50, height=40,
        support=1, label_confidence=0.5, mean_iou=0.95,
    )  # fmt: skip
    ConsensusBox.objects.create(
        image=img1, index=1, label_class=car, x=200, y=200, width=60, height=40,
        support=0.5, label_confidence=1, mean_iou=1,
    )  # fmt: skip
    ConsensusBox.objects.create(
        image=img2, index=0, label_class=car, x=100, y=100, width=65, height=50,
        support=1, label_confidence=1, mean_iou=0.42,
    )  # fmt: skip
    ConsensusBox.objects.create(
        image=img3, index=0, label_class=truck, x=300.5, y=50, width=100, height=80,
        support=1, label_confidence=1, mean_iou=0.98,
    )  # fmt: skip
    _agreement(img1, 0.31, 2)
    _agreement(img2, 0.55, 1)
    _agreement(img3, 0.97, 0)
    conflict = _flag(
        project, img1, Flag.Kind.LABEL_CONFLICT, "lc:1", [labeler_a, labeler_b],
        [a1_boxes[0], b1_boxes[0]], None,
        "labeler_a and labeler_b boxed the same object as car / truck",
    )  # fmt: skip
    missing = _flag(
        project, img1, Flag.Kind.MISSING, "m:1", [labeler_a, labeler_b], [a1_boxes[1]], car,
        "labeler_b did not box an object that labeler_a boxed as car",
    )  # fmt: skip
    low = _flag(
        project, img2, Flag.Kind.LOW_OVERLAP, "lo:1", [labeler_a, labeler_b], [], car,
        "labeler_a and labeler_b agree on car but their boxes overlap only 0.42",
    )  # fmt: skip
    now = timezone.now()
    ProjectAgreement.objects.create(
        project=project,
        kalpha=0.61,
        mean_score=0.61,
        images_assessed=3,
        threshold_sweep=[[0.3, 0.7], [0.5, 0.61], [0.7, 0.4]],
        class_confusion={"labels": ["car", "truck"], "matrix": [[4, 1], [1, 2]]},
        per_class={
            "car": {"objects": 3, "support": 0.8, "label_confidence": 0.83, "mean_iou": 0.79}
        },
        score_histogram=[
            {"from": i / 10, "to": (i + 1) / 10, "count": int(i in (3, 5, 9))} for i in range(10)
        ],
        by_instruction_version=[{"version": 1, "images": 3, "mean_score": 0.61, "kalpha": 0.6}],
        engine_version="test",
        computed_at=now,
    )
    for user, peers in ((labeler_a, 0.58), (labeler_b, 0.64)):
        LabelerAgreement.objects.create(
            project=project,
            labeler=user,
            images_submitted=3,
            agreement_with_peers=peers,
            vitality=-0.05 if user == labeler_a else 0.03,
            boxes_per_image=1.33,
            peer_boxes_per_image=1.0,
            median_seconds=30,
            flag_counts={"missing": 1, "label_conflict": 1, "low_overlap": 1},
            computed_at=now,
        )
    report_figures_refresh(project=project)  # as the summary stores them
    return {
        "images": (img1, img2, img3),
        "conflict": conflict,
        "missing": missing,
        "low": low,
        "a_boxes": a1_boxes,
        "b_boxes": b1_boxes,
        "car": car,
        "truck": truck,
    }
