"""Home: each project's progress, agreement and open flags at a glance, in a fixed number of
queries however many projects the user has."""

import pytest
from django.utils import timezone

from quality.models import ProjectAgreement, ReportFigures
from tests.factories import ImageFactory, MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def _summarized(project, complete=3, total=4, kalpha=0.71, open_flags=2):
    ReportFigures.objects.create(
        project=project,
        progress={"total": total, "complete": complete, "untouched": 0},
        flags_by_kind={"missing": {"open": open_flags, "resolved": 1}},
        computed_at=timezone.now(),
    )
    ProjectAgreement.objects.create(
        project=project, kalpha=kalpha, mean_score=0.88, computed_at=timezone.now()
    )


def test_a_lead_sees_progress_agreement_and_open_flags(client, project, lead):
    _summarized(project)
    client.force_login(lead)
    row = client.get("/").context["rows"][0]
    assert (row["complete"], row["total"], row["in_progress"]) == (3, 4, 1)
    assert (row["kalpha"], row["mean_score"], row["open_flags"]) == (0.71, 0.88, 2)


def test_a_labeler_sees_progress_and_their_own_count_but_no_agreement(client, project, labeler_a):
    _summarized(project)
    client.force_login(labeler_a)
    row = client.get("/").context["rows"][0]
    assert row["total"] == 4
    assert (row["kalpha"], row["open_flags"]) == (None, None)
    assert "K-α" not in client.get("/").content.decode()


def test_a_project_never_summarized_counts_its_images(client, project, lead):
    ImageFactory(project=project)
    ImageFactory(project=project)
    client.force_login(lead)
    row = client.get("/").context["rows"][0]
    assert (row["total"], row["untouched"], row["kalpha"]) == (2, 2, None)


def test_home_costs_the_same_queries_for_one_project_or_many(
    client, project, lead, django_assert_max_num_queries
):
    _summarized(project)
    client.force_login(lead)
    client.get("/")
    with django_assert_max_num_queries(10) as one:
        client.get("/")
    for n in range(6):
        other = ProjectFactory(name=f"Other {n}")
        MembershipFactory(project=other, user=lead, role="lead" if n % 2 else "labeler")
        if n % 3:
            _summarized(other)
        else:
            ImageFactory(project=other)
    with django_assert_max_num_queries(len(one.captured_queries) + 2):  # + counts, + my work
        response = client.get("/")
    assert len(response.context["rows"]) == 7
