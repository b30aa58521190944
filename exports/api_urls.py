from django.urls import path

from exports import api

urlpatterns = [
    path("projects/<int:project_id>/export/", api.ExportApi.as_view(), name="api-export"),
    path("projects/<int:project_id>/datacard/", api.DataCardApi.as_view(), name="api-datacard"),
]
