"""Small readers for settings that come from the environment.

Each raises ImproperlyConfigured naming the variable, so a bad value stops start-up with a message a
person can act on instead of a confusing failure later.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default_sqlite_path) -> dict:
    """DATABASE_URL -> a Django DATABASES entry; SQLite in the project folder when unset."""
    import dj_database_url

    raw = os.environ.get(name, "").strip()
    if not raw:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite_path)}
    if not raw.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// (or sqlite://) URL, e.g. "
            f"postgres://postgres@127.0.0.1:5432/concord; got {raw!r}"
        )
    try:
        config = dj_database_url.parse(raw, conn_max_age=60)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config["ENGINE"].endswith("postgresql"):
        if not config.get("NAME"):
            raise ImproperlyConfigured(
                f"{name} must name a database, e.g. .../concord; got {raw!r}"
            )
        # Concord's queries are short or streamed; PostgreSQL's JIT compiler only adds start-up
        # time to them (0.1-1.7 s per export query measured in bench/export.py).
        config.setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    return config


def env_redis_url(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if raw and not raw.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(
            f"{name} must be a redis:// URL, e.g. redis://127.0.0.1:6379/0; got {raw!r}"
        )
    return raw
