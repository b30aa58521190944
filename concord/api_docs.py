"""The OpenAPI schema and the interactive docs: for users of the API (token or session)."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer


class SchemaView(SpectacularAPIView):
    """The schema; its errors (401 without a token or session) are JSON like every API error,
    not YAML of the schema's own media type."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


_docs_page = SpectacularSwaggerSplitView.as_view(url_name="api-schema")


def docs(request):
    """The interactive docs are a browser page: a visitor who is not logged in is sent to log
    in (with a token header the page is served, and the schema checks the token)."""
    if not request.user.is_authenticated and "HTTP_AUTHORIZATION" not in request.META:
        return redirect_to_login(request.get_full_path())
    return _docs_page(request)
