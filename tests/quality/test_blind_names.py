"""Labelers' names never reach other labelers through instructions or a lead's note, whatever
characters the names are made of."""

import pytest

from quality.models import Flag
from quality.selectors.feedback import labeler_feedback
from quality.services.assessment import images_assess
from quality.services.review import flag_resolve, instructions_draft
from tests.factories import ImageFactory, MembershipFactory, UserFactory
from tests.quality.labels import submit

pytestmark = pytest.mark.django_db

NAMES = ["+kim", "lee.", "o'neil-"]


@pytest.fixture
def odd_labelers(project):
    users = [UserFactory(username=name) for name in NAMES]
    for user in users:
        MembershipFactory(project=project, user=user, role="labeler")
    project.labelers_per_image = 3
    project.save()
    return users


@pytest.fixture
def flags(project, classes, odd_labelers):
    car, truck = classes
    kim, lee, oneil = odd_labelers
    image = ImageFactory(project=project)
    submit(image, kim, [(car, (10, 10, 50, 40)), (car, (300, 200, 60, 40))])
    submit(image, lee, [(truck, (11, 10, 50, 40)), (car, (301, 200, 60, 40))])
    submit(image, oneil, [(truck, (10, 11, 50, 40))])
    images_assess(image_ids=[image.pk])
    found = {flag.kind: flag for flag in Flag.objects.filter(image=image)}
    assert {Flag.Kind.LABEL_CONFLICT, Flag.Kind.MISSING} <= set(found)
    assert any(
        name in found[Flag.Kind.MISSING].message for name in NAMES
    )  # names in the lead's view
    return found


@pytest.mark.parametrize("kind", [Flag.Kind.LABEL_CONFLICT, Flag.Kind.MISSING])
def test_the_worked_example_names_no_labeler(flags, kind):
    body, summary = instructions_draft(flag=flags[kind])
    for text in (body, summary):
        for name in ["kim", "lee", "neil"]:
            assert name not in text, text
    assert "labeler A" in body or "labeler B" in body or "labeler C" in body


def test_the_worked_example_keeps_the_engines_sentence(flags):
    body, _ = instructions_draft(flag=flags[Flag.Kind.MISSING])
    # +kim, lee., o'neil- in username order: '+' < 'l' < 'o' -> A, B, C
    assert "labeler A" in body and "did not box an object that" in body


def test_a_dismissal_note_naming_labelers_reaches_labelers_without_the_names(
    flags, lead, odd_labelers, project
):
    kim, lee, oneil = odd_labelers
    note = "lee. is right, +kim and O'NEIL- were too strict"
    flag_resolve(flag=flags[Flag.Kind.MISSING], user=lead, resolution="dismissed", note=note)
    for user in odd_labelers:
        seen = [
            item["note"] for item in labeler_feedback(user=user, project=project) if item["note"]
        ]
        assert seen, user
        for text in seen:
            for name in ["kim", "lee", "neil", "NEIL"]:
                assert name not in text, text
            assert "is right" in text
    assert Flag.objects.get(pk=flags[Flag.Kind.MISSING].pk).resolution_note == note  # lead's copy
