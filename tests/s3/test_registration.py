"""Registering images already in the bucket, in place: listed, examined (ranged header read,
SHA-256, perceptual hash), refused as an upload would be, resumable. Tasks run in-process here;
tests/s3/test_registration_worker.py runs them on a real worker."""

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from projects.ingest import image_file_check
from projects.models import Image, RegistrationObject
from projects.registration import registration_chunk, registration_list_page, registration_start
from projects.storage import _storage
from projects.tasks import registrations_resume_task
from quality.models import AgreementRun
from tests.images import jpeg_bytes, png_bytes
from tests.s3.registration_helpers import distinct_jpeg, gif_bytes, put
from tests.s3_server import BUCKET

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def _register(project, lead, **body):
    client = APIClient()
    client.force_authenticate(lead)
    return client.post(
        reverse("api-images-register", args=[project.pk]),
        {"prefix": "", **body},
        format="json",
    )


def _run_of(response) -> AgreementRun:
    assert response.status_code == 202, response.json()
    return AgreementRun.objects.get(pk=response.json()["run"])


def test_a_prefix_is_registered_in_place_refusing_what_an_upload_refuses(
    project, lead, s3_media, settings, django_capture_on_commit_callbacks
):
    settings.REGISTER_CHUNK_SIZE = 2
    good = {f"cars/img/{n:03}.jpg": distinct_jpeg(n) for n in range(5)}
    for key, data in good.items():
        put(s3_media, key, data)
    put(s3_media, "cars/img/copy.jpg", good["cars/img/000.jpg"])  # the same bytes again
    put(s3_media, "cars/img/tile.png", png_bytes(30, 20))
    put(s3_media, "cars/img/portrait.jpg", jpeg_bytes(64, 48, exif_orientation=6))
    put(s3_media, "cars/img/animated.jpg", gif_bytes())  # named .jpg, a GIF inside
    put(s3_media, "cars/img/cut.jpg", distinct_jpeg(9)[:300])  # truncated
    put(s3_media, "cars/img/empty.jpg", b"")
    put(s3_media, "cars/labels/000.txt", b"0 0.5 0.5 0.1 0.1")  # not an image: skipped
    put(s3_media, "other/elsewhere.jpg", distinct_jpeg(42))  # outside the prefix

    with django_capture_on_commit_callbacks(execute=True):
        run = _run_of(_register(project, lead, prefix="cars/"))
    run.refresh_from_db()
    assert run.kind == "register" and run.state == "succeeded", run.error
    counts = run.params["counts"]
    assert counts == {
        "added": 7, "duplicate": 1, "refused": 3, "skipped": 1, "already": 0
    }, counts  # fmt: skip
    assert (run.done, run.total) == (11, 11)

    images = {image.file.name: image for image in Image.objects.filter(project=project)}
    assert set(images) == {*good, "cars/img/tile.png", "cars/img/portrait.jpg"} - {
        "cars/img/copy.jpg"
    }
    first = images["cars/img/000.jpg"]
    assert first.original_name == "img/000.jpg"  # the key under the prefix's folder
    assert first.sha256 == hashlib.sha256(good["cars/img/000.jpg"]).hexdigest()
    checked = image_file_check(good["cars/img/000.jpg"])  # as an upload of the same file
    assert (first.width, first.height, first.phash) == (96, 64, checked.phash)
    assert (images["cars/img/portrait.jpg"].width, images["cars/img/portrait.jpg"].height) == (
        48,
        64,
    )  # as displayed, EXIF orientation applied
    reasons = dict(
        RegistrationObject.objects.filter(run=run, status="refused").values_list("key", "reason")
    )
    assert "GIF files are not accepted" in reasons["cars/img/animated.jpg"]
    assert "damaged or truncated" in reasons["cars/img/cut.jpg"]
    assert reasons["cars/img/empty.jpg"] == "the file is empty"
    duplicate = RegistrationObject.objects.get(run=run, key="cars/img/copy.jpg")
    assert duplicate.status == "duplicate" and "img/000.jpg" in duplicate.reason
    # Nothing was copied: the bucket holds what the team put there, no Concord file.
    keys = {i["Key"] for i in s3_media.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert not [k for k in keys if k.startswith("projects/")]


def test_the_run_reports_progress_and_each_object(
    project, lead, engineer, s3_media, django_capture_on_commit_callbacks
):
    put(s3_media, "a/1.jpg", distinct_jpeg(1))
    put(s3_media, "a/2.jpg", gif_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        run = _run_of(_register(project, lead, prefix="a/"))
    client = APIClient()
    client.force_authenticate(engineer)  # engineers read runs
    body = client.get(reverse("api-run", args=[run.pk])).json()
    assert body["kind"] == "register" and body["state"] == "succeeded"
    assert body["results"]["added"] == 1 and body["results"]["refused"] == 1
    refused = client.get(reverse("api-run-objects", args=[run.pk]), {"status": "refused"}).json()
    assert [o["key"] for o in refused["results"]] == ["a/2.jpg"]
    assert "GIF" in refused["results"][0]["reason"]
    bad = client.get(reverse("api-run-objects", args=[run.pk]), {"status": "lost"})
    assert bad.status_code == 400 and "pending" in bad.json()["detail"]


def test_the_header_alone_refuses_a_huge_image_without_reading_the_rest(
    project, lead, s3_media, settings, django_capture_on_commit_callbacks
):
    settings.UPLOAD_MAX_PIXELS = 1_000_000
    big = distinct_jpeg(3, width=2000, height=1500)  # 3 megapixels, well over 64 KB
    assert len(big) > 64 * 1024
    put(s3_media, "big/huge.jpg", big)
    ranges: list[str] = []
    client = _storage().connection.meta.client
    client.meta.events.register(
        "before-call.s3.GetObject", lambda params, **kw: ranges.append(params["headers"]["Range"])
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = _run_of(_register(project, lead, prefix="big/"))
    reason = RegistrationObject.objects.get(run=run).reason
    assert reason.startswith("the image is 2000x1500 (3.0 megapixels)")
    assert ranges == ["bytes=0-65535"]  # the first 64 KB, never the rest


def test_a_file_over_the_size_limit_is_refused_from_the_listing(
    project, lead, s3_media, settings, django_capture_on_commit_callbacks
):
    settings.UPLOAD_MAX_BYTES = 2048
    put(s3_media, "s/large.jpg", distinct_jpeg(5, 400, 300))
    with django_capture_on_commit_callbacks(execute=True):
        run = _run_of(_register(project, lead, prefix="s/"))
    assert RegistrationObject.objects.get(run=run).reason.startswith("the file is")
    assert "the limit is 0.0 MB" in RegistrationObject.objects.get(run=run).reason


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("list.csv", "file_name,split\nimg/1.jpg,train\nimg/3.jpg,val\nimg/missing.jpg,val\n"),
        ("list.jsonl", '{"key": "img/1.jpg"}\n"img/3.jpg"\n\n{"path": "img/missing.jpg"}\n'),
    ],
)
def test_a_manifest_registers_only_what_it_names(
    project, lead, s3_media, name, text, django_capture_on_commit_callbacks
):
    for n in range(1, 5):
        put(s3_media, f"ds/img/{n}.jpg", distinct_jpeg(n))
    put(s3_media, f"ds/{name}", text.encode())
    with django_capture_on_commit_callbacks(execute=True):
        run = _run_of(_register(project, lead, prefix="ds/", manifest=f"ds/{name}"))
    run.refresh_from_db()
    assert run.state == "succeeded"
    assert sorted(Image.objects.values_list("file", flat=True)) == ["ds/img/1.jpg", "ds/img/3.jpg"]
    missing = RegistrationObject.objects.get(run=run, key="ds/img/missing.jpg")
    assert (missing.status, missing.reason) == ("refused", "the object is no longer in the bucket")


def test_registering_again_takes_only_what_is_new(
    project, lead, s3_media, django_capture_on_commit_callbacks
):
    put(s3_media, "again/1.jpg", distinct_jpeg(1))
    with django_capture_on_commit_callbacks(execute=True):
        _run_of(_register(project, lead, prefix="again/"))
    put(s3_media, "again/2.jpg", distinct_jpeg(2))
    with django_capture_on_commit_callbacks(execute=True):
        run = _run_of(_register(project, lead, prefix="again/"))
    run.refresh_from_db()
    assert run.params["counts"]["already"] == 1 and run.params["counts"]["added"] == 1
    assert Image.objects.filter(project=project).count() == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prefix": "nothing-here/"}, "has no objects under nothing-here/"),
        (
            {"prefix": "x/", "manifest": "x/gone.csv"},
            "The manifest x/gone.csv is not in the bucket",
        ),
        ({"prefix": "projects/"}, "inside Concord's own folders"),
        ({"prefix": "m/", "manifest": "m/list.txt"}, "a manifest is a .csv or a .jsonl"),
    ],
)
def test_a_registration_that_cannot_start_says_why(project, lead, s3_media, body, message):
    put(s3_media, "m/list.txt", b"1.jpg\n")
    response = _register(project, lead, **body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not AgreementRun.objects.filter(kind="register").exists()


def test_only_leads_register(project, lead, labeler_a, engineer, outsider, s3_media):
    put(s3_media, "r/1.jpg", distinct_jpeg(1))
    for user, code in ((labeler_a, 403), (engineer, 403), (outsider, 404)):
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            reverse("api-images-register", args=[project.pk]), {"prefix": "r/"}, format="json"
        )
        assert response.status_code == code, user


def test_a_registration_cut_short_by_a_crash_is_resumed_and_registers_each_object_once(
    project, lead, s3_media, settings
):
    """What a worker killed mid-run leaves: the listing stopped after a page, one chunk done,
    the others' messages lost. The resume (Celery beat) finishes the job."""
    settings.REGISTER_CHUNK_SIZE = 3
    for n in range(8):
        put(s3_media, f"crash/{n}.jpg", distinct_jpeg(n))
    # The services alone: the run, one page listed; the chunks' messages die with the worker.
    run = registration_start(project=project, requested_by=lead, prefix="crash/")
    listed = registration_list_page(run_id=run.pk)
    assert not listed.more
    pending = listed.pending
    assert len(pending) == 8
    assert registration_chunk(run_id=run.pk, first_id=pending[0], last_id=pending[2]) == 3
    # The same chunk delivered again (acks_late after a lost worker) does nothing twice.
    assert registration_chunk(run_id=run.pk, first_id=pending[0], last_id=pending[2]) == 0
    run.refresh_from_db()
    assert (run.state, run.done, run.total) == ("running", 3, 8)

    assert registrations_resume_task() == 0  # not silent long enough: a live run is left be
    AgreementRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.REGISTER_STALLED_SECONDS + 1)
    )
    assert registrations_resume_task() == 1  # Celery beat's task; its sends run in-process
    run.refresh_from_db()
    assert (run.state, run.done, run.total) == ("succeeded", 8, 8)
    assert run.params["counts"]["added"] == 8
    assert Image.objects.filter(project=project).count() == 8


def test_a_listing_cut_short_resumes_after_its_last_key(
    project, lead, s3_media, settings, monkeypatch
):
    from projects import registration

    monkeypatch.setattr(registration, "LIST_PAGE", 2)  # small pages: several listing steps
    for n in range(5):
        put(s3_media, f"pages/{n}.jpg", distinct_jpeg(n))
    run = registration_start(project=project, requested_by=lead, prefix="pages/")
    assert registration_list_page(run_id=run.pk).more  # then the worker died
    run.refresh_from_db()
    assert run.params["after"] == "pages/1.jpg" and run.total == 2
    AgreementRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.REGISTER_STALLED_SECONDS + 1)
    )
    assert registrations_resume_task() == 1
    run.refresh_from_db()
    assert (run.state, run.total, run.params["counts"]["added"]) == ("succeeded", 5, 5)
    assert RegistrationObject.objects.filter(run=run).count() == 5  # no key listed twice


def test_deleting_a_registered_image_leaves_the_teams_object(
    project, lead, s3_media, django_capture_on_commit_callbacks
):
    from projects.images import image_delete

    put(s3_media, "keep/1.jpg", distinct_jpeg(1))
    with django_capture_on_commit_callbacks(execute=True):
        _run_of(_register(project, lead, prefix="keep/"))
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(image=Image.objects.get(project=project))
    assert s3_media.head_object(Bucket=BUCKET, Key="keep/1.jpg")["ContentLength"] > 0
