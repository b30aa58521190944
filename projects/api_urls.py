from django.urls import path

from projects import api, image_api

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<int:project_id>/", api.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<int:project_id>/classes/", api.LabelClassListApi.as_view(), name="api-classes"),
    path(
        "projects/<int:project_id>/instructions/",
        api.InstructionListApi.as_view(),
        name="api-instructions",
    ),
    path("projects/<int:project_id>/members/", api.MemberListApi.as_view(), name="api-members"),
    path("projects/<int:project_id>/images/", image_api.ImageListApi.as_view(), name="api-images"),
]
