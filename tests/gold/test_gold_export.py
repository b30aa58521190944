"""The "gold" export source (the true boxes: a test set) and the data card's gold section."""

import io
import json
import zipfile

import pytest

from exports.coco import coco_pieces
from exports.params import ExportSpec
from exports.selectors import ExportQuery
from exports.yolo import yolo_chunks
from tests.annotations.conftest import client_for
from tests.factories import ImageFactory
from tests.gold.conftest import TRUE, answer, boxes_payload, make_gold, policy, take

pytestmark = pytest.mark.django_db


@pytest.fixture
def golds(project, classes, lead):
    first = make_gold(project, ImageFactory(project=project, original_name="g1.png"), lead, classes)
    second = make_gold(
        project, ImageFactory(project=project, original_name="g2.png"), lead, classes, TRUE[1:]
    )
    ImageFactory(project=project, original_name="plain.png")
    return first, second


def _coco(project, spec, in_database):
    query = ExportQuery(project=project, spec=spec, text_in_database=in_database)
    return b"".join(p if isinstance(p, bytes) else p.encode() for p in coco_pieces(query, info={}))


WRITERS = [
    pytest.param(False, id="python"),
    pytest.param(
        True,
        id="database",
        marks=pytest.mark.postgresql(reason="PostgreSQL writes the export text (COPY)"),
    ),
]


@pytest.mark.parametrize("in_database", WRITERS)
def test_the_gold_source_exports_the_true_boxes_alike_from_both_writers(
    project, classes, golds, in_database
):
    spec = ExportSpec(format="coco", source="gold")
    coco = json.loads(_coco(project, spec, in_database))
    assert [i["file_name"] for i in coco["images"]] == ["g1.png", "g2.png"]
    assert [
        (a["image_id"], a["category_id"], a["bbox"], a["source"]) for a in coco["annotations"]
    ] == [
        (golds[0].image_id, 1, [10.0, 10.0, 100.0, 80.0], "gold"),
        (golds[0].image_id, 2, [300.0, 200.0, 80.0, 60.0], "gold"),
        (golds[1].image_id, 2, [300.0, 200.0, 80.0, 60.0], "gold"),
    ]
    trucks = ExportSpec(format="coco", source="gold", classes=("truck",))
    only_trucks = json.loads(_coco(project, trucks, in_database))
    assert [a["bbox"] for a in only_trucks["annotations"]] == [[300.0, 200.0, 80.0, 60.0]] * 2
    yolo = ExportSpec(format="yolo", source="gold")
    files = _yolo_files(project, yolo, in_database)
    assert files["labels/g1.txt"].count(b"\n") == 2 and files["labels/g2.txt"].count(b"\n") == 1
    if in_database:  # the database writer's files are the Python writer's
        for spec in (ExportSpec(format="coco", source="gold"), trucks):
            assert _coco(project, spec, True) == _coco(project, spec, False)
        assert files == _yolo_files(project, yolo, False)


def _yolo_files(project, spec, in_database) -> dict[str, bytes]:
    """The zip's files by name (the archive's own bytes carry each entry's time, to 2 s)."""
    body = b"".join(
        yolo_chunks(
            ExportQuery(project=project, spec=spec, text_in_database=in_database), readme="r"
        )
    )
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_data_card_counts_gold_images_and_scores_each_labeler(
    project, classes, golds, acknowledged, lead, api_a, engineer
):
    policy(project, qualification_size=1, rate=0.0)
    body = take(api_a, project).json()
    answer(api_a, body["annotation"], boxes_payload(classes))
    api = client_for(engineer)
    card = api.get(f"/api/projects/{project.pk}/datacard/", {"format": "json"}).json()
    assert card["gold"]["images"] == 2 and card["gold"]["served"] == 2
    (row,) = card["gold"]["labelers"]
    assert (row["labeler"], row["gold_images"], row["score"], row["paused"]) == (
        "labeler_a",
        1,
        1.0,
        False,
    )
    markdown = api.get(f"/api/projects/{project.pk}/datacard/", {"format": "md"}).content.decode()
    assert "## Gold images" in markdown and "- labeler_a: 1.00 (" in markdown
