"""Login throttling counts a username as authentication reads it, on every login door."""

import pytest

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

MAX = 3


@pytest.fixture(autouse=True)
def throttle(settings, empty_cache):
    settings.LOGIN_MAX_FAILURES = MAX


@pytest.fixture
def mallory(db):
    return UserFactory(username="mallory")


def page_login(client, username, password, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def token_login(client, username, password, **extra):
    return client.post("/api/auth/token/", {"username": username, "password": password}, **extra)


VARIANTS = [
    " mallory",
    "mallory ",
    "  mallory\t",
    "\u00a0mallory",  # no-break space: stripped by both login forms
    "ｍａｌｌｏｒｙ",  # fullwidth letters: the login form folds them (NFKC) before looking up
    "MALLORY",
]


@pytest.mark.parametrize("login", [page_login, token_login], ids=["page", "token"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_a_variant_of_a_locked_username_is_locked_too(client, mallory, login, variant):
    for _ in range(MAX):
        login(client, "mallory", "wrong")
    response = login(client, variant, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


@pytest.mark.parametrize("login", [page_login, token_login], ids=["page", "token"])
def test_failures_under_variants_add_up(client, mallory, login):
    for variant in [" mallory", "mallory ", "Mallory"]:
        login(client, variant, "wrong")
    assert login(client, "mallory", PASSWORD).status_code == 429


def test_page_and_token_failures_share_one_count(client, mallory):
    page_login(client, "mallory", "wrong")
    token_login(client, " mallory", "wrong")
    page_login(client, "mallory ", "wrong")
    assert token_login(client, "mallory", PASSWORD).status_code == 429


def test_the_lockout_is_per_address(client, mallory):
    for _ in range(MAX):
        page_login(client, "mallory", "wrong", REMOTE_ADDR="10.0.0.1")
    assert page_login(client, "mallory", PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert page_login(client, "mallory", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 302


def test_admin_login_is_throttled(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(15):
        response = client.post("/admin/login/", {"username": "root", "password": "wrong"})
        assert response.status_code in (200, 429)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_failures_lock_the_other_doors(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(MAX):
        client.post("/admin/login/", {"username": " root", "password": "wrong"})
    assert token_login(client, "root", PASSWORD).status_code == 429
    assert page_login(client, "root", PASSWORD).status_code == 429


def test_admin_login_still_works(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    response = client.post(
        "/admin/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
