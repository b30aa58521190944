"""Login throttling: a few failed attempts per username and address, then a pause.

Counts live in Django's cache (Redis when REDIS_URL is set, so every web process shares them).
Failures are counted where Django reports them (accounts.signals, on user_login_failed), so every
door that authenticates a username and password counts alike: the login page, the admin's login
and POST /api/auth/token/. Each door refuses a locked username before authenticating it.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache


def login_name(username) -> str:
    """The username as authentication reads it, folded so that no spelling gets its own count.

    Both login forms strip surrounding whitespace (Django's form field, DRF's serializer) and the
    login page normalises Unicode (NFKC, the user model's normalize_username) before the lookup:
    " mallory" and "ｍａｌｌｏｒｙ" are mallory. Case is folded too, so that a database with
    case-insensitive usernames gets no extra tries either (counting "Mallory" with "mallory" only
    ever locks sooner).
    """
    name = get_user_model().normalize_username(str(username).strip())
    return name.strip().casefold()


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{login_name(username)}|{address}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def login_blocked(username: str, address: str) -> bool:
    return cache.get(_key(username, address), 0) >= settings.LOGIN_MAX_FAILURES


def login_failed(username: str, address: str) -> None:
    key = _key(username, address)
    window = settings.LOGIN_LOCKOUT_SECONDS
    if cache.add(key, 1, window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)


def login_succeeded(username: str, address: str) -> None:
    cache.delete(_key(username, address))


def lockout_message() -> str:
    minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
    return f"Too many failed logins. Wait {minutes} minutes and try again, or ask a lead to reset your password."
