"""Importing labels end to end (services and task, eager): images, raters, classes, empty and
missing label files, re-imports, and the assessment that follows."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations.models import Annotation, Box
from imports.models import ImportedRater
from projects.models import Image, LabelClass, Membership
from quality.models import AgreementRun, Flag, ImageAgreement, LabelerAgreement
from quality.selectors.flag_queue import flag_filter_choices
from tests.images import jpeg_bytes
from tests.imports.conftest import report_of, zipped

pytestmark = pytest.mark.django_db

W, H = 640, 480


def coco(boxes: dict, *, names=("a.jpg", "b.jpg"), categories=("car", "truck")) -> bytes:
    """A one-labeler COCO file: boxes {file name: [(class, x, y, w, h)]}; every name listed."""
    cats = {name: k for k, name in enumerate(categories, start=1)}
    images = [
        {"id": k, "file_name": name, "width": W, "height": H}
        for k, name in enumerate(names, start=1)
    ]
    annotations = [
        {"id": n, "image_id": names.index(name) + 1, "category_id": cats[c], "bbox": [x, y, w, h]}
        for n, (name, (c, x, y, w, h)) in enumerate(
            ((name, box) for name, rows in boxes.items() for box in rows), start=1
        )
    ]
    categories = [{"id": k, "name": name} for name, k in cats.items()]
    return json.dumps(
        {"images": images, "annotations": annotations, "categories": categories}
    ).encode()


VENDOR_A = coco({"a.jpg": [("car", 10, 20, 100, 50), ("truck", 300, 200, 120, 90)]})
VENDOR_B = coco({"a.jpg": [("car", 12, 21, 98, 50)]})


def sets_of(username):
    return {
        a.image.original_name: sorted(
            (b.label_class.name, b.x, b.y, b.width, b.height) for b in a.boxes.all()
        )
        for a in Annotation.objects.filter(labeler__username=username).select_related("image")
    }


def test_two_vendor_files_become_two_import_only_labelers_and_are_assessed(
    project, images, run_import
):
    run = run_import(project, {"vendor_a.json": VENDOR_A, "vendor_b.json": VENDOR_B}, format="coco")
    report = report_of(run)
    assert report["totals"]["raters_created"] == ["vendor_a", "vendor_b"]
    assert report["totals"]["label_sets"] == 4 and report["totals"]["boxes"] == 3
    assert sets_of("vendor_a") == {
        "a.jpg": [("car", 10, 20, 100, 50), ("truck", 300, 200, 120, 90)],
        "b.jpg": [],  # listed without annotations: labeled as holding nothing
    }
    # Not listed: not labeled, so no label set at all for c.jpg and d.jpg.
    assert not Annotation.objects.filter(image__original_name__in=["c.jpg", "d.jpg"]).exists()
    assert Annotation.objects.filter(status="submitted", kind="label").count() == 4

    # The recompute the import started assessed the complete images: flags and figures.
    assessment = AgreementRun.objects.get(pk=report["assessment_run"])
    assert (assessment.kind, assessment.state) == ("recompute", "succeeded")
    scores = dict(ImageAgreement.objects.values_list("image__original_name", "score"))
    assert scores["b.jpg"] == 1.0 and scores["a.jpg"] < 1.0
    missing = Flag.objects.get(image=images["a"], kind="missing")
    assert missing.deviating_usernames == [] or missing.deviating_usernames == ["vendor_b"]
    assert "vendor_b" in missing.message
    assert set(LabelerAgreement.objects.values_list("labeler__username", flat=True)) == {
        "vendor_a",
        "vendor_b",
    }
    # The flag queue's labeler filter offers them, though they are no members.
    choices = [name for _, name in flag_filter_choices(project=project)["labelers"]]
    assert {"vendor_a", "vendor_b"} <= set(choices)


def test_import_only_labelers_cannot_log_in_and_are_never_given_the_queue(
    client, project, images, run_import
):
    run_import(project, {"vendor_a.json": VENDOR_A, "vendor_b.json": VENDOR_B}, format="coco")
    for name in ("vendor_a", "vendor_b"):
        user = get_user_model().objects.get(username=name)
        assert not user.is_active and not user.has_usable_password()
        assert not Membership.objects.filter(user=user).exists()
        rater = ImportedRater.objects.get(user=user)
        assert (rater.kind, rater.project, rater.name) == ("labeler", project, name)
        client.force_login(user)  # even with a session, an inactive user is no one
        response = client.post(f"/api/projects/{project.pk}/queue/next/")
        assert response.status_code in (401, 403, 404)


def test_an_existing_labeler_is_credited_and_other_members_are_refused(
    project, images, run_import, labeler_a, engineer
):
    report = report_of(
        run_import(project, {"x.json": VENDOR_A}, format="coco", labeler="labeler_a")
    )
    assert report["totals"]["raters_created"] == []
    assert sets_of("labeler_a")["a.jpg"] == [("car", 10, 20, 100, 50), ("truck", 300, 200, 120, 90)]
    report = report_of(run_import(project, {"x.json": VENDOR_B}, format="coco", labeler="engineer"))
    (entry,) = report["units"]
    assert entry["status"] == "refused" and "ml engineer of this project" in entry["reason"]
    assert not Annotation.objects.filter(labeler=engineer).exists()


def test_importing_again_adds_nothing_twice(project, images, run_import):
    run_import(project, {"x.json": VENDOR_A}, format="coco", labeler="vendor_a")
    report = report_of(run_import(project, {"x.json": VENDOR_A}, format="coco", labeler="vendor_a"))
    (entry,) = report["units"]
    assert entry["status"] == "nothing" and entry["label_sets"] == 0
    (skipped,) = entry["skipped"]
    assert skipped["count"] == 2 and "already has labels" in skipped["reason"]
    assert Annotation.objects.count() == 2 and Box.objects.count() == 2
    assert get_user_model().objects.filter(username__startswith="vendor_a").count() == 1


def test_images_in_the_zip_are_added_once_and_matched_by_content(project, classes, run_import):
    picture = jpeg_bytes(W, H)
    upload = zipped({"vendor/images/street.jpg": picture, "vendor/labels.json": coco(
        {"street.jpg": [("car", 1, 2, 30, 40)]}, names=("street.jpg",))})  # fmt: skip
    report = report_of(run_import(project, {"vendor.zip": upload}, format="coco", labeler="v1"))
    assert (report["images"]["added"], report["images"]["matched"]) == (1, 0)
    # The same picture under another name, labeled by someone else: no second image.
    again = zipped({"renamed.jpg": picture, "labels.json": coco(
        {"renamed.jpg": [("car", 1, 2, 30, 40)]}, names=("renamed.jpg",))})  # fmt: skip
    report = report_of(run_import(project, {"again.zip": again}, format="coco", labeler="v2"))
    assert (report["images"]["added"], report["images"]["matched"]) == (0, 1)
    image = Image.objects.get(project=project)
    assert image.original_name.endswith("/images/street.jpg")
    assert set(image.annotations.values_list("labeler__username", flat=True)) == {"v1", "v2"}


def test_unknown_classes_refused_with_counts_and_nothing_written(project, images, run_import):
    labels = coco({"a.jpg": [("bus", 1, 1, 10, 10), ("bus", 5, 5, 10, 10), ("car", 1, 1, 9, 9)]},
                  categories=("car", "bus"))  # fmt: skip
    report = report_of(run_import(project, {"x.json": labels}, format="coco", labeler="v"))
    (entry,) = report["units"]
    assert entry["status"] == "refused" and entry["unknown_classes"] == {"bus": 2}
    assert "bus (2)" in entry["reason"]
    assert not Annotation.objects.exists()
    assert not get_user_model().objects.filter(username="v").exists()  # all or nothing
    assert report.get("assessment_run") is None


def test_unknown_classes_added_or_ignored_as_chosen(project, images, run_import):
    labels = coco(
        {"a.jpg": [("Bus", 1, 1, 10, 10), ("CAR", 1, 1, 9, 9)]}, categories=("CAR", "Bus")
    )
    report = report_of(
        run_import(
            project, {"x.json": labels}, format="coco", labeler="v1", unknown_classes="ignore"
        )
    )
    (entry,) = report["units"]
    assert entry["boxes"] == 1 and entry["skipped"][0]["count"] == 1
    assert sets_of("v1")["a.jpg"] == [("car", 1, 1, 9, 9)]  # names match without case
    report = report_of(
        run_import(project, {"x.json": labels}, format="coco", labeler="v2", unknown_classes="add")
    )
    assert report["totals"]["classes_added"] == ["Bus"]
    assert LabelClass.objects.filter(project=project, name="Bus").exists()
    assert sets_of("v2")["a.jpg"] == [("Bus", 1, 1, 10, 10), ("car", 1, 1, 9, 9)]


def test_label_sets_on_unknown_images_or_another_size_are_skipped_and_said_why(
    project, images, run_import
):
    labels = json.loads(
        coco({"a.jpg": [("car", 1, 1, 10, 10)]}, names=("a.jpg", "zzz.jpg", "b.jpg"))
    )
    labels["images"][2]["width"] = 480
    labels["images"][2]["height"] = 640  # as if rotated
    report = report_of(
        run_import(project, {"x.json": json.dumps(labels).encode()}, format="coco", labeler="v")
    )
    (entry,) = report["units"]
    assert entry["label_sets"] == 1
    reasons = {s["reason"]: s for s in entry["skipped"]}
    assert any(
        "no image of the project" in r and s["examples"] == ["zzz.jpg"] for r, s in reasons.items()
    )
    assert any("another size" in r for r in reasons)


def test_boxes_are_clipped_to_the_image_and_boxes_outside_are_counted(project, images, run_import):
    labels = coco({"a.jpg": [("car", -5, 470, 20, 30), ("car", 700, 10, 5, 5)]})
    report = report_of(run_import(project, {"x.json": labels}, format="coco", labeler="v"))
    assert sets_of("v")["a.jpg"] == [("car", 0, 470, 15, 10)]
    assert report["units"][0]["skipped"][0]["reason"] == "boxes with nothing inside the image"


def test_yolo_dataset_bad_label_file_refused_alone(project, images, run_import):
    upload = zipped({
        "ds/data.yaml": b"names: [car, truck]\n",
        "ds/labels/a.txt": b"1 0.5 0.5 0.25 0.25\n",
        "ds/labels/b.txt": b"",
        "ds/labels/c.txt": b"0 half 0.5 0.1 0.1\n",
    })  # fmt: skip
    report = report_of(run_import(project, {"ds.zip": upload}, format="yolo", labeler="v"))
    (entry,) = report["units"]
    assert entry["status"] == "imported" and entry["label_sets"] == 2
    assert (
        entry["refused_file_count"] == 1
        and entry["refused_files"][0]["name"] == "ds/ds/labels/c.txt"
    )
    assert sets_of("v") == {"a.jpg": [("truck", 240, 180, 160, 120)], "b.jpg": []}


def test_raw_coco_names_its_labelers(project, images, run_import):
    raw = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": W, "height": H, "rater_list": ["ann", "bob"]}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "rater": "ann"}],
    }  # fmt: skip
    report = report_of(
        run_import(project, {"raw.json": json.dumps(raw).encode()}, format="coco_raw")
    )
    assert report["totals"]["raters_created"] == ["ann", "bob"]
    assert sets_of("ann") == {"a.jpg": [("car", 1, 1, 5, 5)]} and sets_of("bob") == {"a.jpg": []}


def test_one_file_without_a_labeler_fails_the_run_with_a_reason(project, images, run_import):
    run = run_import(project, {"x.json": VENDOR_A}, format="coco")
    assert run.state == "failed" and "name the labeler" in run.error


def test_manage_py_import_reads_files_and_folders(project, images, tmp_path, capsys):
    (tmp_path / "vendor_a.json").write_bytes(VENDOR_A)
    folder = tmp_path / "vendor_b"
    (folder / "labels").mkdir(parents=True)
    (folder / "data.yaml").write_text("names: [car, truck]\n")
    (folder / "labels/a.txt").write_text("0 0.1 0.1 0.05 0.05\n")
    call_command(
        "import", project.slug, str(tmp_path / "vendor_a.json"), "--format", "coco",
        "--labeler", "vendor_a",
    )  # fmt: skip
    assert "2 label sets (1 empty), 2 boxes" in capsys.readouterr().out
    assert set(sets_of("vendor_a")) == {"a.jpg", "b.jpg"}
    call_command("import", project.slug, str(folder), "--format", "yolo", "--labeler", "vendor_b")
    assert sets_of("vendor_b") == {"a.jpg": [("car", 48, 36, 32, 24)]}
