from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("<slug:slug>/import/", views.import_page, name="page"),
]
