from django.urls import path

from imports import api

urlpatterns = [
    path("projects/<int:project_id>/imports/", api.ImportListApi.as_view(), name="api-imports"),
]
