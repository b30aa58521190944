"""Lead pages mounted under /projects/ before the project routes, so "new/" is not a slug."""

from django.urls import path

from projects import people_views, settings_views

app_name = "project-settings"

urlpatterns = [
    path("new/", settings_views.project_new, name="new"),
    path("<slug:slug>/settings/", settings_views.project_settings, name="settings"),
    path("<slug:slug>/people/", people_views.people_page, name="people"),
    path("<slug:slug>/people/users/", people_views.user_search, name="user-search"),
]
