"""Receivers: count failed logins on every door; revoke API tokens when credentials change."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import pre_save
from django.dispatch import receiver

from accounts import tokens
from concord import ratelimit


@receiver(user_login_failed, dispatch_uid="accounts-count-failed-login")
def _login_failed(sender, credentials, request=None, **kwargs):
    if request is not None:
        ratelimit.login_failed(credentials.get("username", ""), ratelimit.client_address(request))


@receiver(user_logged_in, dispatch_uid="accounts-reset-failed-logins")
def _logged_in(sender, request, user, **kwargs):
    if request is not None:
        ratelimit.login_succeeded(user.get_username(), ratelimit.client_address(request))


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-revoke-tokens")
def _credentials_changed(sender, instance, raw=False, update_fields=None, **kwargs):
    """A new password (by any path: set_password, the password forms, the admin), an unusable
    one, or deactivation revokes the user's API tokens: whoever held the old key loses it.

    Django marks a password set by set_password in `_password` until the save; a hash upgrade at
    login clears it first, so logging in never revokes anything.
    """
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    password_set = getattr(instance, "_password", None) is not None
    if password_set or not instance.has_usable_password() or not instance.is_active:
        tokens.tokens_revoke(user=instance)
