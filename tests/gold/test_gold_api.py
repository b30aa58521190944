"""GET|POST /api/projects/{id}/gold/, gold/policy/, labelers/ and a labeler's resume."""

import pytest

from gold.models import GoldImage, LabelerGold
from tests.annotations.conftest import client_for
from tests.factories import ImageFactory
from tests.gold.conftest import TRUE, answer, boxes_payload, make_gold, policy, take

pytestmark = pytest.mark.django_db


def gold_url(project) -> str:
    return f"/api/projects/{project.pk}/gold/"


def labelers_url(project) -> str:
    return f"/api/projects/{project.pk}/labelers/"


def test_a_lead_makes_an_image_gold_with_boxes_then_changes_them(
    project, classes, api_lead, instructions
):
    image = ImageFactory(project=project)
    response = api_lead.post(
        gold_url(project), {"image": image.pk, "boxes": boxes_payload(classes)}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["image"] == image.pk and body["source"] == "boxes" and body["version"] == 1
    assert body["instruction_version"] == 1 and body["active"] is True
    assert body["boxes"] == boxes_payload(classes)
    assert (body["answers"], body["mean_score"]) == (0, None)
    again = api_lead.post(
        gold_url(project),
        {"image": image.pk, "boxes": boxes_payload(classes, TRUE[:1])},
        format="json",
    )
    assert again.status_code == 200 and again.json()["version"] == 2
    retired = api_lead.post(gold_url(project), {"image": image.pk, "active": False}, format="json")
    assert retired.status_code == 200 and retired.json()["active"] is False
    listing = api_lead.get(gold_url(project)).json()
    assert listing["count"] == 1 and listing["results"][0]["version"] == 2


IMAGE = object()  # stands for the image's id


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "image"),
        ({"image": IMAGE, "source": "consensus", "boxes": []}, "not both"),
        ({"image": IMAGE, "source": "adjudication"}, "no adjudication"),
        ({"image": IMAGE, "source": "sky"}, "valid choice"),
        ({"image": IMAGE, "boxes": [{"x": -500, "y": 0, "width": 5, "height": 5}]}, "Box 1"),
        ({"image": IMAGE, "boxes": "many"}, "list"),
        ({"image": 987654, "boxes": []}, "No image 987654"),
    ],
)
def test_bad_gold_requests_say_what_is_wrong(project, classes, api_lead, payload, message):
    image = ImageFactory(project=project)
    payload = {k: image.pk if v is IMAGE else v for k, v in payload.items()}
    response = api_lead.post(gold_url(project), payload, format="json")
    assert response.status_code in (400, 404)
    assert message in response.json()["detail"]


def test_the_labelers_list_shows_gold_scores_next_to_peer_agreement(
    project, classes, acknowledged, images, lead, api_a, api_lead, labeler_a, labeler_b
):
    for image in images[:2]:
        make_gold(project, image, lead, classes)
    policy(project, qualification_size=2, rate=0.0)
    wrong = [(1 - c, box) for c, box in TRUE]
    for k in range(2):
        body = take(api_a, project).json()
        answer(api_a, body["annotation"], boxes_payload(classes, TRUE if k == 0 else wrong))
    rows = {r["username"]: r for r in api_lead.get(labelers_url(project)).json()["results"]}
    a = rows["labeler_a"]
    # 2 correct of 2 + 6 units: TP / (TP + FP + FN) = 2 / 6.
    assert a["gold"]["images"] == 2 and a["gold"]["score"] == pytest.approx(2 / 6)
    low, high = a["gold"]["ci"]
    assert 0 <= low < 2 / 6 < high <= 1
    assert a["gold"]["confidence"] == 0.9 and a["gold"]["threshold"] == 0.9
    assert a["gold"]["recall"]["value"] == 0.5 and a["gold"]["class_accuracy"]["value"] == 0.5
    assert set(a["gold"]["per_class"]) == {str(classes[0].pk), str(classes[1].pk)}  # JSON keys
    assert a["paused"] is True and a["state"] == "paused"
    assert a["gold"]["paused_reason"] == "qualification"
    assert "agreement_with_peers" in a and "flags" in a and "flags_deviating" in a
    assert rows["labeler_b"]["gold"] is None and rows["labeler_b"]["paused"] is False
    resumed = api_lead.post(f"{labelers_url(project)}{labeler_a.pk}/resume/")
    assert resumed.status_code == 200 and resumed.json()["state"] == "active"
    again = api_lead.post(f"{labelers_url(project)}{labeler_a.pk}/resume/")
    assert again.status_code == 400 and "not paused" in again.json()["detail"]
    assert api_lead.post(f"{labelers_url(project)}{lead.pk}/resume/").status_code == 404
    assert LabelerGold.objects.get(labeler=labeler_a).resumed_by == lead


def test_the_policy_reads_and_changes(project, api_lead, engineer):
    assert api_lead.get(f"{gold_url(project)}policy/").json()["rate"] == 0.1
    changed = api_lead.patch(
        f"{gold_url(project)}policy/", {"rate": 0.15, "feedback": True}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["rate"] == 0.15
    too_much = api_lead.patch(f"{gold_url(project)}policy/", {"rate": 0.9}, format="json")
    assert too_much.status_code == 400 and "rate" in too_much.json()["detail"]
    assert client_for(engineer).patch(f"{gold_url(project)}policy/", {}).status_code == 403


def test_labelers_never_reach_gold(project, classes, lead, labeler_a, engineer):
    make_gold(project, ImageFactory(project=project), lead, classes)
    api = client_for(labeler_a)
    for url in (gold_url(project), labelers_url(project), f"{gold_url(project)}policy/"):
        assert api.get(url).status_code == 403
    assert client_for(engineer).get(gold_url(project)).status_code == 200
    assert client_for(engineer).post(gold_url(project), {}, format="json").status_code == 403
    assert GoldImage.objects.count() == 1


def test_the_gold_list_takes_a_bounded_number_of_queries(
    project, classes, lead, api_lead, django_assert_max_num_queries
):
    for _ in range(5):
        make_gold(project, ImageFactory(project=project), lead, classes)
    with django_assert_max_num_queries(12):
        assert api_lead.get(gold_url(project)).json()["count"] == 5
