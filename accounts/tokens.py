"""API tokens: one per user, expiring after API_TOKEN_TTL_DAYS, revoked when credentials change.

DRF's authtoken Token is the row (its key is the primary key, so a new key is a new row). Expiry
is computed from its `created` time; accounts.authentication refuses an expired key.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token


def token_expires_at(token: Token) -> datetime | None:
    """When the token stops working; None when tokens never expire (API_TOKEN_TTL_DAYS=0)."""
    if not settings.API_TOKEN_TTL_DAYS:
        return None
    return token.created + timedelta(days=settings.API_TOKEN_TTL_DAYS)


def token_expired(token: Token) -> bool:
    expires = token_expires_at(token)
    return expires is not None and expires <= timezone.now()


def token_of(*, user) -> Token | None:
    """The user's token if it still works, else None."""
    token = token_stored(user=user)
    return None if token is None or token_expired(token) else token


def token_stored(*, user) -> Token | None:
    """The user's token, expired or not."""
    return Token.objects.filter(user=user).first()


@transaction.atomic
def token_create(*, user) -> Token:
    """A new key for the user; the old one (if any) stops working."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def token_obtain(*, user) -> Token:
    """The user's working token, or a new one if they have none or it expired.

    Logging in with a password from a second machine keeps the first machine's key working.
    """
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_expired(token):
        return token
    return token_create(user=user)


def tokens_revoke(*, user) -> int:
    """Delete the user's tokens; returns how many there were."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
