"""The login pages (Concord's and the admin's), both throttled after repeated failures.

Failures are counted by accounts.signals for every door alike (concord.ratelimit); these wrappers
refuse a locked username before the password is even checked. POST /api/auth/token/ does the same
in accounts.api.
"""

import functools

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from concord import ratelimit


def login_throttled(view):
    @functools.wraps(view)
    def throttled(request, *args, **kwargs):
        if request.method == "POST" and ratelimit.login_blocked(
            request.POST.get("username", ""), ratelimit.client_address(request)
        ):
            return HttpResponse(
                ratelimit.lockout_message(), status=429, content_type="text/plain; charset=utf-8"
            )
        return view(request, *args, **kwargs)

    return throttled


login = login_throttled(auth_views.LoginView.as_view())
