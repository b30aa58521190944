"""Gold in the queue: qualification first, then the policy's rate, never twice, pausing."""

import pytest
from django.test import TestCase

from annotations.models import Annotation
from gold.models import GoldAnswer, LabelerGold
from gold.queue import gold_due
from gold.services import labeler_resume
from tests.factories import ImageFactory
from tests.gold.conftest import TRUE, answer, boxes_payload, make_gold, policy, take
from tests.quality.labels import submit

pytestmark = pytest.mark.django_db

WRONG = [(1 - c, box) for c, box in TRUE]  # every object given the other class


def kind_of(response) -> str:
    assert response.status_code == 200, response.content
    return Annotation.objects.get(pk=response.json()["annotation"]).kind


def test_a_new_labeler_answers_the_qualification_set_first(
    project, classes, acknowledged, images, lead, api_a, labeler_a
):
    golds = [make_gold(project, image, lead, classes) for image in images[:2]]
    policy(project, qualification_size=2, rate=0.0)
    served = []
    for _ in range(2):
        response = take(api_a, project)
        assert kind_of(response) == "gold"
        served.append(response.json()["image"]["id"])
        assert (
            answer(api_a, response.json()["annotation"], boxes_payload(classes)).status_code == 200
        )
    assert served == [g.image_id for g in golds]  # the same set, in order, for everyone
    standing = LabelerGold.objects.get(project=project, labeler=labeler_a)
    assert standing.state == LabelerGold.State.ACTIVE and standing.qualified_at is not None
    assert list(GoldAnswer.objects.values_list("qualification", "correct")) == [(True, 2)] * 2
    assert kind_of(take(api_a, project)) == "label"


def test_a_labeler_who_fails_the_qualification_is_paused_told_and_can_be_resumed(
    project, classes, acknowledged, images, lead, api_a, labeler_a
):
    for image in images[:2]:
        make_gold(project, image, lead, classes)
    policy(project, qualification_size=2, rate=0.0)
    for _ in range(2):
        body = take(api_a, project).json()
        answer(api_a, body["annotation"], boxes_payload(classes, WRONG))
    response = take(api_a, project)
    assert response.status_code == 403
    assert response.json()["code"] == "labeler_paused"
    assert "lead has been told" in response.json()["detail"]
    standing = LabelerGold.objects.get(project=project, labeler=labeler_a)
    assert (standing.state, standing.reason) == ("paused", "qualification")
    labeler_resume(project=project, labeler=labeler_a, user=lead)
    assert kind_of(take(api_a, project)) == "label"


def test_a_labeler_who_labeled_before_gold_existed_skips_the_qualification(
    project, classes, acknowledged, images, lead, api_a, labeler_a
):
    submit(images[5], labeler_a, [])
    make_gold(project, images[0], lead, classes)
    policy(project, qualification_size=3, rate=0.5)
    take(api_a, project)
    assert LabelerGold.objects.get(labeler=labeler_a).state == LabelerGold.State.ACTIVE


def test_gold_comes_at_the_rate_and_never_twice(
    project, classes, acknowledged, images, lead, api_a, labeler_a
):
    golds = {make_gold(project, image, lead, classes).image_id for image in images[:2]}
    policy(project, qualification_size=0, rate=0.5)  # the most a lead may set
    kinds, seen = [], []
    while (response := take(api_a, project)).status_code == 200:
        kinds.append(kind_of(response))
        seen.append(response.json()["image"]["id"])
        answer(api_a, response.json()["annotation"], boxes_payload(classes))
    assert len(seen) == len(set(seen))  # never the same image twice
    assert {pk for pk, kind in zip(seen, kinds, strict=True) if kind == "gold"} <= golds
    # Which draw is gold: the keyed hash of the regular image it would otherwise be (the next
    # in queue order) and of the gold images left, while gold and regular images are both left.
    expected, gold_left, regular = [], 2, sorted(i.pk for i in images[2:])
    for _ in kinds:
        draw = f"{regular[0]}:{gold_left}"
        due = gold_due(project_id=project.pk, labeler_id=labeler_a.pk, draw=draw, rate=0.5)
        expected.append("gold" if due and gold_left else "label")
        if due and gold_left:
            gold_left -= 1
        else:
            regular.pop(0)
    assert kinds == expected
    assert kinds.count("label") == 4


def test_the_gold_draw_follows_the_rate():
    draws = [gold_due(project_id=1, labeler_id=7, draw=f"{k}:5", rate=0.1) for k in range(20000)]
    assert 0.09 < sum(draws) / len(draws) < 0.11
    others = [gold_due(project_id=1, labeler_id=8, draw=f"{k}:5", rate=0.1) for k in range(20000)]
    assert draws != others


def test_gold_images_are_never_served_as_regular_images(
    project, classes, acknowledged, images, lead, api_a
):
    golds = {make_gold(project, image, lead, classes).image_id for image in images[:3]}
    policy(project, qualification_size=0, rate=0.0)
    served = []
    while (response := take(api_a, project)).status_code == 200:
        served.append(response.json()["image"]["id"])
        answer(api_a, response.json()["annotation"], [])
    assert sorted(served) == sorted(i.pk for i in images[3:])
    assert not golds & set(served)


def test_gold_comes_only_between_regular_images(
    project, classes, acknowledged, images, lead, api_a
):
    for image in images:
        make_gold(project, image, lead, classes)
    policy(project, qualification_size=2, rate=0.5)
    assert take(api_a, project).status_code == 204


def test_the_pause_rule_pauses_and_counts_from_the_resume(
    project, classes, acknowledged, images, lead, api_a, labeler_a
):
    for image in images[:4]:
        make_gold(project, image, lead, classes)
    policy(project, qualification_size=0, rate=0.5, min_images=2)
    submit(images[5], labeler_a, [])  # an old hand: no qualification
    answered = 0
    while answered < 2:
        body = take(api_a, project).json()
        if Annotation.objects.get(pk=body["annotation"]).kind == "gold":
            answered += 1
            answer(api_a, body["annotation"], boxes_payload(classes, WRONG))
        else:
            answer(api_a, body["annotation"], [])
        if answered < 2:
            ImageFactory(project=project)  # more regular images: the queue keeps mixing gold in
    standing = LabelerGold.objects.get(labeler=labeler_a)
    assert (standing.state, standing.reason) == ("paused", "gold_score")
    assert take(api_a, project).status_code == 403
    labeler_resume(project=project, labeler=labeler_a, user=lead)
    standing.refresh_from_db()
    assert standing.state == "active" and standing.resumed_by == lead
    assert take(api_a, project).status_code == 200


def test_mixing_serves_the_least_answered_gold_image_first(
    project, classes, acknowledged, images, lead, api_a, labeler_a, labeler_b
):
    golds = [make_gold(project, image, lead, classes) for image in images[:2]]
    policy(project, qualification_size=0, rate=0.5)
    submit(images[5], labeler_a, [])  # an old hand: no qualification
    Annotation.objects.create(image=golds[0].image, labeler=labeler_b, kind=Annotation.Kind.GOLD)
    served = []
    while (response := take(api_a, project)).status_code == 200:
        if kind_of(response) == "gold":
            served.append(response.json()["image"]["id"])
        answer(api_a, response.json()["annotation"], [])
        ImageFactory(project=project, width=640, height=480)  # regular images never run out
        if len(served) == 2:
            break
    # The one nobody answered first (spreads each gold image's exposure), then the other.
    assert served == [golds[1].image_id, golds[0].image_id]


@pytest.mark.parametrize("qualification_size", [0, 3])
def test_a_gold_draw_asks_the_database_as_much_as_a_regular_one(
    qualification_size, project, classes, acknowledged, lead, labeler_a
):
    """Timing must not tell gold apart: a draw that opens a gold image runs as many SQL
    statements as one that opens a regular image (both after the labeler's first draw, which
    makes their gold standing), mixing and qualifying alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotations.services import annotation_boxes_replace, annotation_submit, queue_next

    many = [ImageFactory(project=project, width=640, height=480) for _ in range(40)]
    for image in many[:6]:
        make_gold(project, image, lead, classes)
    policy(project, qualification_size=qualification_size, rate=0.5)
    statements = {"gold": set(), "label": set()}
    for draw in range(16):
        with CaptureQueriesContext(connection) as queries:
            annotation = queue_next(project=project, labeler=labeler_a)
        if draw:
            statements[annotation.kind].add(len(queries))
        annotation_boxes_replace(annotation=annotation, boxes=boxes_payload(classes))
        with TestCase.captureOnCommitCallbacks(execute=True):  # a gold answer's scoring
            annotation_submit(annotation=annotation)
    assert statements["gold"] and statements["label"], statements
    assert statements["gold"] == statements["label"], statements
