from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("<slug:slug>/", views.project_detail, name="detail"),
    path("<slug:slug>/images/<int:image_id>/file/", views.image_file, name="image-file"),
]
