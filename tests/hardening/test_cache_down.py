"""Redis (the web processes' cache, which counts failed logins) unreachable: a 503 with a
message, never a stack trace. A real failure: the cache points at a port nothing listens on."""

import pytest

from bench.load import free_port
from tests.factories import PASSWORD


@pytest.fixture
def cache_unreachable(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


def test_logins_answer_503_with_a_message_while_the_cache_is_unreachable(
    client, labeler_a, cache_unreachable
):
    credentials = {"username": "labeler_a", "password": PASSWORD}

    api = client.post("/api/auth/token/", credentials, content_type="application/json")
    page = client.post("/accounts/login/", credentials)

    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert "cannot reach its cache" in api.json()["detail"]
    assert page.status_code == 503 and page["Content-Type"].startswith("text/plain")
    assert b"cannot reach its cache" in page.content and b"Traceback" not in page.content
