from django.urls import path

from gold import api

urlpatterns = [
    path("projects/<int:project_id>/gold/", api.GoldListApi.as_view(), name="api-gold"),
    path(
        "projects/<int:project_id>/gold/policy/",
        api.GoldPolicyApi.as_view(),
        name="api-gold-policy",
    ),
    path("projects/<int:project_id>/labelers/", api.LabelerListApi.as_view(), name="api-labelers"),
    path(
        "projects/<int:project_id>/labelers/<int:user_id>/resume/",
        api.LabelerResumeApi.as_view(),
        name="api-labeler-resume",
    ),
    path(
        "annotations/<int:annotation_id>/feedback/",
        api.FeedbackApi.as_view(),
        name="api-annotation-feedback",
    ),
]
