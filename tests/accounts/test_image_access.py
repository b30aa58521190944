"""Image files reach members only: no /media/ route in any mode, and API tokens open image URLs."""

import importlib

import pytest
from django.urls import clear_url_caches
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings):
    """The URLconf as `make run` (DEBUG=1) builds it."""
    import concord.urls

    settings.DEBUG = True
    importlib.reload(concord.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(concord.urls)
    clear_url_caches()


def test_media_files_are_not_served_to_anyone_even_with_debug(client, project, debug_urls):
    image = ImageFactory(project=project)
    assert (project and image.file.path) and image.file.storage.exists(image.file.name)
    response = client.get(f"/media/{image.file.name}")
    assert response.status_code == 404
    assert not getattr(response, "streaming", False)


def test_an_api_token_opens_the_image_urls_the_api_hands_out(
    project, engineer, acknowledged_images
):
    token = Token.objects.create(user=engineer)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    images = api.get(f"/api/projects/{project.pk}/images/").json()["results"]
    assert images
    response = api.get(images[0]["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_a_token_of_an_outsider_or_a_bad_token_opens_nothing(
    project, outsider, acknowledged_images
):
    image = acknowledged_images[0]
    url = f"/projects/{project.slug}/images/{image.pk}/file/"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")
    assert api.get(url).status_code == 404
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    response = api.get(url)
    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]
    assert APIClient().get(url).status_code == 302  # a browser without a session: the login page


@pytest.fixture
def acknowledged_images(project):
    return [ImageFactory(project=project) for _ in range(2)]
