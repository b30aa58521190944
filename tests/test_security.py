import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.factories import PASSWORD


@pytest.fixture
def throttle(settings, empty_cache):
    settings.LOGIN_MAX_FAILURES = 3


def test_login_is_refused_after_repeated_failures_even_with_the_right_password(
    client, labeler_a, throttle
):
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "labeler_a", "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "labeler_a", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content


def test_a_successful_login_resets_the_failure_count(client, labeler_a, throttle):
    for _ in range(2):
        client.post("/accounts/login/", {"username": "labeler_a", "password": "wrong"})
    assert (
        client.post("/accounts/login/", {"username": "labeler_a", "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    for _ in range(2):
        client.post("/accounts/login/", {"username": "labeler_a", "password": "wrong"})
    assert (
        client.post("/accounts/login/", {"username": "labeler_a", "password": PASSWORD}).status_code
        == 302
    )


def test_api_token_is_throttled_too(client, labeler_a, throttle):
    for _ in range(3):
        response = client.post("/api/auth/token/", {"username": "labeler_a", "password": "nope"})
        assert response.status_code == 400
        assert "do not match" in response.json()["detail"]
    response = client.post("/api/auth/token/", {"username": "labeler_a", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.json()["detail"]


def test_pages_carry_security_headers_and_a_strict_script_policy(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.postgresql(reason="an in-memory SQLite test database cannot be made unreachable")
@pytest.mark.django_db(transaction=True)
def test_api_answers_503_with_a_message_when_the_database_is_unreachable(client):
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: a real connection failure
    try:
        response = client.get("/api/projects/", HTTP_AUTHORIZATION="Token abc")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert "cannot reach its database" in response.json()["detail"]
    assert response["Retry-After"] == "5"


def test_production_settings_pass_the_deployment_checks():
    # The browser tests allow async-unsafe ORM calls in this process; a deployment never does.
    skip = ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {k: v for k, v in os.environ.items() if k not in skip}
    environment.update(
        DEBUG="0",
        SECRET_KEY="k" * 20 + "-a-long-and-random-production-secret-value-0123456789",
        ALLOWED_HOSTS="concord.example.org",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_unknown_api_address_answers_json_404(client, db):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert "/api/docs/" in response.json()["detail"]
