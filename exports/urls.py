from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("<slug:slug>/export/", views.export_page, name="page"),
]
