from django.urls import path

from quality import image_review_views, pattern_views, views

app_name = "quality"

urlpatterns = [
    path("<slug:slug>/report/", views.report, name="report"),
    path("<slug:slug>/flags/", views.flag_list, name="flags"),
    path("<slug:slug>/flags/<int:flag_id>/", views.flag_review, name="review"),
    path(
        "<slug:slug>/flags/image/<int:image_id>/",
        image_review_views.image_review,
        name="image-review",
    ),
    path(
        "<slug:slug>/patterns/<int:pattern_id>/act/",
        pattern_views.pattern_act_page,
        name="pattern-act",
    ),
    path(
        "<slug:slug>/patterns/<int:pattern_id>/instructions/",
        pattern_views.pattern_instructions,
        name="pattern-instructions",
    ),
    path(
        "<slug:slug>/flags/<int:flag_id>/instructions/",
        views.flag_instructions,
        name="flag-instructions",
    ),
]
