"""Everything under /api/. Each app adds its endpoints in its own api_urls module."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from concord.auth_views import ThrottledTokenView

urlpatterns = [
    path("auth/token/", ThrottledTokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("projects.api_urls")),
    path("", include("annotations.api_urls")),
    path("", include("quality.api_urls")),
    path("", include("exports.api_urls")),
]
