"""Everything under /api/. Each app adds its endpoints in its own api_urls module."""

from django.http import JsonResponse
from django.urls import include, path, re_path

from accounts.api import TokenApi
from concord import api_docs

urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("schema/", api_docs.SchemaView.as_view(), name="api-schema"),
    path("docs/", api_docs.docs, name="api-docs"),
    path("", include("projects.api_urls")),
    path("", include("annotations.api_urls")),
    path("", include("quality.api_urls")),
    path("", include("exports.api_urls")),
    path("", include("imports.api_urls")),
    path("", include("gold.api_urls")),
    # Last: any other /api/ address answers JSON, like every other API error.
    re_path(r"^.*$", lambda request, *args, **kwargs: _not_found(request)),
]


def _not_found(request):
    return JsonResponse(
        {"detail": f"No API endpoint at {request.path}. The list is at /api/docs/."}, status=404
    )
