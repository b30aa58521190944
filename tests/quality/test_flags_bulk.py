"""Bulk decisions on the flag queue: POST /api/projects/{id}/flags/bulk/ (quality.bulk_review).

The `results` project: image 1 has a label conflict (its consensus object has a class tie) and
a missing box, image 2 a low overlap, image 3 no flag.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotations.models import Annotation
from projects.instructions import instructions_current
from quality.models import ConsensusBox, Flag, FlagLabeler, ImageAgreement, ReportFigures
from tests.factories import ImageFactory
from tests.quality.labels import submit

pytestmark = pytest.mark.django_db

OPEN, RESOLVED, DISMISSED = Flag.Status.OPEN, Flag.Status.RESOLVED, Flag.Status.DISMISSED


def url(project) -> str:
    return f"/api/projects/{project.pk}/flags/bulk/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def statuses(results) -> dict:
    return {
        name: Flag.objects.get(pk=results[name].pk).status
        for name in ("conflict", "missing", "low")
    }


def test_only_leads_may_settle_in_bulk(
    project, results, lead, engineer, labeler_a, outsider, other_project_labeler
):
    body = {"action": "dismiss", "note": "fine", "dry_run": True}
    assert APIClient().post(url(project), body, format="json").status_code in (401, 403)
    for user, code in (
        (engineer, 403),
        (labeler_a, 403),
        (outsider, 404),
        (other_project_labeler, 404),
        (lead, 200),
    ):
        assert api(user).post(url(project), body, format="json").status_code == code, user
    # Not even a dry run changed anything, and refused callers changed nothing either.
    for user in (engineer, labeler_a, outsider):
        api(user).post(url(project), {"action": "dismiss", "note": "x"}, format="json")
    assert set(statuses(results).values()) == {OPEN}


def test_a_dry_run_counts_the_selection_and_changes_nothing(project, results, lead):
    response = api(lead).post(
        url(project), {"action": "accept_consensus", "dry_run": True}, format="json"
    )
    assert response.json() == {"count": 3, "settled": 0, "skipped": 0, "remaining": 3}
    body = {"kind": "missing", "action": "dismiss", "note": "n", "dry_run": True}
    assert api(lead).post(url(project), body, format="json").json()["count"] == 1
    assert set(statuses(results).values()) == {OPEN}
    assert not Annotation.objects.filter(kind=Annotation.Kind.ADJUDICATION).exists()


def test_dismiss_settles_the_selected_flags_with_the_note_and_moves_the_counts(
    project, results, lead
):
    response = api(lead).post(
        url(project),
        {"kind": "label_conflict", "action": "dismiss", "note": "cars and trucks are fine"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"count": 1, "settled": 1, "skipped": 0, "remaining": 0}
    assert statuses(results) == {"conflict": DISMISSED, "missing": OPEN, "low": OPEN}
    conflict = Flag.objects.get(pk=results["conflict"].pk)
    assert conflict.resolution == Flag.Resolution.DISMISSED
    assert conflict.resolution_note == "cars and trucks are fine"
    assert conflict.resolved_by == lead and conflict.resolved_at is not None
    assert conflict.instruction_version == instructions_current(project=project)
    figures = ReportFigures.objects.get(project=project)
    assert figures.flags_by_kind["label_conflict"] == {"dismissed": 1}
    image1 = results["images"][0]
    assert ImageAgreement.objects.get(image=image1).open_flag_count == 1


def test_dismiss_without_a_note_is_refused(project, results, lead):
    response = api(lead).post(url(project), {"action": "dismiss"}, format="json")
    assert response.status_code == 400
    assert "Say why" in response.json()["detail"]
    assert set(statuses(results).values()) == {OPEN}


def test_accepting_the_consensus_adjudicates_each_image_and_skips_class_ties(
    project, results, lead
):
    response = api(lead).post(
        url(project), {"action": "accept_consensus", "note": "consensus is right"}, format="json"
    )
    # Image 1's consensus has a class tie: its two flags stay open for a decision of their own.
    assert response.json() == {"count": 3, "settled": 1, "skipped": 2, "remaining": 2}
    assert statuses(results) == {"conflict": OPEN, "missing": OPEN, "low": RESOLVED}
    low = Flag.objects.get(pk=results["low"].pk)
    assert low.resolution == Flag.Resolution.ACCEPT_CONSENSUS
    assert low.resolution_note == "consensus is right"
    adjudications = Annotation.objects.filter(kind=Annotation.Kind.ADJUDICATION)
    assert [a.image_id for a in adjudications] == [results["images"][1].pk]


def test_accepting_the_consensus_settles_the_images_other_flags_along(project, results, lead):
    ConsensusBox.objects.filter(image=results["images"][0], label_class=None).update(
        label_class=results["car"]
    )
    response = api(lead).post(
        url(project), {"kind": "missing", "action": "accept_consensus"}, format="json"
    )
    assert response.json() == {"count": 1, "settled": 2, "skipped": 0, "remaining": 0}
    assert statuses(results) == {"conflict": RESOLVED, "missing": RESOLVED, "low": OPEN}
    conflict = Flag.objects.get(pk=results["conflict"].pk)
    assert conflict.settled_by_id == results["missing"].pk


def test_filters_come_from_the_body_or_the_query_string(project, results, lead, labeler_b):
    FlagLabeler.objects.filter(flag=results["missing"], user=labeler_b).update(deviating=True)
    by_query = api(lead).post(
        f"{url(project)}?labeler={labeler_b.pk}", {"action": "dismiss", "dry_run": True},
        format="json",
    )  # fmt: skip
    assert by_query.json()["count"] == 1
    body = {"label_class": results["car"].pk, "action": "accept_consensus", "dry_run": True}
    assert api(lead).post(url(project), body, format="json").json()["count"] == 2
    resolved = {"status": "resolved", "action": "dismiss", "note": "n", "dry_run": True}
    assert api(lead).post(url(project), resolved, format="json").json()["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"action": "explode"},
        {"action": "dismiss", "note": "n", "kind": "nope"},
        {"action": "dismiss", "note": "n", "labeler": "abc"},
        {"action": "dismiss", "note": "n", "dry_run": "perhaps"},
        ["not", "an", "object"],
    ],
)
def test_bad_input_is_a_json_400_that_changes_nothing(project, results, lead, body):
    response = api(lead).post(url(project), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert set(statuses(results).values()) == {OPEN}


def test_one_call_works_on_a_bounded_number_of_images(project, results, lead, settings):
    settings.FLAG_BULK_IMAGES = 1
    body = {"action": "dismiss", "note": "noise"}
    first = api(lead).post(url(project), body, format="json").json()
    assert first == {"count": 3, "settled": 2, "skipped": 0, "remaining": 1}
    second = api(lead).post(url(project), body, format="json").json()
    assert second == {"count": 1, "settled": 1, "skipped": 0, "remaining": 0}
    assert set(statuses(results).values()) == {DISMISSED}


def test_dismissing_more_flags_takes_no_more_queries(project, results, lead):
    def queries_to_dismiss() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api(lead).post(
                url(project), {"action": "dismiss", "note": "n"}, format="json"
            )
        assert response.json()["remaining"] == 0
        return len(captured)

    few = queries_to_dismiss()
    for k in range(20):
        image = ImageFactory(project=project)
        Flag.objects.create(
            project=project, image=image, kind=Flag.Kind.MISSING, key=f"m:{k}", message="m"
        )
    assert queries_to_dismiss() <= few


def test_the_demos_open_flags_are_settled_in_a_few_bulk_actions(demo):
    """Accept the consensus everywhere, then dismiss what a class tie leaves open."""
    lead = demo.memberships.get(role="lead").user
    client = api(lead)
    open_flags = Flag.objects.filter(project=demo, status=OPEN)
    assert open_flags.count() > 300
    actions = 0
    for body in ({"action": "accept_consensus"}, {"action": "dismiss", "note": "class ties"}):
        while True:
            outcome = client.post(url(demo), body, format="json").json()
            actions += 1
            if outcome["remaining"] <= outcome["skipped"]:
                break
    assert open_flags.count() == 0
    assert actions <= 3


def test_an_image_the_lead_labeled_is_skipped_and_the_others_accepted(project, results, lead):
    ConsensusBox.objects.filter(image=results["images"][0], label_class=None).update(
        label_class=results["car"]
    )
    submit(results["images"][1], lead, [(results["car"], (100, 100, 80, 60))])
    response = api(lead).post(url(project), {"action": "accept_consensus"}, format="json")
    assert response.json() == {"count": 3, "settled": 2, "skipped": 1, "remaining": 1}
    assert statuses(results) == {"conflict": RESOLVED, "missing": RESOLVED, "low": OPEN}
    adjudications = Annotation.objects.filter(kind=Annotation.Kind.ADJUDICATION)
    assert [a.image_id for a in adjudications] == [results["images"][0].pk]
    assert adjudications.get().boxes.count() == 2


def test_a_note_with_a_nul_character_is_a_400(project, results, lead):
    response = api(lead).post(url(project), {"action": "dismiss", "note": "a\x00b"}, format="json")
    assert response.status_code == 400
    assert set(statuses(results).values()) == {OPEN}


def test_images_with_a_class_tie_never_fill_a_batch(project, results, lead, settings):
    """Image 1 (a class tie) comes first in image order; with one image a call, the call
    still settles image 2 instead of skipping image 1 again and again."""
    settings.FLAG_BULK_IMAGES = 1
    body = {"action": "accept_consensus"}
    first = api(lead).post(url(project), body, format="json").json()
    assert first == {"count": 3, "settled": 1, "skipped": 2, "remaining": 2}
    assert statuses(results) == {"conflict": OPEN, "missing": OPEN, "low": RESOLVED}
    again = api(lead).post(url(project), body, format="json").json()
    assert again == {"count": 2, "settled": 0, "skipped": 2, "remaining": 2}
