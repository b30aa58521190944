"""An import through the API on a real Celery worker and Redis: the uploaded files reach the
worker through storage, the run reports, and the assessment it starts runs on the worker too."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from quality.models import AgreementRun, Flag, ImageAgreement
from tests.factories import ImageFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _labels(boxes) -> bytes:
    return json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "truck"}],
        "annotations": [{"id": k, "image_id": 1, "category_id": c, "bbox": b}
                        for k, (c, b) in enumerate(boxes, start=1)],
    }).encode()  # fmt: skip


def _finished(run_id: int, timeout: float = 60.0) -> AgreementRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = AgreementRun.objects.get(pk=run_id)
        if run.state in ("succeeded", "failed"):
            return run
        time.sleep(0.2)
    pytest.fail(f"run {run_id} did not finish in {timeout} s")


@pytest.fixture
def shared_media(settings):
    """The worker process keeps the media root it started with: store uploads there."""
    root = Path(os.environ.get("MEDIA_ROOT", settings.BASE_DIR / "media"))
    settings.MEDIA_ROOT = root
    yield root
    shutil.rmtree(root / "imports", ignore_errors=True)


def test_two_vendor_import_is_carried_out_and_assessed_by_the_worker(
    project, classes, lead, shared_media
):
    image = ImageFactory(project=project, original_name="a.jpg")
    api = APIClient()
    api.force_authenticate(lead)
    response = api.post(
        f"/api/projects/{project.pk}/imports/",
        {"format": "coco", "files": [
            SimpleUploadedFile("vendor_a.json", _labels([(1, [10, 10, 50, 40])])),
            SimpleUploadedFile("vendor_b.json", _labels([(2, [11, 10, 50, 40])])),
        ]},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 202
    run = _finished(response.json()["run"])
    assert run.state == "succeeded", run.error
    assessment = _finished(run.params["report"]["assessment_run"])
    assert assessment.state == "succeeded", assessment.error
    assert ImageAgreement.objects.get(image=image).labeler_count == 2
    (flag,) = Flag.objects.filter(image=image, kind="label_conflict")
    assert "vendor_a" in flag.message and "vendor_b" in flag.message
    assert not list((shared_media / "imports").rglob("*.json"))  # the upload is removed
    image.file.delete(save=False)
