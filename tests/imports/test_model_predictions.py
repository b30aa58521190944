"""A model's predictions: imported as a model rater, compared with the consensus, never a
labeler (not in consensus, K-alpha, the queue's counts or anyone's figures)."""

import json

import pytest

from annotations.models import Annotation, Box
from imports.models import ImportedRater
from quality.models import Flag, FlagLabeler, ImageAgreement, LabelerAgreement, ModelComparison
from quality.selectors.feedback import labeler_feedback
from quality.selectors.labels import images_labels
from quality.selectors.report import project_report
from tests.exports.helpers import fetch_coco
from tests.imports.conftest import report_of

pytestmark = pytest.mark.django_db

W, H = 640, 480


def coco(boxes: dict) -> bytes:
    names = list(boxes)
    return json.dumps({
        "images": [{"id": k, "file_name": n, "width": W, "height": H} for k, n in enumerate(names, 1)],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "truck"}],
        "annotations": [
            {"id": 1, "image_id": names.index(n) + 1, "category_id": 1 if c == "car" else 2,
             "bbox": [x, y, w, h]}
            for n, rows in boxes.items() for c, x, y, w, h in rows
        ],
    }).encode()  # fmt: skip


@pytest.fixture
def labeled(project, images, run_import):
    """a.jpg: both vendors box a car (10, 20, 100, 50) and a truck; b.jpg: nothing."""
    a = {"a.jpg": [("car", 10, 20, 100, 50), ("truck", 300, 200, 120, 90)], "b.jpg": []}
    b = {"a.jpg": [("car", 11, 20, 100, 50), ("truck", 301, 200, 120, 90)], "b.jpg": []}
    report_of(
        run_import(project, {"vendor_a.json": coco(a), "vendor_b.json": coco(b)}, format="coco")
    )
    return images


def predictions(images, rows):
    """A COCO results list on Concord's image ids, category ids 1..N in class order."""
    return json.dumps([
        {"image_id": images[name].pk, "category_id": 1 if c == "car" else 2,
         "bbox": [x, y, w, h], "score": s}
        for name, c, x, y, w, h, s in rows
    ]).encode()  # fmt: skip


RESULTS = [
    ("a", "car", 10, 20, 100, 50, 0.97),  # agrees with the consensus car
    ("a", "car", 300, 201, 120, 90, 0.91),  # calls the consensus truck a car
    ("a", "truck", 500, 50, 60, 60, 0.88),  # an object no labeler boxed
    ("a", "car", 200, 400, 30, 30, 0.2),  # below the threshold: left out
    ("b", "car", 5, 5, 40, 40, 0.6),  # b.jpg was labeled empty: the model finds a car
]


def test_predictions_raise_model_flags_and_never_count_as_a_labeler(
    project, labeled, run_import, labeler_a
):
    before = dict(ImageAgreement.objects.values_list("image_id", "score"))
    kalpha = project.agreement.kalpha
    report = report_of(run_import(
        project, {"detector.json": predictions(labeled, RESULTS)}, format="predictions",
        labeler="detector-v2", score_threshold=0.5,
    ))  # fmt: skip
    (entry,) = report["units"]
    assert entry["boxes"] == 4 and entry["skipped"][0] == {
        "reason": "predictions below the score threshold",
        "count": 1,
        "examples": ["under 0.5"],
    }
    assert report.get("assessment_run") is None  # labels did not change: compared at once
    rater = ImportedRater.objects.get(name="detector-v2")
    assert (rater.kind, rater.score_threshold) == ("model", 0.5)
    assert not rater.user.is_active
    assert set(Annotation.objects.filter(labeler=rater.user).values_list("kind", flat=True)) == {
        "model"
    }
    assert sorted(
        Box.objects.filter(annotation__labeler=rater.user).values_list("score", flat=True)
    ) == [0.6, 0.88, 0.91, 0.97]

    flags = {f.message: f for f in Flag.objects.filter(kind="model_disagrees")}
    assert set(flags) == {
        "Model detector-v2 calls car (score 0.91) an object the labelers agreed is a truck",
        "Model detector-v2 found a truck (score 0.88) that no labeler boxed",
        "Model detector-v2 found a car (score 0.60) that no labeler boxed",
    }
    assert not FlagLabeler.objects.filter(flag__kind="model_disagrees").exists()
    a = labeled["a"]
    assert ImageAgreement.objects.get(image=a).open_flag_count == Flag.objects.filter(
        image=a, status="open").count()  # fmt: skip

    # Never a labeler: the engine's input, scores, K-alpha, labelers' rows and the queue.
    (labels,) = images_labels(image_ids=[a.pk])
    assert "detector-v2" not in labels.batch.labeler_names
    assert dict(ImageAgreement.objects.values_list("image_id", "score")) == before
    from quality.services.summary import project_summarize

    assert project_summarize(project=project).kalpha == pytest.approx(kalpha)
    assert "detector-v2" not in set(
        LabelerAgreement.objects.values_list("labeler__username", flat=True)
    )
    a.refresh_from_db()
    assert a.label_set_count == 2
    assert labeler_feedback(user=labeler_a, project=project) == []

    # The report: model against consensus, per class.
    (model,) = project_report(project=project)["models"]
    assert model["model"] == "detector-v2" and model["images"] == 2
    per_class = {c["name"]: c for c in model["per_class"]}
    assert (
        per_class["car"]["consensus"],
        per_class["car"]["predicted"],
        per_class["car"]["agreed"],
    ) == (1, 3, 1)
    assert per_class["car"]["unboxed"] == 1 and per_class["truck"]["other_class"] == 1
    assert per_class["truck"]["unboxed"] == 1 and per_class["truck"]["recall"] == 0
    assert model["overall"]["f1"] == pytest.approx(2 * 1 / (2 + 4))


def test_a_threshold_change_recomputes_and_keeps_model_flags_in_step(
    project, labeled, run_import, django_capture_on_commit_callbacks
):
    run_import(
        project, {"d.json": predictions(labeled, RESULTS)}, format="predictions", labeler="det"
    )
    flag = Flag.objects.get(kind="model_disagrees", message__contains="truck (score 0.88)")
    from quality.enqueue import recompute_start

    with django_capture_on_commit_callbacks(execute=True):
        project.match_iou = 0.3
        project.save()
        recompute_start(project=project, reason="test")
    assert Flag.objects.get(pk=flag.pk).status == "open"  # found again: the same flag
    assert Flag.objects.filter(kind="model_disagrees").count() == 3
    assert ModelComparison.objects.filter(project=project).exists()


def test_model_boxes_stay_out_of_raw_exports_and_out_of_labelers_reach(
    client, project, labeled, run_import, lead, labeler_a
):
    run_import(
        project, {"d.json": predictions(labeled, RESULTS)}, format="predictions", labeler="det"
    )
    client.force_login(lead)
    raw = fetch_coco(client, project, source="raw")
    assert {a["rater"] for a in raw["annotations"]} == {"vendor_a", "vendor_b"}
    assert all("det" not in image["rater_list"] for image in raw["images"])
    client.force_login(labeler_a)
    mine = client.get(f"/projects/{project.slug}/my-work/")
    assert b"det" not in mine.content.replace(b"detail", b"")


def test_yolo_predictions_with_confidence(project, labeled, run_import):
    from tests.imports.conftest import zipped

    upload = zipped({
        "preds/classes.txt": b"car\ntruck\n",
        "preds/labels/a.txt": b"1 0.828125 0.166667 0.09375 0.125 0.93\n0 0.1 0.1 0.05 0.05 0.1\n",
        "preds/labels/b.txt": b"",
    })  # fmt: skip
    report = report_of(
        run_import(
            project,
            {"preds.zip": upload},
            format="predictions",
            labeler="yolo",
            score_threshold=0.5,
        )
    )
    assert report["totals"]["label_sets"] == 2 and report["totals"]["boxes"] == 1
    (flag,) = Flag.objects.filter(kind="model_disagrees")
    assert flag.message == "Model yolo found a truck (score 0.93) that no labeler boxed"
