"""Each format holds exactly the labeled images, keeps empty apart from unlabeled, and tools read it."""

import csv
import io
import json
import re

import globox
import pytest
from pycocotools.coco import COCO

from exports.names import project_export_names
from quality.models import ConsensusBox
from tests.exports.helpers import fetch, fetch_coco, unzip


@pytest.fixture
def client_engineer(client, engineer):
    client.force_login(engineer)
    return client


def stem(image):
    return project_export_names(project=image.project).of(image.pk, image.original_name)[1]


def test_coco_loads_in_pycocotools_and_counts_match_the_database(
    client_engineer, dataset, tmp_path
):
    data = fetch_coco(client_engineer, dataset.project)
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(data))
    coco = COCO(str(path))
    assert set(coco.getImgIds()) == dataset.exported_consensus
    consensus = ConsensusBox.objects.filter(
        image_id__in=[dataset.agree.pk, dataset.edge.pk], label_class__isnull=False
    ).count()
    assert len(coco.getAnnIds()) == consensus + 1  # + the lead's adjudicated truck
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["car", "truck"]
    assert coco.getAnnIds(imgIds=[dataset.empty.pk]) == []
    for ann in coco.loadAnns(coco.getAnnIds()):
        x, y, w, h = ann["bbox"]
        assert ann["area"] == pytest.approx(w * h) and ann["iscrowd"] == 0


def test_coco_keeps_empty_images_and_leaves_out_unlabeled_ones(client_engineer, dataset):
    data = fetch_coco(client_engineer, dataset.project)
    ids = {image["id"] for image in data["images"]}
    assert dataset.empty.pk in ids
    assert not {a["image_id"] for a in data["annotations"]} & {dataset.empty.pk}
    assert dataset.partial.pk not in ids and dataset.untouched.pk not in ids


def test_yolo_zip_has_data_yaml_empty_txt_for_empty_images_and_values_in_0_1(
    client_engineer, dataset, tmp_path
):
    response, body = fetch(client_engineer, dataset.project, format="yolo")
    assert response["Content-Type"] == "application/zip"
    names = unzip(body, tmp_path)
    data_yaml = (tmp_path / "data.yaml").read_text()
    assert 'names:\n  0: "car"\n  1: "truck"\n' in data_yaml and "nc: 2" in data_yaml
    labels = {n for n in names if n.startswith("labels/")}
    assert labels == {
        f"labels/{stem(getattr(dataset, k))}.txt" for k in ("agree", "empty", "adjudicated", "edge")
    }
    assert (tmp_path / f"labels/{stem(dataset.empty)}.txt").read_text() == ""
    for name in labels:
        for line in (tmp_path / name).read_text().splitlines():
            cls, *values = line.split()
            assert cls in ("0", "1")
            assert all(0.0 <= float(v) <= 1.0 for v in values), line
    edge = (tmp_path / f"labels/{stem(dataset.edge)}.txt").read_text().split()
    # x 600..680 in a 640-wide image is clipped to 600..640: centre 620/640, width 40/640.
    assert [float(v) for v in edge[1:]] == pytest.approx(
        [620 / 640, 460 / 480, 40 / 640, 40 / 480], abs=1e-6
    )


def test_voc_zip_has_an_xml_without_objects_for_empty_images_only(
    client_engineer, dataset, tmp_path
):
    response, body = fetch(client_engineer, dataset.project, format="voc")
    names = unzip(body, tmp_path)
    xmls = {n for n in names if n.endswith(".xml")}
    assert xmls == {
        f"Annotations/{stem(getattr(dataset, k))}.xml"
        for k in ("agree", "empty", "adjudicated", "edge")
    }
    empty = (tmp_path / f"Annotations/{stem(dataset.empty)}.xml").read_text()
    assert "<object>" not in empty and "<width>640</width>" in empty
    agree = (tmp_path / f"Annotations/{stem(dataset.agree)}.xml").read_text()
    assert agree.count("<object>") == 2
    edge = (tmp_path / f"Annotations/{stem(dataset.edge)}.xml").read_text()
    assert re.search(r"<xmin>601</xmin><ymin>441</ymin><xmax>640</xmax><ymax>480</ymax>", edge)


def test_csv_has_one_row_per_box_and_one_empty_row_per_empty_image(client_engineer, dataset):
    response, body = fetch(client_engineer, dataset.project, format="csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    by_image = {}
    for row in rows:
        by_image.setdefault(int(row["image_id"]), []).append(row)
    assert set(by_image) == dataset.exported_consensus
    assert [r["label"] for r in by_image[dataset.empty.pk]] == [""]
    assert sorted(r["label"] for r in by_image[dataset.agree.pk]) == ["car", "truck"]
    assert [(r["label"], r["source"], r["labeler"]) for r in by_image[dataset.adjudicated.pk]] == [
        ("truck", "adjudicated", "lead")
    ]


def test_globox_reads_coco_yolo_and_voc_and_they_agree_box_for_box(
    client_engineer, dataset, tmp_path
):
    coco_path = tmp_path / "coco.json"
    coco_path.write_text(json.dumps(fetch_coco(client_engineer, dataset.project)))
    from_coco = globox.AnnotationSet.from_coco(coco_path)
    _, yolo = fetch(client_engineer, dataset.project, format="yolo", include_images=1)
    unzip(yolo, tmp_path / "yolo")
    from_yolo = globox.AnnotationSet.from_yolo_v5(
        tmp_path / "yolo/labels", image_folder=tmp_path / "yolo/images", image_extension=".png"
    ).map_labels({"0": "car", "1": "truck"})
    _, voc = fetch(client_engineer, dataset.project, format="voc")
    unzip(voc, tmp_path / "voc")
    from_voc = globox.AnnotationSet.from_pascal_voc(tmp_path / "voc/Annotations")

    assert from_coco.image_ids == from_yolo.image_ids == from_voc.image_ids
    assert len(from_coco.image_ids) == 4
    for image_id in from_coco.image_ids:
        coco_boxes = sorted((b.label, *b.ltrb) for b in from_coco[image_id].boxes)
        yolo_boxes = sorted((b.label, *b.ltrb) for b in from_yolo[image_id].boxes)
        # VOC is 1-based: subtract 1 from xmin/ymin to get back to continuous pixels.
        voc_boxes = sorted(
            (b.label, b.xmin - 1, b.ymin - 1, b.xmax, b.ymax) for b in from_voc[image_id].boxes
        )
        width, height = from_coco[image_id].image_size or (640, 480)
        assert len(coco_boxes) == len(yolo_boxes) == len(voc_boxes)
        for c, y, v in zip(coco_boxes, yolo_boxes, voc_boxes, strict=True):
            clipped = (c[0], c[1], c[2], min(c[3], 640), min(c[4], 480))
            assert y[0] == v[0] == c[0]
            assert y[1:] == pytest.approx(clipped[1:], abs=0.01)
            assert v[1:] == pytest.approx(clipped[1:], abs=0.5)


def test_include_images_puts_the_files_next_to_the_labels(client_engineer, dataset, tmp_path):
    response, body = fetch(client_engineer, dataset.project, format="coco", include_images=1)
    assert response["Content-Type"] == "application/zip"
    names = unzip(body, tmp_path)
    data = json.loads((tmp_path / "annotations.json").read_text())
    assert {f"images/{i['file_name']}" for i in data["images"]} == {
        n for n in names if n.startswith("images/")
    }
    assert (
        (tmp_path / "images" / data["images"][0]["file_name"]).read_bytes().startswith(b"\x89PNG")
    )
