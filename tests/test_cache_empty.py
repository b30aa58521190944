"""The tests' cache reset deletes the cache's keys and leaves the Celery broker's alone."""

import pytest
from django.core.cache import cache, caches

from tests.cache import cache_empty


def test_emptying_the_cache_removes_its_keys():
    cache.set("concord:test-key", 1)
    cache_empty()
    assert cache.get("concord:test-key") is None


@pytest.mark.redis(reason="the cache and the broker share a Redis database only with REDIS_URL")
def test_emptying_the_cache_keeps_the_broker_keys_in_the_same_redis_database():
    client = caches["default"]._cache.get_client(write=True)
    client.set("_kombu.binding.concord-test", "kept")
    try:
        cache.set("concord:test-key", 1)
        cache_empty()
        assert cache.get("concord:test-key") is None
        assert client.get("_kombu.binding.concord-test") == b"kept"
    finally:
        client.delete("_kombu.binding.concord-test")
