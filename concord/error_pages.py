"""The site's own 403 and 404 pages, with the reason the server knows, in every DEBUG mode.

Django shows its technical 404 page under DEBUG (the `make run` default): it lists every URL
pattern and is not a page to show a labeler. ErrorPageMiddleware answers those 404s with the
site's page as well; API addresses keep their JSON errors.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from concord.params import ParamError

NOT_FOUND = "There is no page at this address."
BAD_REQUEST = "Something in the address or the form cannot be used."
CSRF_FAILED = (
    "This form was open too long or came from another site, so it was not sent. "
    "Go back, reload the page and try again."
)

# Messages Django writes for developers (get_object_or_404, the URL resolver): not shown.
_DEVELOPER_MESSAGES = ("matches the given query", "Resolver404", "'tried'", "'path'")


def _reason(exception, default: str) -> str:
    message = str(exception) if exception is not None else ""
    if not message or any(part in message for part in _DEVELOPER_MESSAGES):
        return default
    return message


def page_not_found(request, exception=None):
    return _error_page(request, 404, "Page not found", _reason(exception, NOT_FOUND))


def bad_request(request, exception=None, reason: str = ""):
    """400: the reason a view or BadInputMiddleware gives; Django's own 400s (a bad Host header)
    get a general sentence, their messages are for developers."""
    if not reason and isinstance(exception, ParamError):
        reason = exception.message
    return _error_page(request, 400, "Bad request", reason or BAD_REQUEST)


def permission_denied(request, exception=None):
    reason = _reason(exception, "Your account is not allowed to do this.")
    return _error_page(request, 403, "Not allowed", reason)


def csrf_failure(request, reason=""):
    return _error_page(request, 403, "Form expired", CSRF_FAILED)


def _error_page(request, status: int, title: str, reason: str):
    response = render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "reason": reason},
        status=status,
    )
    response.concord_error_page = True
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


class ErrorPageMiddleware:
    """Under DEBUG, the site's 404 page instead of Django's technical one (outside /api/)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, "concord_error_page", False)
            and response.get("Content-Type", "").startswith("text/html")
            and not _is_api(request)
        ):
            return page_not_found(request)
        return response

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404) and not _is_api(request):
            return page_not_found(request, exception)
        return None
