"""consensus / adjudicated / raw, and the filters: which images and boxes each export holds."""

import csv
import io

import pytest
from django.utils import timezone

from quality.models import Flag, ImageAgreement
from tests.exports.helpers import fetch, fetch_coco


@pytest.fixture
def client_lead(client, lead):
    client.force_login(lead)
    return client


def boxes_by_image(data):
    out = {image["id"]: [] for image in data["images"]}
    for ann in data["annotations"]:
        out[ann["image_id"]].append(ann)
    return out


def test_adjudicated_labels_replace_the_consensus(client_lead, dataset):
    data = fetch_coco(client_lead, dataset.project)
    adjudicated = boxes_by_image(data)[dataset.adjudicated.pk]
    assert [(a["category_id"], a["bbox"], a["source"], a["rater"]) for a in adjudicated] == [
        (2, [400.0, 300.0, 60.0, 40.0], "adjudicated", "lead")  # truck: the second class
    ]


def test_adjudicated_source_holds_only_images_the_lead_settled(client_lead, dataset):
    data = fetch_coco(client_lead, dataset.project, source="adjudicated")
    assert [image["id"] for image in data["images"]] == [dataset.adjudicated.pk]
    assert len(data["annotations"]) == 1


def test_class_tie_is_withheld_from_consensus_and_counted(client_lead, dataset):
    data = fetch_coco(client_lead, dataset.project)
    assert dataset.tie.pk not in {image["id"] for image in data["images"]}
    assert data["info"]["withheld_images_with_class_ties"] == 1


def test_raw_names_every_labeler_and_lists_empty_label_sets(
    client_lead, dataset, labeler_a, labeler_b
):
    data = fetch_coco(client_lead, dataset.project, source="raw")
    images = {image["id"]: image for image in data["images"]}
    assert set(images) == {
        dataset.agree.pk, dataset.empty.pk, dataset.tie.pk, dataset.adjudicated.pk, dataset.edge.pk
    }  # fmt: skip
    assert images[dataset.empty.pk]["rater_list"] == ["labeler_a", "labeler_b"]
    by_image = boxes_by_image(data)
    assert by_image[dataset.empty.pk] == []
    assert sorted(a["rater"] for a in by_image[dataset.tie.pk]) == ["labeler_a", "labeler_b"]
    assert "lead" not in {a["rater"] for a in data["annotations"]}  # adjudication is not raw


def test_raw_without_complete_only_includes_partly_labeled_images(client_lead, dataset):
    data = fetch_coco(client_lead, dataset.project, source="raw", complete_only=0)
    images = {image["id"]: image for image in data["images"]}
    assert images[dataset.partial.pk]["rater_list"] == ["labeler_a"]
    assert dataset.untouched.pk not in images


def test_raw_yolo_and_csv_give_each_labeler_their_own_labels(client_lead, dataset, tmp_path):
    from tests.exports.helpers import unzip

    _, body = fetch(client_lead, dataset.project, format="yolo", source="raw")
    names = unzip(body, tmp_path)
    assert any(n.startswith("labeler_a/labels/") for n in names)
    assert {"labeler_a/data.yaml", "labeler_b/data.yaml"} <= set(names)
    empty_files = [n for n in names if n.endswith("/empty.txt")]
    assert sorted(empty_files) == ["labeler_a/labels/empty.txt", "labeler_b/labels/empty.txt"]
    assert all((tmp_path / n).read_text() == "" for n in empty_files)
    _, body = fetch(client_lead, dataset.project, format="csv", source="raw")
    rows = [
        r
        for r in csv.DictReader(io.StringIO(body.decode()))
        if int(r["image_id"]) == dataset.empty.pk
    ]
    assert [(r["labeler"], r["label"]) for r in rows] == [("labeler_a", ""), ("labeler_b", "")]


def test_min_agreement_keeps_images_at_or_above_the_score(client_lead, dataset):
    ImageAgreement.objects.filter(image=dataset.agree).update(score=0.9)
    ImageAgreement.objects.filter(image=dataset.edge).update(score=0.2)
    ImageAgreement.objects.filter(image=dataset.empty).update(score=1.0)
    data = fetch_coco(client_lead, dataset.project, min_agreement="0.5")
    ids = {image["id"] for image in data["images"]}
    assert ids == {dataset.agree.pk, dataset.empty.pk, dataset.adjudicated.pk}


def test_exclude_flagged_drops_images_with_open_flags_only(client_lead, dataset):
    Flag.objects.filter(project=dataset.project).delete()
    common = {"project": dataset.project, "kind": "missing", "message": "m"}
    Flag.objects.create(image=dataset.agree, key="a", **common)
    Flag.objects.create(
        image=dataset.edge, key="b", status="resolved", resolved_at=timezone.now(), **common
    )
    data = fetch_coco(client_lead, dataset.project, exclude_flagged=1)
    ids = {image["id"] for image in data["images"]}
    assert dataset.agree.pk not in ids and dataset.edge.pk in ids


def test_classes_filter_keeps_only_those_boxes_and_categories(client_lead, dataset):
    data = fetch_coco(client_lead, dataset.project, classes="truck")
    assert [c["name"] for c in data["categories"]] == ["truck"]
    assert [c["id"] for c in data["categories"]] == [1]
    assert {a["category_id"] for a in data["annotations"]} == {1}
    # The edge image holds only a car: for the class "truck" it is labeled and empty.
    assert dataset.edge.pk in {image["id"] for image in data["images"]}
    by_id = fetch_coco(client_lead, dataset.project, classes=str(dataset.car.pk))
    assert [c["name"] for c in by_id["categories"]] == ["car"]


@pytest.fixture
def versions(dataset, lead):
    """Version 1 and 2; agree labeled under 2 by both, edge under 1 and 2, the rest unrecorded."""
    from annotations.models import Annotation
    from projects.services import instruction_version_publish

    v1 = instruction_version_publish(project=dataset.project, author=lead, body="v1")
    v2 = instruction_version_publish(project=dataset.project, author=lead, body="v2", summary="s")
    labels = Annotation.objects.filter(kind="label")
    labels.filter(image=dataset.agree).update(instruction_version=v2)
    labels.filter(image=dataset.edge, labeler__username="labeler_a").update(instruction_version=v1)
    labels.filter(image=dataset.edge, labeler__username="labeler_b").update(instruction_version=v2)
    return v1, v2


@pytest.mark.parametrize("source", ["consensus", "raw"])
def test_min_instruction_version_keeps_images_every_labeler_labeled_under_it(
    client_lead, dataset, versions, source
):
    data = fetch_coco(client_lead, dataset.project, source=source, min_instruction_version="2")
    assert [image["id"] for image in data["images"]] == [dataset.agree.pk]
    both = fetch_coco(client_lead, dataset.project, source=source, min_instruction_version="1")
    assert [image["id"] for image in both["images"]] == [dataset.agree.pk, dataset.edge.pk]
    response, body = fetch(client_lead, dataset.project, format="yolo", min_instruction_version="2")
    assert response.status_code == 200
    card = client_lead.get(
        f"/api/projects/{dataset.project.pk}/datacard/?min_instruction_version=2"
    ).json()
    assert card["images"]["exported"] == 1
    assert card["filters"]["min_instruction_version"] == 2


@pytest.mark.parametrize(
    ("value", "words"), [("two", "a version number"), ("0", "a version number"), ("3", "1 to 2")]
)
def test_min_instruction_version_that_does_not_exist_is_a_400(
    client_lead, dataset, versions, value, words
):
    response, _ = fetch(client_lead, dataset.project, min_instruction_version=value)
    assert response.status_code == 400
    assert response.json()["param"] == "min_instruction_version"
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "param", "words"),
    [
        ({"format": "xml"}, "format", "coco, yolo, voc, csv"),
        ({"source": "best"}, "source", "consensus, adjudicated, raw"),
        ({"min_agreement": "high"}, "min_agreement", "from 0 to 1"),
        ({"min_agreement": "1.5"}, "min_agreement", "from 0 to 1"),
        ({"exclude_flagged": "maybe"}, "exclude_flagged", "1 or 0"),
        ({"complete_only": "2"}, "complete_only", "1 or 0"),
        ({"classes": "car,bus"}, "classes", "bus"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter_and_allowed_values(
    client_lead, dataset, params, param, words
):
    response, body = fetch(client_lead, dataset.project, **params)
    assert response.status_code == 400
    assert response.json()["param"] == param
    assert words in response.json()["detail"]
