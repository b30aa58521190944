"""import(export(project)) gives back the same boxes and the same agreement, for every format.

A project labeled by two labelers (integer boxes, so even VOC's whole pixels are exact) is
exported as each format with its images, then imported into a new project with the same two
labelers: every label set comes back within the format's precision (COCO 1/100 px, YOLO six
decimals of the image size, VOC whole pixels), and the images' agreement scores, flags and
K-alpha are the same.
"""

import io
import json
import zipfile

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image as PILImage

from annotations.models import Annotation
from exports.names import base_name
from imports.enqueue import import_start
from imports.runs import import_options_clean
from projects.ingest import image_ingest_bytes
from projects.models import Image
from quality.models import ConsensusBox, Flag, ImageAgreement
from quality.services.assessment import images_assess
from quality.services.summary import project_summarize
from tests.exports.helpers import fetch
from tests.factories import (
    AnnotationFactory,
    BoxFactory,
    LabelClassFactory,
    MembershipFactory,
    ProjectFactory,
)

pytestmark = pytest.mark.django_db

SCENES = {
    "agree.png": {"a": [("car", 10, 20, 100, 50), ("truck", 300, 200, 120, 90)],
                  "b": [("car", 12, 21, 98, 50), ("truck", 302, 198, 118, 92)]},
    "conflict.png": {"a": [("car", 100, 100, 80, 60)], "b": [("truck", 101, 100, 80, 60)]},
    "missing.png": {"a": [("car", 50, 50, 40, 40), ("car", 400, 300, 60, 60)],
                    "b": [("car", 51, 50, 40, 40)]},
    "loose.png": {"a": [("car", 200, 100, 100, 100)], "b": [("car", 190, 90, 140, 130)]},
    "empty.png": {"a": [], "b": []},
    "row.png": {"a": [("car", 10, 300, 300, 80)],
                "b": [("car", 10, 300, 95, 80), ("car", 110, 300, 95, 80),
                      ("car", 215, 300, 95, 80)]},
}  # fmt: skip


def picture(project, name: str, *, seed: int) -> int:
    """A noise image ingested as an upload would be: its own content and perceptual hash, so
    no two look alike (the near-duplicate check runs on both sides)."""
    pixels = np.random.default_rng(seed).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, "PNG")
    return image_ingest_bytes(project=project, name=name, data=buffer.getvalue()).image_id


@pytest.fixture
def source(lead, labeler_a, labeler_b, project):
    car = LabelClassFactory(project=project, name="car", order=0)
    truck = LabelClassFactory(project=project, name="truck", order=1)
    classes = {"car": car, "truck": truck}
    users = {"a": labeler_a, "b": labeler_b}
    for k, (name, sets) in enumerate(SCENES.items()):
        image = Image.objects.get(pk=picture(project, name, seed=k))
        for who, boxes in sets.items():
            annotation = AnnotationFactory(
                image=image, labeler=users[who], status="submitted", submitted_at=timezone.now()
            )
            for c, x, y, w, h in boxes:
                BoxFactory(
                    annotation=annotation, label_class=classes[c], x=x, y=y, width=w, height=h
                )
    picture(project, "untouched.png", seed=99)
    images_assess(image_ids=list(project.images.values_list("pk", flat=True)))
    project_summarize(project=project)
    return project


@pytest.fixture
def target(lead, labeler_a, labeler_b):
    project = ProjectFactory(created_by=lead, labelers_per_image=2, slug="round-trip")
    MembershipFactory(project=project, user=lead, role="lead")
    for user in (labeler_a, labeler_b):
        MembershipFactory(project=project, user=user, role="labeler")
    return project


def exported(client, project, **params) -> bytes:
    response, body = fetch(client, project, include_images=1, **params)
    assert response.status_code == 200, body[:300]
    return body


def imported(project, lead, files: dict, capture, **options):
    uploads = [(name, SimpleUploadedFile(name, data)) for name, data in files.items()]
    with capture(execute=True):
        run = import_start(
            project=project,
            uploads=uploads,
            options=import_options_clean(unknown_classes="add", **options),
            requested_by=lead,
        )
    run.refresh_from_db()
    assert run.state == "succeeded", run.error
    assert not [u for u in run.params["report"]["units"] if u["status"] != "imported"]
    return run.params["report"]


def label_sets(project) -> dict:
    """{(image file name, labeler): sorted boxes} of the project's submitted label sets."""
    out = {}
    for annotation in Annotation.objects.filter(
        image__project=project, kind="label"
    ).select_related("image", "labeler"):
        out[base_name(annotation.image.original_name), annotation.labeler.username] = sorted(
            (b.label_class.name, b.x, b.y, b.width, b.height) for b in annotation.boxes.all()
        )
    return out


def assert_same_boxes(got: dict, want: dict, tolerance: float):
    assert set(got) == set(want)
    for key, boxes in want.items():
        assert len(got[key]) == len(boxes), key
        for have, expected in zip(got[key], boxes, strict=True):
            assert have[0] == expected[0], key
            assert have[1:] == pytest.approx(expected[1:], abs=tolerance), (key, have, expected)


def agreement(project) -> dict:
    scores = {
        base_name(name): score
        for name, score in ImageAgreement.objects.filter(image__project=project).values_list(
            "image__original_name", "score"
        )
    }
    flags = {}
    for name, kind in Flag.objects.filter(project=project).values_list(
        "image__original_name", "kind"
    ):
        flags.setdefault(base_name(name), []).append(kind)
    return {"scores": scores, "flags": {k: sorted(v) for k, v in flags.items()}}


def assert_same_agreement(source, target, tolerance=1e-9):
    want, got = agreement(source), agreement(target)
    assert got["flags"] == want["flags"]
    assert set(got["scores"]) == set(want["scores"])
    for name, score in want["scores"].items():
        assert got["scores"][name] == pytest.approx(score, abs=tolerance), name
    assert target.agreement.kalpha == pytest.approx(source.agreement.kalpha, abs=tolerance)
    assert target.agreement.images_assessed == source.agreement.images_assessed == len(SCENES)


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


@pytest.mark.parametrize(
    ("fmt", "tolerance", "score_tolerance"),
    # YOLO's six decimals move a box by up to 0.0003 px: scores by a few millionths.
    [("coco", 0.005, 1e-9), ("yolo", 0.002, 1e-4), ("voc", 0.0, 1e-9)],
)
def test_raw_export_imports_back_with_the_same_boxes_and_agreement(
    fmt,
    tolerance,
    score_tolerance,
    source,
    target,
    lead,
    lead_client,
    django_capture_on_commit_callbacks,
):
    body = exported(lead_client, source, format=fmt, source="raw")
    import_format = "coco_raw" if fmt == "coco" else fmt
    report = imported(
        target, lead, {f"export-{fmt}.zip": body}, django_capture_on_commit_callbacks,
        fmt=import_format,
    )  # fmt: skip
    assert report["images"]["added"] == len(SCENES)  # the untouched image is not exported
    assert report["totals"]["raters_created"] == []  # labeler_a and labeler_b are members
    assert_same_boxes(label_sets(target), label_sets(source), tolerance)
    target.refresh_from_db()
    assert_same_agreement(source, target, score_tolerance)


def test_coco_one_file_per_labeler_and_the_consensus_come_back(
    source, target, lead, lead_client, django_capture_on_commit_callbacks
):
    raw = zipfile.ZipFile(io.BytesIO(exported(lead_client, source, format="coco", source="raw")))
    document = json.loads(raw.read("annotations.json"))
    files = {
        name: raw.read(name) for name in raw.namelist() if name.startswith("images/")
    }  # the images, once
    per_labeler = {}
    for labeler in ("labeler_a", "labeler_b"):  # each rater's part, as one labeler's COCO file
        mine = {
            **document,
            "annotations": [a for a in document["annotations"] if a["rater"] == labeler],
        }
        per_labeler[f"{labeler}.json"] = json.dumps(mine).encode()
    images_zip = io.BytesIO()
    with zipfile.ZipFile(images_zip, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    imported(
        target, lead, {"images.zip": images_zip.getvalue(), **per_labeler},
        django_capture_on_commit_callbacks, fmt="coco",
    )  # fmt: skip
    assert_same_boxes(label_sets(target), label_sets(source), 0.005)
    target.refresh_from_db()
    assert_same_agreement(source, target)

    # The consensus export, imported as one more rater, is the source's consensus.
    consensus = exported(lead_client, source, format="coco")
    imported(target, lead, {"consensus.zip": consensus}, django_capture_on_commit_callbacks,
             fmt="coco", labeler="consensus_v1")  # fmt: skip
    want = {}
    tied = ConsensusBox.objects.filter(label_class__isnull=True).values("image_id")
    consensus_rows = ConsensusBox.objects.filter(image__project=source).exclude(image_id__in=tied)
    for row in consensus_rows.select_related("image", "label_class"):  # ties are withheld
        want.setdefault((row.image.original_name, "consensus_v1"), []).append(
            (row.label_class.name, row.x, row.y, row.width, row.height)
        )
    got = {k: v for k, v in label_sets(target).items() if k[1] == "consensus_v1" and v}
    assert_same_boxes(got, {k: sorted(v) for k, v in want.items()}, 0.005)
