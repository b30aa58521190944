from django.urls import path

from quality import flag_api

urlpatterns = [
    path(
        "projects/<int:project_id>/agreement/",
        flag_api.AgreementApi.as_view(),
        name="api-agreement",
    ),
    path("projects/<int:project_id>/flags/", flag_api.FlagListApi.as_view(), name="api-flags"),
    path("flags/<int:flag_id>/", flag_api.FlagResolveApi.as_view(), name="api-flag"),
]
