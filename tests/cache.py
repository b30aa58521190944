"""Emptying Django's cache between tests without touching the Celery broker beside it."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def cache_empty() -> None:
    """Delete the cache's own keys.

    With REDIS_URL the cache and the Celery broker share one Redis database, so ``cache.clear()``
    (FLUSHDB) would also drop the worker's queued messages and queue bindings.
    """
    cache = caches["default"]  # the backend itself, not django.core.cache.cache's proxy
    if not isinstance(cache, RedisCache):
        cache.clear()  # in-process memory: nothing else lives there
        return
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key("*"), count=1000))
    if keys:
        client.delete(*keys)
