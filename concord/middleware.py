"""Cross-cutting HTTP behaviour: security headers and a clear answer when a service is down."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "Concord cannot reach its database right now. Nothing was changed; try again in a moment."
)
# The web processes use Redis (Django's cache) only to count failed logins.
CACHE_UNAVAILABLE = "Concord cannot reach its cache (Redis) right now; try again in a moment."


class DatabaseUnavailableMiddleware:
    """Answer 503 with a message, not a stack trace, when the database or the cache cannot be
    reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            message = UNAVAILABLE
        elif isinstance(exception, RedisConnectionError | RedisTimeoutError):
            message = CACHE_UNAVAILABLE
        else:
            return None
        log.error("service unavailable: %s", exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "5"
        return response


class ContentSecurityPolicyMiddleware:
    """Only the app's own scripts run: no inline script, no third-party origin."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = (
            "Content-Security-Policy-Report-Only"
            if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
            else "Content-Security-Policy"
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault(self.header, settings.CONTENT_SECURITY_POLICY)
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response
