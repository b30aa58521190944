"""Immediate feedback after a gold image: what was missed, the expected class, the loose box,
drawn on the image; limited per labeler; the answer frozen once seen; 404 like any other image
when there is none."""

import json
import re

import pytest

from gold.models import GoldAnswer
from tests.annotations.conftest import annotation_url
from tests.gold.conftest import TRUE, answer, boxes_payload, make_gold, policy, take

pytestmark = pytest.mark.django_db

# The car boxed loosely (IoU 0.64), the truck called a car, and nothing else.
SLOPPY = [(0, (0, 0, 125, 100)), (0, (300, 200, 80, 60))]


def feedback_url(annotation_id) -> str:
    return f"/api/annotations/{annotation_id}/feedback/"


@pytest.fixture
def feedback_on(project, classes, acknowledged, images, lead):
    for image in images[:2]:
        make_gold(project, image, lead, classes)
    return policy(project, qualification_size=2, rate=0.0, feedback=True, feedback_limit=1)


def test_feedback_names_each_difference_and_draws_both_sets_of_boxes(
    project, classes, feedback_on, api_a, client, labeler_a
):
    body = take(api_a, project).json()
    assert api_a.get(feedback_url(body["annotation"])).status_code == 404  # a draft: nothing yet
    answer(api_a, body["annotation"], boxes_payload(classes, SLOPPY))
    response = api_a.get(feedback_url(body["annotation"]))
    assert response.status_code == 200
    data = response.json()
    assert data["page"] == f"/projects/{project.slug}/feedback/{body['annotation']}/"
    assert (data["correct"], data["gold_boxes"]) == (1, 2)
    assert data["issues"] == [
        "Your box 1 overlaps reference box 1 only 0.64 (IoU): draw it tight around the object.",
        "Your box 2 is a car; the reference says truck.",
    ]
    assert [b["fate"] for b in data["expected"]] == ["found", "found"]
    assert [b["fate"] for b in data["yours"]] == ["loose", "wrong_class"]
    client.force_login(labeler_a)
    page = client.get(data["page"]).content.decode()
    assert "the reference says truck" in page
    assert len(re.findall(r'<rect class="expected', page)) == 2
    assert len(re.findall(r'<rect class="yours', page)) == 2
    # Seen: the answer keeps its first attempt.
    again = api_a.put(
        annotation_url(body["annotation"]), {"boxes": boxes_payload(classes, TRUE)}, format="json"
    )
    assert again.status_code == 409 and "reference boxes" in again.json()["detail"]
    assert GoldAnswer.objects.get(annotation_id=body["annotation"]).correct == 1


def test_feedback_stops_at_the_limit_and_never_shows_on_other_images(
    project, classes, feedback_on, api_a, api_b, images
):
    first = take(api_a, project).json()
    answer(api_a, first["annotation"], boxes_payload(classes))
    second = take(api_a, project).json()
    answer(api_a, second["annotation"], boxes_payload(classes))
    assert api_a.get(feedback_url(first["annotation"])).status_code == 200
    over_limit = api_a.get(feedback_url(second["annotation"]))
    regular = take(api_a, project).json()
    answer(api_a, regular["annotation"], [])
    plain = api_a.get(feedback_url(regular["annotation"]))
    # The same answer for a gold image past the limit as for a regular image.
    assert over_limit.status_code == plain.status_code == 404
    assert over_limit.json() == plain.json() == {"detail": "No feedback for this image."}
    assert api_b.get(feedback_url(first["annotation"])).status_code == 404  # not theirs


def test_the_label_page_asks_for_feedback_only_when_the_project_gives_it(
    project, classes, acknowledged, lead, client, labeler_a
):
    client.force_login(labeler_a)

    def config():
        page = client.get(f"/projects/{project.slug}/label/").content.decode()
        raw = re.search(r'<script id="label-config" type="application/json">(.*?)</script>', page)
        return json.loads(raw.group(1))

    assert config()["feedbackUrl"] is None
    policy(project, feedback=True)
    assert config()["feedbackUrl"] == "/api/annotations/0/feedback/"
