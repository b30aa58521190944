from django.urls import path

from quality import api_runs, bulk_review_api, flag_api, pattern_api

urlpatterns = [
    path(
        "projects/<int:project_id>/agreement/",
        flag_api.AgreementApi.as_view(),
        name="api-agreement",
    ),
    path("projects/<int:project_id>/flags/", flag_api.FlagListApi.as_view(), name="api-flags"),
    path(
        "projects/<int:project_id>/flags/bulk/",
        bulk_review_api.FlagBulkApi.as_view(),
        name="api-flags-bulk",
    ),
    path(
        "projects/<int:project_id>/patterns/",
        pattern_api.PatternListApi.as_view(),
        name="api-patterns",
    ),
    path(
        "patterns/<int:pattern_id>/act/",
        pattern_api.PatternActApi.as_view(),
        name="api-pattern-act",
    ),
    path("flags/<int:flag_id>/", flag_api.FlagResolveApi.as_view(), name="api-flag"),
    path(
        "projects/<int:project_id>/agreement/recompute/",
        api_runs.RecomputeApi.as_view(),
        name="api-agreement-recompute",
    ),
    path("runs/<int:run_id>/", api_runs.RunApi.as_view(), name="api-run"),
]
