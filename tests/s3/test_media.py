"""Media in a bucket of a real S3 server (MEDIA_STORAGE=s3): uploads land in the bucket, and the
browser gets short-lived presigned URLs only from the routes that check the caller's role."""

import io
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from projects.images import image_delete
from projects.models import Image, InstructionAsset
from projects.services import instruction_asset_add
from projects.thumbnails import thumbnail_name
from tests.images import jpeg_bytes
from tests.s3_server import BUCKET

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def _keys(s3_media) -> set[str]:
    return {item["Key"] for item in s3_media.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def _upload(project, lead, data=None, name="street.jpg") -> Image:
    client = APIClient()
    client.force_authenticate(lead)
    upload = io.BytesIO(data or jpeg_bytes(64, 48))
    upload.name = name
    response = client.post(
        reverse("api-images", args=[project.pk]), {"files": [upload]}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    return Image.objects.get(pk=response.json()["results"][0]["image_id"])


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


def test_an_upload_lands_in_the_bucket_and_nothing_on_the_local_disk(
    project, lead, s3_media, settings
):
    data = jpeg_bytes(64, 48)
    image = _upload(project, lead, data)
    assert image.file.name in _keys(s3_media)
    stored = s3_media.get_object(Bucket=BUCKET, Key=image.file.name)["Body"].read()
    assert stored == data
    assert not (settings.MEDIA_ROOT).exists() or not any(settings.MEDIA_ROOT.rglob("*.jpg"))
    # Never public: the object has no grant for everyone.
    grants = s3_media.get_object_acl(Bucket=BUCKET, Key=image.file.name)["Grants"]
    assert not [g for g in grants if "AllUsers" in str(g.get("Grantee", {}).get("URI", ""))]


def test_the_image_route_redirects_members_to_a_short_lived_presigned_url(
    project, lead, labeler_a, client, s3_media, settings
):
    data = jpeg_bytes(64, 48)
    image = _upload(project, lead, data)
    client.force_login(labeler_a)
    response = client.get(reverse("projects:image-file", args=[project.slug, image.pk]))
    assert response.status_code == 302
    url = response["Location"]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(settings.STORAGES["default"]["OPTIONS"]["endpoint_url"])
    assert query["X-Amz-Expires"] == [str(settings.AWS_QUERYSTRING_EXPIRE)]
    assert "X-Amz-Signature" in query
    assert query["response-content-type"] == ["image/jpeg"]
    assert _fetch(url) == data  # what a browser following the redirect receives


def test_outsiders_get_no_url(project, lead, outsider, client, s3_media):
    image = _upload(project, lead)
    client.force_login(outsider)
    response = client.get(reverse("projects:image-file", args=[project.slug, image.pk]))
    assert response.status_code == 404
    assert "Location" not in response
    client.logout()
    response = client.get(reverse("projects:image-file", args=[project.slug, image.pk]))
    assert "amazonaws" not in response.get("Location", "") and "X-Amz" not in str(response.items())


def test_a_thumbnail_is_made_from_the_bucket_into_the_bucket(project, lead, client, s3_media):
    image = _upload(project, lead, jpeg_bytes(640, 480))
    client.force_login(lead)
    response = client.get(reverse("projects:image-thumb", args=[project.slug, image.pk]))
    assert response.status_code == 302
    name = thumbnail_name(project_id=project.pk, sha256=image.sha256)
    assert name in _keys(s3_media)
    from PIL import Image as PILImage

    thumb = PILImage.open(io.BytesIO(_fetch(response["Location"])))
    assert max(thumb.size) == 320


def test_pages_allow_images_from_the_bucket_origin_only(project, lead, client, s3_media, settings):
    client.force_login(lead)
    policy = client.get(reverse("projects:images", args=[project.slug]))["Content-Security-Policy"]
    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    img_src = next(part for part in policy.split(";") if part.strip().startswith("img-src"))
    assert endpoint in img_src
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert endpoint not in script_src


def test_deleting_an_uploaded_image_removes_its_file_and_thumbnail(
    project, lead, client, s3_media, django_capture_on_commit_callbacks
):
    image = _upload(project, lead)
    client.force_login(lead)
    client.get(reverse("projects:image-thumb", args=[project.slug, image.pk]))
    thumb = thumbnail_name(project_id=project.pk, sha256=image.sha256)
    assert {image.file.name, thumb} <= _keys(s3_media)
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(image=image)
    assert not {image.file.name, thumb} & _keys(s3_media)


def test_an_instruction_image_is_served_through_a_presigned_url(project, lead, client, s3_media):
    data = jpeg_bytes(40, 30)
    asset = instruction_asset_add(
        project=project, user=lead, name="example.jpg", fileobj=io.BytesIO(data)
    )
    assert asset.file.name in _keys(s3_media)
    client.force_login(lead)
    response = client.get(asset.get_absolute_url())
    assert response.status_code == 302
    assert _fetch(response["Location"]) == data
    assert InstructionAsset.objects.count() == 1
