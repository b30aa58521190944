"""Fixtures for labeling tests: instructions the labelers acknowledged, images, API clients."""

import pytest
from rest_framework.test import APIClient

from projects.services import instruction_acknowledge
from tests.factories import ImageFactory, InstructionVersionFactory


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
    return [ImageFactory(project=project, width=640, height=480) for _ in range(3)]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api_a(labeler_a):
    return client_for(labeler_a)


@pytest.fixture
def api_b(labeler_b):
    return client_for(labeler_b)


def queue_url(project) -> str:
    return f"/api/projects/{project.pk}/queue/next/"


def annotation_url(annotation_id) -> str:
    return f"/api/annotations/{annotation_id}/"


def submit_url(annotation_id) -> str:
    return f"/api/annotations/{annotation_id}/submit/"
