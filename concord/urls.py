from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from concord.auth_views import login, login_throttled
from projects import people_views
from projects import views as project_views

urlpatterns = [
    path("", project_views.home, name="home"),
    path("accounts/login/", login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("admin/login/", login_throttled(admin.site.login)),  # before admin/: the same throttle
    path("admin/", admin.site.urls),
    path("invitations/<str:token>/", people_views.invitation_accept, name="invitation"),
    path("api/", include("concord.api_urls")),
    path("projects/", include("projects.settings_urls")),  # before <slug>/: has new/
    path("projects/", include("quality.urls")),
    path("projects/", include("exports.urls")),
    path("projects/", include("imports.urls")),
    path("projects/", include("gold.urls")),
    path("projects/", include("projects.urls")),
    path("health/", project_views.health, name="health"),
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (the API's JSON, images);
    # not permanent: the static name changes with its content under the manifest storage.
    path("favicon.ico", lambda request: HttpResponseRedirect(static("favicon.svg"))),
]

handler400 = "concord.error_pages.bad_request"
handler403 = "concord.error_pages.permission_denied"
handler404 = "concord.error_pages.page_not_found"

# No /media/ route, in any mode: image files are served only by projects.views.image_file, to
# members of their project (session or API token).
