"""Fixtures for the gold checks: a project with classes and acknowledged instructions, images,
labelers' API clients, and helpers to make gold images and answer what the queue hands out."""

import pytest
from django.test import TestCase

from gold.models import GoldPolicy
from gold.services import gold_image_save
from projects.services import instruction_acknowledge
from tests.annotations.conftest import annotation_url, client_for, queue_url, submit_url
from tests.factories import ImageFactory, InstructionVersionFactory
from tests.imports.conftest import run_import  # noqa: F401 (gold from an import)

# The true boxes of every gold image in these tests: (class index, (x, y, w, h)).
TRUE = [(0, (10, 10, 100, 80)), (1, (300, 200, 80, 60))]


@pytest.fixture
def instructions(project, lead):
    return InstructionVersionFactory(project=project, author=lead, number=1, body="Box every car.")


@pytest.fixture
def acknowledged(instructions, labeler_a, labeler_b):
    for user in (labeler_a, labeler_b):
        instruction_acknowledge(user=user, version=instructions)
    return instructions


@pytest.fixture
def images(project):
    return [ImageFactory(project=project, width=640, height=480) for _ in range(6)]


@pytest.fixture
def api_a(labeler_a):
    return client_for(labeler_a)


@pytest.fixture
def api_b(labeler_b):
    return client_for(labeler_b)


@pytest.fixture
def api_lead(lead):
    return client_for(lead)


def boxes_payload(classes, boxes=TRUE) -> list[dict]:
    return [
        {"x": x, "y": y, "width": w, "height": h, "label_class": classes[c].pk}
        for c, (x, y, w, h) in boxes
    ]


def make_gold(project, image, lead, classes, boxes=TRUE):
    return gold_image_save(
        project=project,
        image=image,
        user=lead,
        source="boxes",
        boxes=boxes_payload(classes, boxes),
    )


def policy(project, **fields) -> GoldPolicy:
    row, _ = GoldPolicy.objects.update_or_create(project=project, defaults=fields)
    return row


def take(api, project):
    """POST queue/next; the response."""
    return api.post(queue_url(project))


def answer(api, annotation_id: int, boxes: list[dict]):
    """Save the boxes and submit, as a committed request (its on-commit work done: a gold
    answer's scoring task runs, eagerly); the submit response."""
    saved = api.put(annotation_url(annotation_id), {"boxes": boxes}, format="json")
    assert saved.status_code == 200, saved.json()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return api.post(submit_url(annotation_id), {}, format="json")
