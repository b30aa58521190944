"""Every API error as JSON with a `detail` a person can act on.

DRF already answers its own exceptions with {"detail": ...}; this handler also turns field
validation errors ({"field": ["..."]}) into one readable sentence while keeping the per-field
messages under "errors", turns Django's ValidationError (raised by services) into a 400 of the
same shape, turns a bad query parameter (ParamError) or a request over Django's size limits into a
400 that says what to change, and rewrites the terse defaults for 401/403/404/405 into something
actionable.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from concord.params import ParamError

_NOT_AUTHENTICATED = (
    "Authentication required: log in, or send the header 'Authorization: Token <key>' "
    "(get a key from POST /api/auth/token/ with your username and password)."
)


def api_exception_handler(exc, context):
    if isinstance(exc, ParamError):
        return Response(
            {"detail": exc.message, "param": exc.param}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, REQUEST_LIMIT_ERRORS):
        return Response({"detail": request_limit_message(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        detail = str(exc.detail) if isinstance(exc, exceptions.AuthenticationFailed) else ""
        response.data = {"detail": f"{detail} {_NOT_AUTHENTICATED}".strip()}
    elif isinstance(exc, (Http404, exceptions.NotFound)):
        message = str(exc) if str(exc) and "matches the given query" not in str(exc) else ""
        response.data = {
            "detail": message or "Not found: no such object, or you have no role in its project."
        }
    elif isinstance(exc, exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = ", ".join(m for m in getattr(view, "allowed_methods", []) if m != "OPTIONS")
        response.data = {"detail": f"{data.get('detail')} Allowed: {allowed}."}
    elif isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _sentence(data), "errors": data}
    elif isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        response.data = {"detail": str(data.get("detail") if isinstance(data, dict) else data)}
    elif not isinstance(data, dict) or "detail" not in data:
        response.data = {"detail": _sentence(data), "errors": data}
    return response


REQUEST_LIMIT_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def request_limit_message(exc: Exception) -> str:
    """What to do about a request over one of Django's limits (for the API and the pages)."""
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return (
            f"More than {limit} files in one request; send at most {limit} at a time, "
            "or put them in a zip."
        )
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return f"More than {limit} fields in one request; send fewer at a time."
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return (
        f"The request body is larger than {_size(limit)} (DATA_UPLOAD_MAX_MEMORY_SIZE, {limit} "
        "bytes); send less at a time. Image files do not count: upload them as multipart files."
    )


def _size(n: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} bytes"


def _django_errors(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"non_field_errors": exc.messages}


def _sentence(data) -> str:
    """Flatten DRF's error structure into 'field: message; other: message'."""
    parts = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, [*path, str(key)])
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, path if not isinstance(inner, (dict, list)) else [*path, str(index)])
        else:
            label = ".".join(p for p in path if p not in ("non_field_errors",))
            parts.append(f"{label}: {value}" if label else str(value))

    walk(data, [])
    return "; ".join(parts) or "The request is not valid."


class ApiErrorOutput(serializers.Serializer):
    """The shape of every API error (for the OpenAPI schema)."""

    detail = serializers.CharField(help_text="What went wrong, in words a person can act on.")
    param = serializers.CharField(required=False, help_text="The query parameter at fault.")
    errors = serializers.DictField(
        required=False, help_text="Per-field messages of a validation error."
    )


# The errors an endpoint in one project answers, for its OpenAPI responses (ProjectScopedApi).
PROJECT_ERRORS = {
    400: OpenApiResponse(ApiErrorOutput, description="The input is not valid; `errors` per field."),
    401: OpenApiResponse(ApiErrorOutput, description="Not logged in and no token sent."),
    403: OpenApiResponse(
        ApiErrorOutput, description="Your role in the project does not allow this."
    ),
    404: OpenApiResponse(ApiErrorOutput, description="No such project, or you have no role in it."),
}
PROJECT_READ_ERRORS = {k: v for k, v in PROJECT_ERRORS.items() if k != 400}
