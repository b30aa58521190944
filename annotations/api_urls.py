from django.urls import path

from annotations import api

urlpatterns = [
    path(
        "projects/<int:project_id>/queue/next/", api.QueueNextApi.as_view(), name="api-queue-next"
    ),
    path("projects/<int:project_id>/queue/", api.QueueStatusApi.as_view(), name="api-queue-status"),
    path(
        "projects/<int:project_id>/instructions/<int:number>/acknowledge/",
        api.InstructionAcknowledgeApi.as_view(),
        name="api-instructions-acknowledge",
    ),
    path(
        "projects/<int:project_id>/annotations/",
        api.AnnotationListApi.as_view(),
        name="api-annotations",
    ),
    path(
        "annotations/<int:annotation_id>/", api.AnnotationDetailApi.as_view(), name="api-annotation"
    ),
    path(
        "annotations/<int:annotation_id>/submit/",
        api.AnnotationSubmitApi.as_view(),
        name="api-annotation-submit",
    ),
]
