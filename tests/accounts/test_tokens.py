"""API tokens die: on a password change, on deactivation, at their expiry, or when revoked."""

from datetime import timedelta

import pytest
from django.contrib.auth.forms import AdminPasswordChangeForm, PasswordChangeForm
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-password-42"


@pytest.fixture
def eng(db, empty_cache):
    return UserFactory(username="eng")


def obtain(username="eng", password=PASSWORD):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password})


def with_token(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key) -> bool:
    return with_token(key).get("/api/projects/").status_code == 200


def test_a_password_change_revokes_the_token_and_the_new_password_gets_a_new_one(eng):
    old = obtain().json()["token"]
    assert works(old)
    eng.set_password(NEW_PASSWORD)
    eng.save()
    response = with_token(old).get("/api/projects/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    new = obtain(password=NEW_PASSWORD).json()["token"]
    assert new != old and works(new)


@pytest.mark.parametrize("form_class", [PasswordChangeForm, AdminPasswordChangeForm])
def test_the_password_forms_revoke_the_token(eng, form_class):
    old = obtain().json()["token"]
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    if form_class is PasswordChangeForm:
        data["old_password"] = PASSWORD
    else:
        data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    form = form_class(eng, data)
    assert form.is_valid(), form.errors
    form.save()
    assert not works(old)


def test_the_admin_password_change_revokes_the_token(client, eng):
    old = obtain().json()["token"]
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        f"/admin/auth/user/{eng.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:500]
    assert not works(old)


def test_deactivation_revokes_the_token(eng):
    old = obtain().json()["token"]
    eng.is_active = False
    eng.save()
    assert not Token.objects.filter(key=old).exists()
    eng.is_active = True
    eng.save()
    assert not works(old)


def test_logging_in_and_other_saves_keep_the_token(client, eng, settings):
    # A hash upgrade at login re-saves the password: that is no password change.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    key = obtain().json()["token"]
    assert (
        client.post("/accounts/login/", {"username": "eng", "password": PASSWORD}).status_code
        == 302
    )
    eng.refresh_from_db()
    assert eng.password.startswith("pbkdf2_")  # upgraded from MD5
    eng.first_name = "Eng"
    eng.save()
    assert works(key)


def test_an_expired_token_answers_401_with_a_message(eng, settings):
    settings.API_TOKEN_TTL_DAYS = 30
    key = obtain().json()["token"]
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=31))
    response = with_token(key).get("/api/projects/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    detail = response.json()["detail"]
    assert "expired" in detail and "/api/auth/token/" in detail
    # Logging in again gives a new key instead of the dead one.
    fresh = obtain().json()
    assert fresh["token"] != key and works(fresh["token"])
    assert fresh["expires"]


def test_tokens_can_be_made_to_never_expire(eng, settings):
    settings.API_TOKEN_TTL_DAYS = 0
    body = obtain().json()
    Token.objects.filter(key=body["token"]).update(created=timezone.now() - timedelta(days=5000))
    assert body["expires"] is None and works(body["token"])


def test_obtaining_twice_gives_the_same_working_token(eng):
    first, second = obtain().json(), obtain().json()
    assert first["token"] == second["token"]
    assert set(first) == {"token", "created", "expires"}


def test_get_post_delete_the_callers_own_token(eng):
    key = obtain().json()["token"]
    api = with_token(key)
    shown = api.get("/api/auth/token/").json()
    assert shown["token"] == key and shown["expires"]

    renewed = api.post("/api/auth/token/").json()["token"]
    assert renewed != key and not works(key) and works(renewed)

    api = with_token(renewed)
    assert api.delete("/api/auth/token/").status_code == 204
    assert not works(renewed)


def test_a_session_user_without_a_token_sees_none_and_can_make_one(client, eng):
    client.force_login(eng)
    assert client.get("/api/auth/token/").json() == {
        "token": None,
        "created": None,
        "expires": None,
    }
    key = client.post("/api/auth/token/").json()["token"]
    assert works(key)


def test_anonymous_callers_cannot_read_or_revoke_tokens(db):
    assert APIClient().get("/api/auth/token/").status_code == 401
    assert APIClient().delete("/api/auth/token/").status_code == 401
    response = APIClient().post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400 and "username" in response.json()["detail"]


def test_a_wrong_password_gets_no_token(eng):
    response = obtain(password="wrong")
    assert response.status_code == 400
    assert "do not match" in response.json()["detail"]
