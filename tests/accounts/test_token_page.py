"""The "API token" page: status, create or regenerate, revoke, and how to use it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eng_client(client, db):
    user = UserFactory(username="eng")
    client.force_login(user)
    client.user = user
    return client


def test_the_header_links_to_the_page(eng_client):
    assert 'href="/accounts/token/"' in eng_client.get("/").content.decode()


def test_without_a_token_the_page_offers_to_make_one(eng_client):
    page = eng_client.get("/accounts/token/").content.decode()
    assert "You have no API token" in page and "Create a token" in page
    assert "Authorization: Token &lt;your token&gt;" in page and "/api/docs/" in page


def test_create_regenerate_and_revoke(eng_client):
    response = eng_client.post("/accounts/token/", {"action": "create"}, follow=True)
    first = Token.objects.get(user=eng_client.user).key
    page = response.content.decode()
    assert "Your token works" in page and first in page and "Regenerate" in page
    assert f'curl -H "Authorization: Token {first}"' in page
    assert "http://testserver/api/projects/" in page

    eng_client.post("/accounts/token/", {"action": "create"})
    second = Token.objects.get(user=eng_client.user).key
    assert second != first

    page = eng_client.post("/accounts/token/", {"action": "revoke"}, follow=True).content.decode()
    assert not Token.objects.filter(user=eng_client.user).exists()
    assert "revoked" in page and "You have no API token" in page


def test_an_expired_token_is_shown_as_expired(eng_client, settings):
    settings.API_TOKEN_TTL_DAYS = 7
    Token.objects.create(user=eng_client.user)
    Token.objects.update(created=timezone.now() - timedelta(days=8))
    page = eng_client.get("/accounts/token/").content.decode()
    assert "Your last token expired" in page


def test_an_unknown_action_changes_nothing(eng_client):
    Token.objects.create(user=eng_client.user)
    response = eng_client.post("/accounts/token/", {"action": "zzz"}, follow=True)
    assert response.status_code == 200
    assert Token.objects.filter(user=eng_client.user).exists()


def test_anonymous_visitors_go_to_the_login_page(client, db):
    response = client.get("/accounts/token/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_needs_the_csrf_token(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    user = UserFactory(username="eng")
    client.force_login(user)
    assert client.post("/accounts/token/", {"action": "create"}).status_code == 403
    assert not Token.objects.filter(user=user).exists()
