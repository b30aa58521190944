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


MEDIA_STORAGES = ("local", "s3")
ADDRESSING_STYLES = ("auto", "path", "virtual")


def env_media_storage(*, url_seconds: int) -> dict | None:
    """MEDIA_STORAGE=s3 -> the STORAGES["default"] entry of the S3 backend (django-storages,
    boto3), from django-storages' own variable names; None for the local disk (the default).

    Presigned URLs live ``url_seconds``. Credentials may come from boto3's usual chain (an
    instance role) when both keys are unset; one key without the other is an error.
    """
    kind = os.environ.get("MEDIA_STORAGE", "local").strip().lower() or "local"
    if kind not in MEDIA_STORAGES:
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be local or s3; got {kind!r}")
    if kind == "local":
        return None
    bucket = os.environ.get("AWS_STORAGE_BUCKET_NAME", "").strip()
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (the bucket).")
    access_key = os.environ.get("AWS_ACCESS_KEY_ID", "").strip()
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if bool(access_key) != bool(secret_key):
        raise ImproperlyConfigured(
            "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (boto3 then finds "
            "credentials itself, e.g. an instance role)."
        )
    style = os.environ.get("AWS_S3_ADDRESSING_STYLE", "auto").strip().lower() or "auto"
    if style not in ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE must be auto, path or virtual; got {style!r}"
        )
    endpoint = _env_http_url("AWS_S3_ENDPOINT_URL")
    public_endpoint = _env_http_url("MEDIA_PUBLIC_ENDPOINT_URL") or endpoint
    from botocore.config import Config

    attempts = env_int("AWS_MAX_ATTEMPTS", 5, minimum=1)
    return {
        "BACKEND": "projects.storage.MediaS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "public_endpoint_url": public_endpoint,
            "region_name": os.environ.get("AWS_S3_REGION_NAME", "").strip() or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "addressing_style": style,
            # Never a public bucket: every URL the browser gets is signed and short-lived.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": url_seconds,
            # Names are content hashes: the same name is the same bytes, no existence check.
            "file_overwrite": True,
            # Reads of larger files spill to a temporary file instead of memory.
            "max_memory_size": 8 * 1024 * 1024,
            "client_config": Config(
                s3={"addressing_style": style},
                signature_version="s3v4",
                retries={"mode": "standard", "max_attempts": attempts},
                connect_timeout=5,
                read_timeout=30,
                max_pool_connections=16,
            ),
        },
    }


def _env_http_url(name: str) -> str | None:
    from urllib.parse import urlsplit

    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(
            f"{name} must be an http:// or https:// URL, e.g. http://127.0.0.1:9000; got {raw!r}"
        )
    return raw.rstrip("/")
