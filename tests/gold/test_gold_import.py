"""Gold from an import: a COCO, YOLO or VOC file's boxes become the true boxes of the images it
names (imports with target "gold"), through the one writer of gold (gold.services)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotations.models import Annotation
from gold.models import GoldAnswer, GoldImage, LabelerGold
from quality.models import AgreementRun
from tests.gold.conftest import TRUE, answer, boxes_payload, policy, take
from tests.imports.conftest import report_of, zipped

pytestmark = pytest.mark.django_db

W, H = 640, 480


def coco(boxes: dict, *, categories=("car", "truck")) -> bytes:
    """A COCO file: boxes {file name: [(class name, x, y, w, h)]}; every name listed."""
    names = list(boxes)
    cats = {name: k for k, name in enumerate(categories, start=1)}
    annotations = [
        {"id": n, "image_id": names.index(name) + 1, "category_id": cats[c], "bbox": [x, y, w, h]}
        for n, (name, (c, x, y, w, h)) in enumerate(
            ((name, box) for name, rows in boxes.items() for box in rows), start=1
        )
    ]
    return json.dumps({
        "images": [{"id": k, "file_name": n, "width": W, "height": H} for k, n in enumerate(names, 1)],
        "annotations": annotations,
        "categories": [{"id": k, "name": name} for name, k in cats.items()],
    }).encode()  # fmt: skip


def true_coco(image, boxes=TRUE) -> bytes:
    names = ("car", "truck")
    return coco({image.original_name: [(names[c], *xywh) for c, xywh in boxes]})


def stored(gold: GoldImage) -> list[tuple]:
    return sorted(
        (b.label_class.name, b.x, b.y, b.width, b.height)
        for b in gold.boxes.select_related("label_class")
    )


def test_a_coco_file_makes_its_images_gold_with_its_boxes(
    project, classes, images, lead, run_import
):
    data = coco({
        images[0].original_name: [("car", 10, 10, 100, 80), ("truck", 300, 200, 80, 60)],
        images[1].original_name: [],  # listed with no box: gold that holds nothing
    })  # fmt: skip
    run = run_import(project, {"gold.json": data}, format="coco", target="gold")
    report = report_of(run)
    assert run.reason.startswith("Gold import (coco)")
    assert report["totals"]["gold_images"] == 2 and report["totals"]["gold_created"] == 2
    assert report["totals"]["boxes"] == 2 and "assessment_run" not in report
    gold = GoldImage.objects.get(image=images[0])
    assert (gold.source, gold.version, gold.active, gold.created_by) == ("import", 1, True, lead)
    assert stored(gold) == [("car", 10, 10, 100, 80), ("truck", 300, 200, 80, 60)]
    assert stored(GoldImage.objects.get(image=images[1])) == []
    # Gold is no rater's labels: no label set, no import-only labeler, no recompute.
    assert not Annotation.objects.exists()
    assert not AgreementRun.objects.filter(kind="recompute").exists()


def test_yolo_and_voc_gold(project, classes, images, run_import):
    stem = images[0].original_name.rsplit(".", 1)[0]
    yolo = zipped({
        "ds/data.yaml": b"names: [car, truck]\n",
        f"ds/labels/{stem}.txt": b"1 0.5 0.5 0.25 0.25\n",
    })  # fmt: skip
    report_of(run_import(project, {"ds.zip": yolo}, format="yolo", target="gold"))
    assert stored(GoldImage.objects.get(image=images[0])) == [("truck", 240, 180, 160, 120)]
    name = images[1].original_name
    xml = (
        f"<annotation><filename>{name}</filename><size><width>{W}</width><height>{H}</height>"
        "<depth>3</depth></size><object><name>car</name><bndbox><xmin>11</xmin><ymin>21</ymin>"
        "<xmax>110</xmax><ymax>70</ymax></bndbox></object></annotation>"
    ).encode()
    voc = zipped({f"voc/Annotations/{stem}x.xml": xml})
    report_of(run_import(project, {"voc.zip": voc}, format="voc", target="gold"))
    ((label, x, y, w, h),) = stored(GoldImage.objects.get(image=images[1]))
    assert (label, x, y) == ("car", 10, 20) and 99 <= w <= 100 and 49 <= h <= 50


def test_importing_new_boxes_raises_the_version_and_rescores_past_answers(
    project, classes, acknowledged, images, lead, api_a, labeler_a, run_import
):
    report_of(run_import(project, {"g.json": true_coco(images[0])}, format="coco", target="gold"))
    policy(project, qualification_size=1, rate=0.0, min_images=1)
    body = take(api_a, project).json()
    # labeler_a calls the second object a car: wrong by this gold, the qualification fails.
    answer(api_a, body["annotation"], boxes_payload(classes, [TRUE[0], (0, TRUE[1][1])]))
    row = GoldAnswer.objects.get()
    assert (row.correct, row.gold_version) == (1, 1)
    assert LabelerGold.objects.get(labeler=labeler_a).state == "paused"
    # The lead imports a corrected file: both objects are cars.
    fixed = true_coco(images[0], [(0, TRUE[0][1]), (0, TRUE[1][1])])
    report = report_of(run_import(project, {"g.json": fixed}, format="coco", target="gold"))
    assert report["totals"]["gold_changed"] == 1
    assert GoldImage.objects.get(image=images[0]).version == 2
    row.refresh_from_db()
    assert (row.correct, row.units, row.gold_version) == (2, 2, 2)
    assert LabelerGold.objects.get(labeler=labeler_a).state == "active"
    # The same file again changes nothing.
    report = report_of(run_import(project, {"g.json": fixed}, format="coco", target="gold"))
    assert report["units"][0]["gold_unchanged"] == 1 and report["totals"]["gold_changed"] == 0
    assert GoldImage.objects.get(image=images[0]).version == 2


def test_unknown_images_and_classes_and_bad_files_are_reported(
    project, classes, images, run_import
):
    data = coco({images[0].original_name: [("car", 1, 1, 20, 20)], "elsewhere.jpg": []})
    (entry,) = report_of(run_import(project, {"g.json": data}, format="coco", target="gold"))[
        "units"
    ]
    assert entry["status"] == "imported" and entry["gold_images"] == 1
    assert entry["skipped"][0]["examples"] == ["elsewhere.jpg"]
    assert "no image of the project" in entry["skipped"][0]["reason"]

    bus = coco({images[1].original_name: [("bus", 1, 1, 20, 20)]}, categories=("bus",))
    (entry,) = report_of(run_import(project, {"b.json": bus}, format="coco", target="gold"))[
        "units"
    ]
    assert entry["status"] == "refused" and entry["unknown_classes"] == {"bus": 1}
    assert not GoldImage.objects.filter(image=images[1]).exists()

    (entry,) = report_of(
        run_import(project, {"x.json": b"{not json"}, format="coco", target="gold")
    )["units"]
    assert entry["status"] == "refused" and entry["reason"]


def test_a_file_gold_cannot_take_is_refused_whole_naming_the_image(
    project, classes, images, run_import
):
    data = coco({
        images[0].original_name: [("car", 1, 1, 20, 20)],
        images[1].original_name: [("car", 10, 10, 100, 80), ("truck", 11, 10, 100, 80)],
    })  # fmt: skip
    (entry,) = report_of(run_import(project, {"g.json": data}, format="coco", target="gold"))[
        "units"
    ]
    assert entry["status"] == "refused"
    assert images[1].original_name in entry["reason"] and "overlap" in entry["reason"]
    assert not GoldImage.objects.exists()  # all or nothing


@pytest.fixture
def api():
    return APIClient()


def post(api, project, user, **data):
    api.force_authenticate(user)
    return api.post(
        f"/api/projects/{project.pk}/imports/",
        {"format": "coco", "target": "gold", **data},
        format="multipart",
    )


def test_api_gold_import_by_the_lead(
    api, project, classes, images, lead, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("gold.json", true_coco(images[0]))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, project, lead, files=[upload])
    assert response.status_code == 202, response.json()
    run = api.get(f"/api/runs/{response.json()['run']}/").json()
    assert run["state"] == "succeeded" and run["report"]["totals"]["gold_images"] == 1
    listed = api.get(f"/api/projects/{project.pk}/gold/").json()
    assert [g["source"] for g in listed["results"]] == ["import"]


@pytest.mark.parametrize(
    ("who", "status"), [("labeler_a", 403), ("engineer", 403), ("outsider", 404), (None, 401)]
)
def test_only_leads_import_gold(api, project, classes, images, who, status, request):
    user = request.getfixturevalue(who) if who else None
    upload = SimpleUploadedFile("gold.json", true_coco(images[0]))
    response = post(api, project, user, files=[upload])
    assert response.status_code == status
    assert not GoldImage.objects.exists()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"target": "truth"}, "target"),
        ({"format": "cvat"}, "gold can be imported from coco, yolo, voc"),
        ({"format": "predictions"}, "gold can be imported from"),
    ],
)
def test_bad_gold_requests_are_400(api, project, classes, images, lead, data, words):
    upload = SimpleUploadedFile("gold.json", true_coco(images[0]))
    response = post(api, project, lead, files=[upload], **data)
    assert response.status_code == 400
    assert words in json.dumps(response.json())


def test_the_gold_api_does_not_take_source_import(api, project, classes, images, lead):
    api.force_authenticate(lead)
    response = api.post(
        f"/api/projects/{project.pk}/gold/",
        {"image": images[0].pk, "source": "import", "boxes": boxes_payload(classes)},
        format="json",
    )
    assert response.status_code == 400 and not GoldImage.objects.exists()


def test_manage_py_import_gold_needs_a_lead(project, classes, images, lead, labeler_a, tmp_path):
    path = tmp_path / "gold.json"
    path.write_bytes(true_coco(images[0]))
    for user in ([], ["--user", labeler_a.username]):
        with pytest.raises(CommandError, match="lead"):
            call_command(
                "import", project.slug, str(path), "--format", "coco", "--target", "gold", *user
            )
    assert not GoldImage.objects.exists()
    call_command(
        "import", project.slug, str(path), "--format", "coco", "--target", "gold",
        "--user", lead.username,
    )  # fmt: skip
    assert stored(GoldImage.objects.get(image=images[0])) == [
        ("car", 10, 10, 100, 80),
        ("truck", 300, 200, 80, 60),
    ]


def test_the_lead_imports_gold_from_the_page(
    client, project, classes, images, lead, labeler_a, django_capture_on_commit_callbacks
):
    url = f"/projects/{project.slug}/import/"
    client.force_login(labeler_a)
    assert client.get(url).status_code == 403
    client.force_login(lead)
    assert b'name="target" value="gold"' in client.get(url).content
    upload = SimpleUploadedFile("truth.json", true_coco(images[0]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"files": [upload], "format": "coco", "target": "gold"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Gold import (coco) of truth.json" in page
    assert "<strong>1</strong> gold images" in page and "1 gold" in page
    assert GoldImage.objects.get().source == "import"
    response = client.post(url, {"files": [upload], "format": "cvat", "target": "gold"})
    assert response.status_code == 400 and b"gold can be imported from coco" in response.content
