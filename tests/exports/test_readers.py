"""Every export format loads unchanged in at least two independent readers, with the database's
images, classes and boxes: pycocotools, globox, datumaro and supervision, as fits each format."""

import json
import logging

import datumaro as dm
import globox
import numpy as np
import pytest
import supervision as sv
from pycocotools.coco import COCO

from annotations.models import Annotation, Box
from exports.names import project_export_names
from quality.models import ConsensusBox
from tests.exports.helpers import fetch, unzip


@pytest.fixture
def client_engineer(client, engineer):
    client.force_login(engineer)
    return client


def expected_boxes(dataset, *, source="consensus", labeler=None):
    """From the database: {image file name: sorted [(class, x1, y1, x2, y2)]} of the export."""
    names = project_export_names(project=dataset.project)
    out = {}
    if source == "raw":
        for annotation in Annotation.objects.filter(
            image__project=dataset.project,
            labeler__username=labeler,
            kind="label",
            status="submitted",
            image_id__in=[i.pk for i in _complete(dataset)],
        ):
            out[names.of(annotation.image_id, annotation.image.original_name)[0]] = sorted(
                (b.label_class.name, b.x, b.y, b.x + b.width, b.y + b.height)
                for b in Box.objects.filter(annotation=annotation)
            )
        return out
    for image in (dataset.agree, dataset.empty, dataset.edge):
        out[names.of(image.pk, image.original_name)[0]] = sorted(
            (c.label_class.name, c.x, c.y, c.x + c.width, c.y + c.height)
            for c in ConsensusBox.objects.filter(image=image)
        )
    adjudicated = Box.objects.filter(
        annotation__image=dataset.adjudicated, annotation__kind="adjudication"
    )
    out[names.of(dataset.adjudicated.pk, dataset.adjudicated.original_name)[0]] = sorted(
        (b.label_class.name, b.x, b.y, b.x + b.width, b.y + b.height) for b in adjudicated
    )
    return out


def _complete(dataset):
    return [dataset.agree, dataset.empty, dataset.tie, dataset.adjudicated, dataset.edge]


def clipped(boxes, width=640, height=480):
    return sorted(
        (c, max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)) for c, x1, y1, x2, y2 in boxes
    )


def assert_same(got, expected, *, tolerance, clip=False):
    assert set(got) == set(expected)
    for name, boxes in expected.items():
        want = clipped(boxes) if clip else sorted(boxes)
        have = sorted(got[name])
        assert [b[0] for b in have] == [b[0] for b in want], name
        for h, w in zip(have, want, strict=True):
            assert np.allclose(h[1:], w[1:], atol=tolerance), (name, h, w)


def from_supervision(dataset: sv.DetectionDataset):
    out = {}
    for path, _image, detections in dataset:
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        out[name] = [
            (dataset.classes[int(c)], *np.asarray(xyxy, dtype=float))
            for xyxy, c in zip(detections.xyxy, detections.class_id, strict=True)
        ]
    return out


def from_datumaro(path, fmt, caplog, *, voc=False):
    """datumaro's items by image file name; fails on any warning datumaro logs while importing."""
    with caplog.at_level(logging.WARNING):
        # VOC: datumaro's default reads xmin/ymin as written; the devkit's 1-based mode is asked.
        options = {"coordinate_mode": "voc-one-based"} if voc else {}
        imported = dm.Dataset.import_from(str(path), fmt, **options)
        labels = imported.categories()[dm.AnnotationType.label]
        out = {}
        for item in imported:
            name = item.media.path.rsplit("/", 1)[-1] if item.media else item.id
            boxes = []
            for ann in item.annotations:
                assert ann.type == dm.AnnotationType.bbox
                x, y, w, h = ann.get_bbox()
                boxes.append((labels[ann.label].name, x, y, x + w, y + h))
            out[name] = boxes
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    names = [c.name for c in labels.items]
    return out, [n for n in names if not (voc and n == "background")]


def test_coco_file_in_pycocotools_supervision_and_globox(client_engineer, dataset, tmp_path):
    _, body = fetch(client_engineer, dataset.project, format="coco", include_images=1)
    unzip(body, tmp_path)
    expected = expected_boxes(dataset)
    coco = COCO(str(tmp_path / "annotations.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["car", "truck"]
    assert coco.getCatIds() == [1, 2]
    got = {}
    for image in coco.loadImgs(coco.getImgIds()):
        got[image["file_name"]] = [
            (coco.cats[a["category_id"]]["name"], a["bbox"][0], a["bbox"][1],
             a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3])
            for a in coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
        ]  # fmt: skip
    assert_same(got, expected, tolerance=0.005)
    readable = sv.DetectionDataset.from_coco(
        str(tmp_path / "images"), str(tmp_path / "annotations.json")
    )
    assert readable.classes == ["car", "truck"]
    assert_same(from_supervision(readable), expected, tolerance=0.005)
    from_globox = globox.AnnotationSet.from_coco(tmp_path / "annotations.json")
    got = {a.image_id: [(b.label, *b.ltrb) for b in a.boxes] for a in from_globox}
    assert_same(got, expected, tolerance=0.005)


def test_coco_datumaro_layout_in_datumaro_and_pycocotools(
    client_engineer, dataset, tmp_path, caplog
):
    _, body = fetch(
        client_engineer, dataset.project, format="coco", layout="datumaro", include_images=1
    )
    names = unzip(body, tmp_path)
    assert "annotations/instances_default.json" in names
    assert any(n.startswith("images/default/") for n in names)
    expected = expected_boxes(dataset)
    got, classes = from_datumaro(tmp_path, "coco_instances", caplog)
    assert classes == ["car", "truck"]
    assert_same(got, expected, tolerance=0.005)
    coco = COCO(str(tmp_path / "annotations/instances_default.json"))
    assert len(coco.getAnnIds()) == sum(len(b) for b in expected.values())


def test_yolo_in_supervision_datumaro_and_globox(client_engineer, dataset, tmp_path, caplog):
    _, body = fetch(client_engineer, dataset.project, format="yolo", include_images=1)
    unzip(body, tmp_path)
    expected = expected_boxes(dataset)
    readable = sv.DetectionDataset.from_yolo(
        str(tmp_path / "images"), str(tmp_path / "labels"), str(tmp_path / "data.yaml")
    )
    assert readable.classes == ["car", "truck"]
    assert_same(from_supervision(readable), expected, tolerance=0.01, clip=True)
    got, classes = from_datumaro(tmp_path, "yolo", caplog)
    assert classes == ["car", "truck"]
    assert_same(got, expected, tolerance=0.01, clip=True)
    from_globox = globox.AnnotationSet.from_yolo_v5(
        tmp_path / "labels", image_folder=tmp_path / "images", image_extension=".png"
    ).map_labels({"0": "car", "1": "truck"})
    got = {a.image_id: [(b.label, *b.ltrb) for b in a.boxes] for a in from_globox}
    assert_same(got, expected, tolerance=0.01, clip=True)


def test_voc_in_datumaro_with_the_projects_classes_and_in_supervision(
    client_engineer, dataset, tmp_path, caplog
):
    _, body = fetch(client_engineer, dataset.project, format="voc", include_images=1)
    names = unzip(body, tmp_path)
    assert {"labelmap.txt", "ImageSets/Main/default.txt"} <= set(names)
    assert any(n.startswith("JPEGImages/") for n in names)
    # VOC keeps whole pixels: 1-based xmin/ymin, so within half a pixel after subtracting 1.
    expected = {
        name: [(c, round(x1), round(y1), round(x2), round(y2)) for c, x1, y1, x2, y2 in boxes]
        for name, boxes in expected_boxes(dataset).items()
    }
    got, classes = from_datumaro(tmp_path, "voc_detection", caplog, voc=True)
    assert classes == ["car", "truck"]
    assert_same(got, expected, tolerance=0.5, clip=True)
    readable = sv.DetectionDataset.from_pascal_voc(
        str(tmp_path / "JPEGImages"), str(tmp_path / "Annotations")
    )
    assert sorted(readable.classes) == ["car", "truck"]
    assert_same(from_supervision(readable), expected, tolerance=0.5, clip=True)


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_raw_exports_are_one_dataset_per_labeler(client_engineer, dataset, tmp_path, caplog, fmt):
    _, body = fetch(client_engineer, dataset.project, format=fmt, source="raw", include_images=1)
    unzip(body, tmp_path)
    for labeler in ("labeler_a", "labeler_b"):
        expected = expected_boxes(dataset, source="raw", labeler=labeler)
        root = tmp_path / labeler
        caplog.clear()
        if fmt == "yolo":
            readable = sv.DetectionDataset.from_yolo(
                str(root / "images"), str(root / "labels"), str(root / "data.yaml")
            )
            assert_same(from_supervision(readable), expected, tolerance=0.01, clip=True)
            got, _ = from_datumaro(root, "yolo", caplog)
            assert_same(got, expected, tolerance=0.01, clip=True)
        else:
            expected = {
                n: [(c, round(a), round(b), round(x), round(y)) for c, a, b, x, y in boxes]
                for n, boxes in expected.items()
            }
            got, classes = from_datumaro(root, "voc_detection", caplog, voc=True)
            assert classes == ["car", "truck"]
            assert_same(got, expected, tolerance=0.5, clip=True)
            readable = sv.DetectionDataset.from_pascal_voc(
                str(root / "JPEGImages"), str(root / "Annotations")
            )
            assert_same(from_supervision(readable), expected, tolerance=0.5, clip=True)


@pytest.mark.parametrize(
    "writer",
    [
        pytest.param(
            "database",
            marks=pytest.mark.postgresql(reason="PostgreSQL writes the export text (COPY)"),
        ),
        "python",
    ],
)
def test_coco_coordinates_carry_no_float_noise_in_either_writer(client_engineer, dataset, writer):
    ConsensusBox.objects.filter(image=dataset.agree).update(x=100.03000000000002, y=0.1 + 0.2)
    from exports.formats import export_file
    from exports.params import export_spec_parse

    exported = export_file(
        project=dataset.project,
        spec=export_spec_parse({"format": "coco"}),
        text_in_database=writer == "database",
    )
    text = b"".join(exported.chunks).decode()
    assert "100.03000000000002" not in text and "0.30000000000000004" not in text
    boxes = [a["bbox"] for a in json.loads(text)["annotations"]]
    assert [100.03, 0.3] in [b[:2] for b in boxes]
    assert all(a["segmentation"] == [] for a in json.loads(text)["annotations"])
