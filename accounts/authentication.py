"""Token authentication that refuses expired and revoked keys with a message, for the API and for
the few pages an API client fetches (image files)."""

import functools

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils.formats import date_format
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.tokens import token_expired, token_expires_at

_RENEW = "Create a new one on the API token page (/accounts/token/) or with POST /api/auth/token/."


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        model = self.get_model()
        token = model.objects.select_related("user").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(
                "This API token is not valid: it was revoked (a new token, a password change or "
                f"deactivation revokes the old one) or never existed. {_RENEW}"
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This account is deactivated.")
        if token_expired(token):
            expired = date_format(token_expires_at(token), "DATETIME_FORMAT")
            raise exceptions.AuthenticationFailed(
                f"This API token expired on {expired} UTC. {_RENEW}"
            )
        return token.user, token


def login_or_token_required(view):
    """Like login_required, but an 'Authorization: Token <key>' header also logs the request in
    (for this request only); a bad key answers 401 JSON, as the API would."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            found = ExpiringTokenAuthentication().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            return JsonResponse(
                {"detail": str(exc.detail)}, status=401, headers={"WWW-Authenticate": "Token"}
            )
        if found is not None:
            request.user = found[0]
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
