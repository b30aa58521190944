from django.urls import path

from gold import views

app_name = "gold"

urlpatterns = [
    path("<slug:slug>/gold/", views.gold_page, name="page"),
    path("<slug:slug>/images/<int:image_id>/gold/", views.image_make_gold, name="image-make"),
    path("<slug:slug>/feedback/<int:annotation_id>/", views.feedback_page, name="feedback"),
]
