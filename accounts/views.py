"""The "API token" page: see the caller's token, create or regenerate it, revoke it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts import tokens


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            tokens.token_create(user=request.user)
            messages.success(request, "A new API token was made; any older one stopped working.")
        elif action == "revoke":
            tokens.tokens_revoke(user=request.user)
            messages.success(request, "Your API token was revoked: it no longer works.")
        else:
            messages.error(request, "Choose to create or to revoke the token.")
        return redirect("accounts:token")
    stored = tokens.token_stored(user=request.user)
    expired = stored is not None and tokens.token_expired(stored)
    return render(
        request,
        "accounts/token.html",
        {
            "token": None if expired else stored,
            "expires": tokens.token_expires_at(stored) if stored else None,
            "expired": expired,
            "api_root": request.build_absolute_uri(reverse("api-docs")).rsplit("docs/", 1)[0],
        },
    )
