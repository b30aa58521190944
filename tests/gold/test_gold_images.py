"""Making gold: from an adjudication, the consensus or given boxes; versions and re-scoring."""

import pytest
from django.test import TestCase
from django.utils import timezone

from annotations.models import Annotation, Box
from gold.models import GoldAnswer, GoldImage, LabelerGold
from gold.services import GoldInvalid, gold_image_save
from quality.services.assessment import images_assess
from tests.factories import AnnotationFactory, ImageFactory
from tests.gold.conftest import TRUE, answer, boxes_payload, make_gold, policy, take
from tests.quality.labels import submit

pytestmark = pytest.mark.django_db


def test_gold_from_the_adjudication_copies_the_leads_boxes(project, classes, lead):
    image = ImageFactory(project=project)
    adjudication = AnnotationFactory(
        image=image,
        labeler=lead,
        kind=Annotation.Kind.ADJUDICATION,
        status=Annotation.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )
    Box.objects.create(
        annotation=adjudication, label_class=classes[1], x=5, y=6, width=70, height=50
    )
    gold = gold_image_save(project=project, image=image, user=lead, source="adjudication")
    assert gold.source == "adjudication" and gold.version == 1
    assert list(gold.boxes.values_list("label_class", "x", "y", "width", "height")) == [
        (classes[1].pk, 5.0, 6.0, 70.0, 50.0)
    ]


def test_gold_from_the_consensus_and_its_refusals(project, classes, lead, labeler_a, labeler_b):
    car, truck = classes
    agreed = ImageFactory(project=project)
    submit(agreed, labeler_a, [(car, (10, 10, 100, 80))])
    submit(agreed, labeler_b, [(car, (12, 10, 100, 80))])
    tied = ImageFactory(project=project)
    submit(tied, labeler_a, [(car, (10, 10, 100, 80))])
    submit(tied, labeler_b, [(truck, (10, 10, 100, 80))])
    images_assess(image_ids=[agreed.pk, tied.pk])
    gold = gold_image_save(project=project, image=agreed, user=lead, source="consensus")
    assert list(gold.boxes.values_list("label_class", "x", "width")) == [(car.pk, 11.0, 100.0)]
    with pytest.raises(GoldInvalid, match="tied on the class"):
        gold_image_save(project=project, image=tied, user=lead, source="consensus")
    with pytest.raises(GoldInvalid, match="no consensus yet"):
        gold_image_save(
            project=project, image=ImageFactory(project=project), user=lead, source="consensus"
        )
    with pytest.raises(GoldInvalid, match="no adjudication"):
        gold_image_save(project=project, image=agreed, user=lead, source="adjudication")


def test_two_gold_boxes_on_one_object_are_refused(project, classes, lead):
    twice = [(0, (10, 10, 100, 80)), (1, (12, 10, 100, 80))]
    with pytest.raises(GoldInvalid, match="Gold boxes 1 and 2 overlap"):
        make_gold(project, ImageFactory(project=project), lead, classes, twice)
    assert not GoldImage.objects.exists()


def test_new_gold_boxes_raise_the_version_and_rescore_past_answers(
    project, classes, acknowledged, images, lead, api_a, labeler_a
):
    gold = make_gold(project, images[0], lead, classes)
    policy(project, qualification_size=1, rate=0.0, min_images=1)
    body = take(api_a, project).json()
    # labeler_a calls the second object a car: wrong by this gold, so the qualification fails.
    answer(api_a, body["annotation"], boxes_payload(classes, [TRUE[0], (0, TRUE[1][1])]))
    row = GoldAnswer.objects.get()
    assert (row.correct, row.units, row.gold_version) == (1, 3, 1)
    assert len(row.details["wrong_class"]) == 1
    assert LabelerGold.objects.get(labeler=labeler_a).state == "paused"
    # The lead finds the gold was wrong: both objects are cars.
    same = make_gold(project, images[0], lead, classes, [(0, TRUE[0][1]), (0, TRUE[1][1])])
    assert same.pk == gold.pk and same.version == 2
    row.refresh_from_db()
    assert (row.correct, row.units, row.gold_version) == (2, 2, 2)
    assert LabelerGold.objects.get(labeler=labeler_a).state == "active"
    # The same boxes again change nothing.
    assert (
        make_gold(project, images[0], lead, classes, [(0, TRUE[0][1]), (0, TRUE[1][1])]).version
        == 2
    )


def test_the_gold_records_the_instructions_it_follows(project, classes, lead, instructions):
    gold = make_gold(project, ImageFactory(project=project), lead, classes)
    assert gold.instruction_version == instructions


def test_a_gold_answer_is_scored_after_the_submit_commits_not_inside_it(
    project, classes, acknowledged, images, lead, api_a, labeler_a
):
    # Scoring inside the request made a gold image's submit slower than any other: a timing
    # a labeler could notice. It runs once the submit has committed (a task).
    make_gold(project, images[0], lead, classes)
    policy(project, qualification_size=1, rate=0.0)
    body = take(api_a, project).json()
    url = f"/api/annotations/{body['annotation']}/"
    api_a.put(url, {"boxes": boxes_payload(classes)}, format="json")
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        assert api_a.post(f"{url}submit/", {}, format="json").status_code == 200
    assert not GoldAnswer.objects.exists() and len(callbacks) == 1
    callbacks[0]()
    assert GoldAnswer.objects.get().correct == 2
