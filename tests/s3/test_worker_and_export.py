"""The bucket seen from a real Celery worker that shares no disk with the web app: the worker
lists, reads and hashes the objects of a registration in parallel; exports with images read
them back from the bucket."""

import hashlib
import io
import zipfile

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from projects.ingest import image_file_check
from projects.models import Image
from quality.models import AgreementRun
from quality.services.assessment import images_assess
from tests.conftest import wait_for
from tests.quality.labels import submit
from tests.s3.registration_helpers import distinct_jpeg, put

pytestmark = [pytest.mark.s3]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_registers_and_hashes_the_bucket_objects(project, lead, s3_media, settings):
    # The worker lists in chunks of 4 (REGISTER_CHUNK_SIZE in its environment): its two
    # processes take them in parallel.
    objects = {f"w/{n:02}.jpg": distinct_jpeg(n) for n in range(24)}
    for key, data in objects.items():
        put(s3_media, key, data)
    client = APIClient()
    client.force_authenticate(lead)
    response = client.post(
        reverse("api-images-register", args=[project.pk]), {"prefix": "w/"}, format="json"
    )
    assert response.status_code == 202, response.json()
    run_id = response.json()["run"]

    def finished():
        return AgreementRun.objects.get(pk=run_id).state in ("succeeded", "failed")

    wait_for(finished)
    run = AgreementRun.objects.get(pk=run_id)
    assert run.state == "succeeded", run.error
    assert run.params["counts"]["added"] == 24
    for image in Image.objects.filter(project=project):
        data = objects[image.file.name]
        assert image.sha256 == hashlib.sha256(data).hexdigest()
        assert image.phash == image_file_check(data).phash
    # The worker read the bucket, not a disk: nothing was written under this MEDIA_ROOT.
    assert not settings.MEDIA_ROOT.exists() or not any(settings.MEDIA_ROOT.rglob("*"))


@pytest.mark.django_db
def test_an_export_with_images_reads_uploaded_and_registered_files_from_the_bucket(
    project, lead, labeler_a, labeler_b, classes, s3_media, django_capture_on_commit_callbacks
):
    car, _ = classes
    uploaded, registered = distinct_jpeg(1), distinct_jpeg(2)
    api = APIClient()
    api.force_authenticate(lead)
    upload = io.BytesIO(uploaded)
    upload.name = "uploaded.jpg"
    assert (
        api.post(
            reverse("api-images", args=[project.pk]), {"files": [upload]}, format="multipart"
        ).status_code
        == 201
    )
    put(s3_media, "team/registered.jpg", registered)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            reverse("api-images-register", args=[project.pk]), {"prefix": "team/"}, format="json"
        )
    assert response.status_code == 202
    images = list(Image.objects.filter(project=project).order_by("pk"))
    assert [i.original_name for i in images] == ["uploaded.jpg", "registered.jpg"]
    for image in images:
        submit(image, labeler_a, [(car, (10, 10, 30, 20))])
        submit(image, labeler_b, [(car, (11, 10, 30, 20))])
    images_assess(image_ids=[i.pk for i in images])

    for format_name in ("yolo", "coco"):
        answer = api.get(
            f"/api/projects/{project.pk}/export/",
            {"format": format_name, "include_images": 1},
        )
        assert answer.status_code == 200
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            files = {n.rpartition("/")[2]: archive.read(n) for n in archive.namelist()}
        assert files["registered.jpg"] == registered, format_name
        assert files["uploaded.jpg"] == uploaded, format_name
