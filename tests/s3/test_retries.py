"""Workers read objects with retries: a download that breaks halfway is read again, and a
registration through a flaky network still registers every object once."""

import pytest

from concord.env import env_media_storage
from projects import storage
from projects.enqueue import registration_enqueue
from projects.models import Image
from quality.models import AgreementRun
from tests.s3.flaky_proxy import FlakyProxy
from tests.s3.registration_helpers import distinct_jpeg, put

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


@pytest.fixture
def flaky(s3_server, s3_media, settings, monkeypatch):
    """Media through a proxy that breaks the next responses it relays (set proxy.breaks_left)."""
    proxy = FlakyProxy(int(s3_server.rsplit(":", 1)[1]), breaks=0)
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", proxy.endpoint)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": env_media_storage(url_seconds=settings.AWS_QUERYSTRING_EXPIRE),
    }
    yield proxy
    proxy.close()


def test_a_download_broken_halfway_is_read_again(s3_media, flaky):
    data = distinct_jpeg(1, 400, 300)
    put(s3_media, "r/1.jpg", data)
    flaky.breaks_left = 2
    assert storage.object_range("r/1.jpg", start=0, limit=len(data)) == (data, len(data))
    assert flaky.broken == 2


def test_a_registration_through_a_flaky_network_registers_each_object_once(
    project, lead, s3_media, flaky, django_capture_on_commit_callbacks
):
    objects = {f"f/{n}.jpg": distinct_jpeg(n, 300, 200) for n in range(6)}
    for key, data in objects.items():
        put(s3_media, key, data)
    flaky.breaks_left = 3  # in a row: each read is tried up to READ_ATTEMPTS (4) times
    with django_capture_on_commit_callbacks(execute=True):
        run = registration_enqueue(project=project, requested_by=lead, prefix="f/")
    run = AgreementRun.objects.get(pk=run.pk)
    assert run.state == "succeeded", run.error
    assert run.params["counts"]["added"] == 6
    assert sorted(Image.objects.values_list("file", flat=True)) == sorted(objects)
    assert flaky.broken == 3
