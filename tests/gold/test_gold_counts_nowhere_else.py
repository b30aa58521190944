"""Gold answers never count toward agreement, consensus, labeler figures or exports."""

import json

import pytest

from annotations.models import Annotation
from gold.models import GoldAnswer
from quality.models import ConsensusBox, Flag, ImageAgreement
from quality.selectors.labels import images_labels
from quality.services.assessment import images_assess
from tests.annotations.conftest import client_for
from tests.gold.conftest import answer, boxes_payload, make_gold, policy, take

pytestmark = pytest.mark.django_db


def test_answers_on_a_gold_image_are_not_label_sets_of_it(
    project, classes, acknowledged, images, lead, api_a, api_b, engineer
):
    gold = make_gold(project, images[0], lead, classes)
    policy(project, qualification_size=1, rate=0.0)
    # Both labelers answer the gold image, one of them with a class conflict: two label sets,
    # as many as the project asks per image, that would raise a flag if they counted.
    for api, boxes in ((api_a, [(0, (10, 10, 100, 80))]), (api_b, [(1, (10, 10, 100, 80))])):
        body = take(api, project).json()
        assert body["image"]["id"] == gold.image_id
        assert answer(api, body["annotation"], boxes_payload(classes, boxes)).status_code == 200
    assert GoldAnswer.objects.count() == 2
    images[0].refresh_from_db()
    assert images[0].label_set_count == 0  # the queue's slot count ignores them
    (labels,) = images_labels(image_ids=[images[0].pk])
    assert len(labels.batch.set_image) == 0  # the pipeline reads no label set on it
    images_assess(image_ids=[images[0].pk])
    assert not ImageAgreement.objects.filter(image=images[0]).exists()
    assert not ConsensusBox.objects.filter(image=images[0]).exists()
    assert not Flag.objects.filter(image=images[0]).exists()
    api = client_for(engineer)
    for source in ("raw", "consensus"):
        response = api.get(
            f"/api/projects/{project.pk}/export/",
            {"format": "coco", "source": source, "complete_only": "false"},
        )
        assert response.status_code == 200
        coco = json.loads(b"".join(response.streaming_content))
        assert coco["images"] == [] and coco["annotations"] == []
    assert Annotation.objects.filter(kind=Annotation.Kind.GOLD).count() == 2
