from django.urls import path

from annotations import views as labeling_views
from projects import image_views, instruction_views, views

app_name = "projects"

urlpatterns = [
    path("<slug:slug>/", views.project_detail, name="detail"),
    path("<slug:slug>/images/", image_views.image_list, name="images"),
    path("<slug:slug>/images/<int:image_id>/", image_views.image_detail, name="image"),
    path(
        "<slug:slug>/images/<int:image_id>/delete/", image_views.image_delete, name="image-delete"
    ),
    path("<slug:slug>/images/<int:image_id>/thumb/", image_views.image_thumb, name="image-thumb"),
    path("<slug:slug>/images/<int:image_id>/file/", views.image_file, name="image-file"),
    path("<slug:slug>/label/", labeling_views.label, name="label"),
    path("<slug:slug>/my-work/", labeling_views.my_work, name="my-work"),
    path("<slug:slug>/instructions/", instruction_views.instructions_history, name="instructions"),
    path(
        "<slug:slug>/instructions/edit/",
        instruction_views.instructions_edit,
        name="instructions-edit",
    ),
    path(
        "<slug:slug>/instructions/preview/",
        instruction_views.instructions_preview,
        name="instructions-preview",
    ),
    path(
        "<slug:slug>/instructions/diff/",
        instruction_views.instructions_diff,
        name="instructions-diff",
    ),
    path(
        "<slug:slug>/instructions/images/",
        instruction_views.instruction_asset_upload,
        name="instruction-asset-upload",
    ),
    path(
        "<slug:slug>/instructions/images/<int:asset_id>/",
        instruction_views.instruction_asset_file,
        name="instruction-asset",
    ),
    path(
        "<slug:slug>/instructions/<int:number>/acknowledge/",
        labeling_views.instructions_acknowledge,
        name="acknowledge",
    ),
]
