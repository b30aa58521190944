"""Every import format read from files that other tools wrote: supervision, datumaro and globox
write COCO, YOLO, VOC and CVAT; raw COCO is checked against kalphacv, which reads that layout;
Label Studio and CVAT files are also built as their documentation describes them.

The parsers are pure: no database. Two 640x480 images: a.jpg with a car at (10, 20, 100, 50)
and a truck at (300, 200, 120, 90), b.jpg labeled as holding nothing; c.jpg is not labeled.
"""

import json
import logging
from pathlib import Path

import datumaro as dm
import globox
import numpy as np
import pytest
import supervision as sv
from PIL import Image

from imports.formats.coco import parse_coco, parse_coco_results
from imports.formats.cvat import parse_cvat
from imports.formats.labelstudio import parse_labelstudio
from imports.formats.types import LabelFileError
from imports.sources import UploadRefused, upload_files, upload_plan

W, H = 640, 480
CAR, TRUCK = (10.0, 20.0, 100.0, 50.0), (300.0, 200.0, 120.0, 90.0)
EXPECTED = {"a.jpg": [("car", *CAR), ("truck", *TRUCK)], "b.jpg": []}


def boxes_by_image(sets, *, stems=False, rater=False, size=(W, H)):
    """{image name (or (name, rater)): sorted [(class, x, y, w, h)]} in pixels."""
    scale = np.array([*size, *size], dtype=float) if sets.fractions else np.ones(4)
    out = {}
    for s in range(sets.set_count):
        ref = sets.images[sets.set_image[s]]
        name = ref.name + (".jpg" if stems and ref.stem_only else "")
        key = (name, sets.raters[sets.set_rater[s]] if sets.set_rater[s] >= 0 else None)
        rows = np.flatnonzero(sets.box_set == s)
        out[key if rater else name] = sorted(
            (sets.labels[sets.box_label[r]], *np.round(sets.xywh[r] * scale, 3).tolist())
            for r in rows
        )
    return out


def plan_read(folder: Path, fmt: str, labeler="vendor", **options):
    files, refused = upload_files([], [folder])
    assert not refused
    units = upload_plan(fmt=fmt, files=files, labeler=labeler, options=options)
    out = []
    for unit in units:
        sets, refused_files = unit.read()
        assert refused_files == []
        out.append(sets)
    return out


def save_images(folder: Path, names=("a.jpg", "b.jpg", "c.jpg")):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", (W, H)).save(folder / name)


def sv_dataset(folder: Path) -> sv.DetectionDataset:
    save_images(folder)
    detections = sv.Detections(
        xyxy=np.array([[10, 20, 110, 70], [300, 200, 420, 290]], dtype=float),
        class_id=np.array([0, 1]),
    )
    return sv.DetectionDataset(
        classes=["car", "truck"],
        images=[str(folder / "a.jpg"), str(folder / "b.jpg")],
        annotations={
            str(folder / "a.jpg"): detections,
            str(folder / "b.jpg"): sv.Detections.empty(),
        },
    )


def dm_dataset() -> dm.Dataset:
    from datumaro.components.media import Image as DmImage

    def item(name, boxes):
        media = DmImage.from_numpy(np.zeros((H, W, 3), np.uint8))
        return dm.DatasetItem(id=name, media=media, annotations=boxes)

    return dm.Dataset.from_iterable(
        [item("a", [dm.Bbox(*CAR, label=0), dm.Bbox(*TRUCK, label=1)]), item("b", [])],
        categories=["car", "truck"],
    )


def globox_set(*, scores=False) -> globox.AnnotationSet:
    def box(label, ltwh, confidence):
        return globox.BoundingBox.create(
            label=label, coords=ltwh, box_format=globox.BoxFormat.LTWH,
            confidence=confidence if scores else None,
        )  # fmt: skip

    a = globox.Annotation(
        image_id="a.jpg", image_size=(W, H), boxes=[box("car", CAR, 0.9), box("truck", TRUCK, 0.3)]
    )
    return globox.AnnotationSet([a, globox.Annotation(image_id="b.jpg", image_size=(W, H))])


# -- COCO -----------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["supervision", "datumaro", "globox"])
def test_coco_from_three_writers(tmp_path, writer, caplog):
    if writer == "supervision":
        sv_dataset(tmp_path / "images").as_coco(annotations_path=str(tmp_path / "labels.json"))
        path = tmp_path / "labels.json"
    elif writer == "datumaro":
        with caplog.at_level(logging.ERROR):
            dm_dataset().export(str(tmp_path / "dm"), "coco_instances")
        path = tmp_path / "dm/annotations/instances_default.json"
    else:
        globox_set().save_coco(tmp_path / "labels.json", auto_ids=True)
        path = tmp_path / "labels.json"
    sets = parse_coco(path.read_bytes())
    got = boxes_by_image(sets)
    if writer == "datumaro":  # datumaro names images by item id plus its extension
        got = {k if k.endswith(".jpg") else f"{k}.jpg": v for k, v in got.items()}
    assert got == EXPECTED  # b.jpg: a label set with no box; c.jpg: none at all
    assert sets.raters == [] and (sets.set_rater == -1).all()


RAW = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": W, "height": H, "rater_list": ["ann", "bob"]},
        {"id": 2, "file_name": "b.jpg", "width": W, "height": H, "rater_list": ["ann", "bob"]},
    ],
    "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "truck"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": list(CAR), "rater": "ann"},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": list(TRUCK), "rater": "ann"},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [12, 21, 98, 50], "rater": "bob"},
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [5, 5, 20, 20], "rater": "bob"},
    ],
}


def test_raw_coco_is_the_layout_kalphacv_reads(tmp_path):
    from kalphacv import calculate_iaa_from_annotations

    (tmp_path / "raw.json").write_text(json.dumps(RAW))
    alpha = calculate_iaa_from_annotations(
        mode="bbox",
        source_annotation_path=str(tmp_path / "raw.json"),
        images_rater_key="rater_list",
        annotations_rater_key="rater",
        silent=True,
    )[0.5]
    assert -1 <= alpha < 1  # kalphacv reads the fixture: ann and bob disagree on a truck
    unlabeled = {"id": 3, "file_name": "c.jpg", "width": W, "height": H, "rater_list": []}
    sets = parse_coco(json.dumps({**RAW, "images": [*RAW["images"], unlabeled]}).encode(), raw=True)
    got = boxes_by_image(sets, rater=True)
    assert got == {
        ("a.jpg", "ann"): [("car", *CAR), ("truck", *TRUCK)],
        ("a.jpg", "bob"): [("car", 12.0, 21.0, 98.0, 50.0)],
        ("b.jpg", "ann"): [],  # listed in rater_list, no annotation: labeled as empty
        ("b.jpg", "bob"): [("car", 5.0, 5.0, 20.0, 20.0)],
    }  # c.jpg: nobody in its rater_list, so not labeled by anyone


def test_raw_coco_needs_a_rater_on_every_annotation():
    broken = json.loads(json.dumps(RAW))
    del broken["annotations"][2]["rater"]
    with pytest.raises(LabelFileError, match="annotation 3 has no rater"):
        parse_coco(json.dumps(broken).encode(), raw=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"{", "not valid JSON"),
        (b'{"images": [], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}],'
         b' "categories": [{"id": 1, "name": "car"}]}', "not list"),
        (b'{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, '
         b'"category_id": 9, "bbox": [1, 2, 3, 4]}], "categories": []}', "category_id 9"),
        (b'{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, '
         b'"category_id": 1, "bbox": [1, 2, NaN, 4]}], "categories": []}', "NaN"),
        (b'{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, '
         b'"category_id": 1, "bbox": [1, 2, 1e400, 4]}], "categories": [{"id": 1, "name": "c"}]}',
         "not finite"),
        (b"[1, 2]", "predictions format"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)  # fmt: skip
def test_broken_coco_files_are_refused_with_a_reason(text, message):
    with pytest.raises(LabelFileError, match=message):
        parse_coco(text)


# -- YOLO -----------------------------------------------------------------------------------


def test_yolo_written_by_supervision_with_its_data_yaml(tmp_path):
    sv_dataset(tmp_path / "src").as_yolo(
        images_directory_path=str(tmp_path / "ds/images"),
        annotations_directory_path=str(tmp_path / "ds/labels"),
        data_yaml_path=str(tmp_path / "ds/data.yaml"),
    )
    (sets,) = plan_read(tmp_path / "ds", "yolo")
    got = boxes_by_image(sets, stems=True)
    assert set(got) == {"a.jpg", "b.jpg"} and got["b.jpg"] == []
    for have, want in zip(got["a.jpg"], EXPECTED["a.jpg"], strict=True):  # 5 decimals of 640
        assert have[0] == want[0] and np.allclose(have[1:], want[1:], atol=0.01)


def test_yolo_written_by_datumaro_darknet_layout_with_obj_names(tmp_path, caplog):
    with caplog.at_level(logging.ERROR):
        dm_dataset().export(str(tmp_path / "ds"), "yolo", save_media=True)
    (sets,) = plan_read(tmp_path / "ds", "yolo")
    got = boxes_by_image(sets, stems=True)
    assert set(got) == {"a.jpg", "b.jpg"} and got["b.jpg"] == []
    for have, want in zip(got["a.jpg"], EXPECTED["a.jpg"], strict=True):
        assert have[0] == want[0] and np.allclose(have[1:], want[1:], atol=0.01)


def test_yolo_label_file_errors_refuse_that_file_only(tmp_path):
    folder = tmp_path / "ds"
    (folder / "labels").mkdir(parents=True)
    (folder / "data.yaml").write_text("names:\n  0: car\n  1: truck\n")
    (folder / "labels/a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (folder / "labels/b.txt").write_text("7 0.5 0.5 0.1 0.1\n")
    (folder / "labels/c.txt").write_text("0 0.5 0.5 0.1 0.1 0.9\n")
    (folder / "labels/d.txt").write_text("0 0.1 0.1 0.2 0.1 0.3 0.2 0.1 0.3\n")
    files, _ = upload_files([], [folder])
    (unit,) = upload_plan(fmt="yolo", files=files, labeler="x", options={})
    sets, refused = unit.read()
    assert boxes_by_image(sets, stems=True) == {"a.jpg": [("car", 288.0, 216.0, 64.0, 48.0)]}
    reasons = dict(refused)
    assert "class 7 is not in the names" in reasons["ds/labels/b.txt"]
    assert "import it as predictions" in reasons["ds/labels/c.txt"]
    assert "polygon" in reasons["ds/labels/d.txt"]


def test_yolo_without_class_names_is_refused(tmp_path):
    (tmp_path / "ds/labels").mkdir(parents=True)
    (tmp_path / "ds/labels/a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    files, _ = upload_files([], [tmp_path / "ds"])
    with pytest.raises(UploadRefused, match="need their class names"):
        upload_plan(fmt="yolo", files=files, labeler="x", options={})


# -- VOC ------------------------------------------------------------------------------------


def test_voc_written_by_supervision_is_one_based(tmp_path):
    sv_dataset(tmp_path / "src").as_pascal_voc(
        images_directory_path=str(tmp_path / "ds/JPEGImages"),
        annotations_directory_path=str(tmp_path / "ds/Annotations"),
    )
    (sets,) = plan_read(tmp_path / "ds", "voc")
    assert boxes_by_image(sets) == EXPECTED


@pytest.mark.parametrize("writer", ["datumaro", "globox"])
def test_voc_written_zero_based_by_datumaro_and_globox(tmp_path, writer, caplog):
    if writer == "datumaro":
        with caplog.at_level(logging.ERROR):
            dm_dataset().export(str(tmp_path / "ds"), "voc_detection", save_media=True)
    else:
        (tmp_path / "ds").mkdir()
        globox_set().save_pascal_voc(tmp_path / "ds/Annotations")
    (sets,) = plan_read(tmp_path / "ds", "voc", voc_coordinates="zero-based")
    # datumaro writes no XML for an image without objects but lists it in ImageSets/Main.
    assert boxes_by_image(sets, stems=True) == EXPECTED


# -- CVAT -----------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["datumaro", "globox"])
def test_cvat_written_by_datumaro_and_globox(tmp_path, writer, caplog):
    if writer == "datumaro":
        with caplog.at_level(logging.ERROR):
            dm_dataset().export(str(tmp_path / "ds"), "cvat")
        path = tmp_path / "ds/default.xml"
    else:
        globox_set().save_cvat(tmp_path / "cvat.xml")
        path = tmp_path / "cvat.xml"
    assert boxes_by_image(parse_cvat(path.read_bytes())) == EXPECTED


CVAT_DOCUMENTED = b"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>street</name><labels><label><name>car</name></label></labels></task></meta>
  <image id="0" name="street/a.jpg" width="640" height="480">
    <box label="car" source="manual" occluded="0" xtl="10.00" ytl="20.00" xbr="110.00"
         ybr="70.00" z_order="0" rotation="0.0"><attribute name="parked">true</attribute></box>
    <box label="truck" source="manual" occluded="1" xtl="300.00" ytl="200.00" xbr="420.00"
         ybr="290.00" z_order="1"></box>
    <box label="car" source="manual" occluded="0" xtl="1" ytl="1" xbr="5" ybr="5" rotation="30"/>
    <polygon label="car" source="manual" occluded="0" points="1,2;3,4;5,6" z_order="0"/>
    <tag label="night" source="manual"/>
  </image>
  <image id="1" name="street/b.jpg" width="640" height="480"></image>
</annotations>"""


def test_cvat_as_documented_leaves_out_other_shapes_with_a_note():
    sets = parse_cvat(CVAT_DOCUMENTED)
    assert boxes_by_image(sets) == {"street/a.jpg": EXPECTED["a.jpg"], "street/b.jpg": []}
    assert sets.notes == [
        "1 polygon left out: only boxes are imported",
        "1 tag left out: only boxes are imported",
        "1 rotated box left out",
    ]


def test_cvat_for_video_and_entities_are_refused():
    with pytest.raises(LabelFileError, match="CVAT for video"):
        parse_cvat(b"<annotations><track id='0' label='car'/></annotations>")
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><annotations>&x;</annotations>'
    with pytest.raises(LabelFileError, match="entities or a DTD"):
        parse_cvat(bomb)


# -- Label Studio ---------------------------------------------------------------------------


def rectangle(x, y, w, h, label, rotation=0):
    return {
        "id": "r1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
        "original_width": W, "original_height": H, "image_rotation": 0,
        "value": {"x": x / W * 100, "y": y / H * 100, "width": w / W * 100,
                  "height": h / H * 100, "rotation": rotation, "rectanglelabels": [label]},
    }  # fmt: skip


LABEL_STUDIO = [
    {
        "id": 1,
        "data": {"image": "/data/upload/3/8f3a2c1b-a.jpg"},
        "annotations": [
            {"id": 11, "completed_by": {"id": 1, "email": "ann@example.com"},
             "was_cancelled": False, "result": [rectangle(*CAR, "car"), rectangle(*TRUCK, "truck"),
                                                rectangle(1, 1, 9, 9, "car", rotation=15)]},
            {"id": 12, "completed_by": 2, "was_cancelled": False, "result": [
                rectangle(12, 21, 98, 50, "car"),
                {"type": "polygonlabels", "value": {"points": [[1, 2], [3, 4]]}}]},
            {"id": 13, "completed_by": 3, "was_cancelled": True, "result": []},
        ],
        "predictions": [{"result": []}],
        "file_upload": "8f3a2c1b-a.jpg",
    },
    {"id": 2, "data": {"image": "/data/local-files/?d=photos/b.jpg"},
     "annotations": [{"id": 21, "completed_by": 2, "was_cancelled": False, "result": []}]},
    {"id": 3, "data": {"image": "https://example.com/c.jpg"}, "annotations": []},
]  # fmt: skip


def test_label_studio_export_as_documented_with_annotators_named():
    sets = parse_labelstudio(json.dumps(LABEL_STUDIO).encode(), named_raters=True)
    got = boxes_by_image(sets, rater=True)
    assert set(got) == {("a.jpg", "ann@example.com"), ("a.jpg", "labelstudio-2"),
                        ("b.jpg", "labelstudio-2")}  # fmt: skip
    for have, want in zip(got["a.jpg", "ann@example.com"], EXPECTED["a.jpg"], strict=True):
        assert have[0] == want[0] and np.allclose(have[1:], want[1:])
    assert got["b.jpg", "labelstudio-2"] == []  # an empty result: nothing here
    assert sorted(sets.notes) == [
        "1 cancelled annotation left out",
        "1 polygonlabels result left out",
        "1 prediction left out",
        "1 rotated rectangle left out",
    ]


def test_label_studio_with_one_labeler_refuses_tasks_of_several_annotators():
    with pytest.raises(LabelFileError, match="task 1 has 2 annotations"):
        parse_labelstudio(json.dumps(LABEL_STUDIO).encode(), named_raters=False)
    one = [LABEL_STUDIO[1]]
    sets = parse_labelstudio(json.dumps(one).encode(), named_raters=False)
    assert boxes_by_image(sets) == {"b.jpg": []} and sets.raters == []


# -- predictions ----------------------------------------------------------------------------


def test_coco_results_list_checked_by_pycocotools(tmp_path):
    from pycocotools.coco import COCO

    globox_set().save_coco(tmp_path / "dataset.json", auto_ids=True)  # images, classes, no score
    detections = globox_set(scores=True).to_coco(auto_ids=True)["annotations"]
    results = [{k: a[k] for k in ("image_id", "category_id", "bbox", "score")} for a in detections]
    (tmp_path / "results.json").write_text(json.dumps(results))
    ground = COCO(str(tmp_path / "dataset.json"))
    assert len(ground.loadRes(str(tmp_path / "results.json")).getAnnIds()) == 2
    # A results list refers to ids; with the dataset beside it, they become names and classes.
    (sets,) = plan_read(tmp_path, "predictions", labeler="detector")
    got = boxes_by_image(sets)
    assert got == {"a.jpg": EXPECTED["a.jpg"], "b.jpg": []}  # b.jpg: run, nothing found
    assert sorted(sets.score.tolist()) == [0.3, 0.9]


def test_coco_results_without_a_dataset_use_concord_ids_and_class_order():
    results = [{"image_id": 41, "category_id": 2, "bbox": list(TRUCK), "score": 0.8}]
    sets = parse_coco_results(
        json.dumps(results).encode(), categories={1: "car", 2: "truck"}, images=None
    )
    assert [ref.concord_id for ref in sets.images] == [41]
    assert boxes_by_image(sets) == {"": [("truck", *TRUCK)]}


def test_yolo_predictions_with_confidence_written_by_globox(tmp_path):
    folder = tmp_path / "preds"
    (folder / "labels").mkdir(parents=True)
    globox_set(scores=True).save_yolo_v7(folder / "labels", label_to_id={"car": 0, "truck": 1})
    (folder / "classes.txt").write_text("car\ntruck\n")
    (sets,) = plan_read(folder, "predictions", labeler="detector")
    got = boxes_by_image(sets, stems=True)
    for have, want in zip(got["a.jpg"], EXPECTED["a.jpg"], strict=True):
        assert have[0] == want[0] and np.allclose(have[1:], want[1:], atol=1e-6)
    assert sorted(sets.score.tolist()) == [0.3, 0.9]


def test_a_yaml_bomb_in_data_yaml_is_refused(tmp_path):
    from imports.formats.yolo import yolo_names

    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nnames: [*c, *c]\n"
    with pytest.raises(LabelFileError, match="plain word"):
        yolo_names(bomb.encode(), "data.yaml")
