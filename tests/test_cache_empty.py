"""The tests' cache reset deletes the cache's keys and leaves the Celery broker's alone."""

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from tests.cache import cache_empty
from tests.conftest import skip_or_fail


def test_emptying_the_cache_removes_its_keys():
    cache.set("concord:test-key", 1)
    cache_empty()
    assert cache.get("concord:test-key") is None


def test_emptying_the_cache_keeps_the_broker_keys_in_the_same_redis_database():
    if not isinstance(caches["default"], RedisCache):
        skip_or_fail("REDIS_URL is not set: the cache is in process memory")
    client = caches["default"]._cache.get_client(write=True)
    client.set("_kombu.binding.concord-test", "kept")
    try:
        cache.set("concord:test-key", 1)
        cache_empty()
        assert cache.get("concord:test-key") is None
        assert client.get("_kombu.binding.concord-test") == b"kept"
    finally:
        client.delete("_kombu.binding.concord-test")
