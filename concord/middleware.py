"""Cross-cutting HTTP behaviour: security headers, a clear answer when a service is down, and a
400 with the reason for input no view can use."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from concord import error_pages
from concord.exceptions import REQUEST_LIMIT_ERRORS, request_limit_message
from concord.params import NUL, ParamError, nul_check

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
    """Only the app's own scripts run: no inline script, no third-party origin (images may come
    from the media bucket's presigned URLs)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = (
            "Content-Security-Policy-Report-Only"
            if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
            else "Content-Security-Policy"
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault(self.header, _content_security_policy())
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


def _content_security_policy() -> str:
    """The policy, with the bucket's origin among the image sources when media is in object
    storage (the image routes redirect to presigned URLs there)."""
    from projects.storage import media_origin

    origin = media_origin()
    if not origin:
        return settings.CONTENT_SECURITY_POLICY
    return settings.CONTENT_SECURITY_POLICY.replace("img-src 'self'", f"img-src 'self' {origin}", 1)


class BadInputMiddleware:
    """Answer 400 with the reason, as JSON under /api/ and as a page elsewhere, for input that no
    view can use: a NUL character in the address, a query parameter or a page's form (PostgreSQL
    cannot store or compare it), a request over Django's size limits, or a ParamError a view
    raises.

    API bodies are left to DRF (its parsers and serializers refuse the same things as JSON 400s,
    after authentication), so an anonymous caller cannot make the server parse a large upload.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            self._check(request)
        except ParamError as error:
            return bad_input_response(request, error.message, param=error.param)
        except REQUEST_LIMIT_ERRORS as error:
            return bad_input_response(request, request_limit_message(error))
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ParamError):
            return bad_input_response(request, exception.message, param=exception.param)
        if isinstance(exception, REQUEST_LIMIT_ERRORS):
            return bad_input_response(request, request_limit_message(exception))
        return None

    @staticmethod
    def _check(request) -> None:
        if NUL in request.path:
            raise ParamError("path", "The address contains a NUL character (\\x00); remove it.")
        nul_check(request.GET, where="query parameter")
        if request.method == "POST" and not _is_api(request):
            nul_check(request.POST, where="form field")
            nul_check(request.FILES, where="file field")


def bad_input_response(request, message: str, *, param: str | None = None):
    if _is_api(request):
        body = {"detail": message} if param is None else {"detail": message, "param": param}
        return JsonResponse(body, status=400)
    return error_pages.bad_request(request, reason=message)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")
