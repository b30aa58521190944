"""Shared fixtures: named actors for permission tests, media in a temporary folder, services.

REQUIRE_SERVICES=1 (set by CI) turns a missing service (PostgreSQL, Redis, Chromium) from a skip
into a failure, so CI can never pass by skipping what it was meant to test.
"""

import os

import pytest

from tests.factories import LabelClassFactory, MembershipFactory, ProjectFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"


def skip_or_fail(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(db, lead):
    project = ProjectFactory(created_by=lead, labelers_per_image=2)
    MembershipFactory(project=project, user=lead, role="lead")
    return project


@pytest.fixture
def classes(project):
    return [
        LabelClassFactory(project=project, name="car", hotkey="1", order=0),
        LabelClassFactory(project=project, name="truck", hotkey="2", order=1),
    ]


@pytest.fixture
def lead(db):
    return UserFactory(username="lead")


@pytest.fixture
def labeler_a(project):
    user = UserFactory(username="labeler_a")
    MembershipFactory(project=project, user=user, role="labeler")
    return user


@pytest.fixture
def labeler_b(project):
    user = UserFactory(username="labeler_b")
    MembershipFactory(project=project, user=user, role="labeler")
    return user


@pytest.fixture
def engineer(project):
    user = UserFactory(username="engineer")
    MembershipFactory(project=project, user=user, role="engineer")
    return user


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def other_project_labeler(db):
    """A labeler of another project: a member somewhere, an outsider here."""
    other = ProjectFactory()
    user = UserFactory(username="other_labeler")
    MembershipFactory(project=other, user=user, role="labeler")
    return user
