"""The queue under concurrency: many labelers asking at the same moment on PostgreSQL."""

import pytest

from annotations import services
from annotations.models import Annotation
from projects.services import instruction_acknowledge
from tests.factories import (
    ImageFactory,
    InstructionVersionFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)
from tests.threads import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgresql(
        reason="concurrent transactions taking row locks (select_for_update skip_locked); "
        "SQLite lets one writer in at a time"
    ),
]

LABELERS = 8
IMAGES = 6
PER_IMAGE = 3


@pytest.fixture
def crowd():
    lead = UserFactory(username="crowd-lead")
    project = ProjectFactory(created_by=lead, labelers_per_image=PER_IMAGE)
    version = InstructionVersionFactory(project=project, author=lead, number=1)
    labelers = []
    for i in range(LABELERS):
        user = UserFactory(username=f"crowd-{i}")
        MembershipFactory(project=project, user=user, role="labeler")
        instruction_acknowledge(user=user, version=version)
        labelers.append(user)
    for _ in range(IMAGES):
        ImageFactory(project=project)
    return project, labelers


def test_labelers_asking_at_once_never_overfill_an_image_nor_get_one_twice(crowd):
    project, labelers = crowd
    got: dict[str, list[int]] = {}

    def label_until_done(user):
        mine = got.setdefault(user.username, [])
        while True:
            annotation = services.queue_next(project=project, labeler=user)
            if annotation is None:
                return
            mine.append(annotation.image_id)
            services.annotation_submit(annotation=annotation)

    run_at_once(labelers, label_until_done)

    for username, image_ids in got.items():
        assert len(image_ids) == len(set(image_ids)), f"{username} got an image twice"
    per_image = {}
    for annotation in Annotation.objects.filter(image__project=project):
        per_image[annotation.image_id] = per_image.get(annotation.image_id, 0) + 1
        assert annotation.status == "submitted"
    # Every image complete, none overfilled: all IMAGES x PER_IMAGE slots were handed out.
    assert sorted(per_image.values()) == [PER_IMAGE] * IMAGES


def test_a_double_click_opens_only_one_draft(crowd):
    project, labelers = crowd
    same = [labelers[0]] * 6
    opened = []
    run_at_once(
        same, lambda user: opened.append(services.queue_next(project=project, labeler=user).pk)
    )
    assert len(set(opened)) == 1
    assert Annotation.objects.filter(labeler=labelers[0]).count() == 1
