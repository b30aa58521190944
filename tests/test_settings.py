import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from concord import env


@pytest.fixture
def environ(monkeypatch):
    return monkeypatch


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("0", False)]
)
def test_env_bool_reads_common_spellings(environ, raw, expected):
    environ.setenv("DEBUG", raw)
    assert env.env_bool("DEBUG") is expected


def test_env_bool_names_the_variable_on_bad_value(environ):
    environ.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env.env_bool("DEBUG")


def test_env_int_names_the_variable_and_checks_minimum(environ):
    environ.setenv("UPLOAD_MAX_BYTES", "lots")
    with pytest.raises(ImproperlyConfigured, match="UPLOAD_MAX_BYTES"):
        env.env_int("UPLOAD_MAX_BYTES", 1)
    environ.setenv("UPLOAD_MAX_BYTES", "5")
    with pytest.raises(ImproperlyConfigured, match="at least 1024"):
        env.env_int("UPLOAD_MAX_BYTES", 1, minimum=1024)


def test_database_defaults_to_sqlite_in_the_project(environ, tmp_path):
    environ.delenv("DATABASE_URL", raising=False)
    config = env.env_database("DATABASE_URL", tmp_path / "db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"


def test_database_url_is_parsed_and_validated(environ, tmp_path):
    environ.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/concord")
    config = env.env_database("DATABASE_URL", tmp_path / "x")
    assert config["ENGINE"] == "django.db.backends.postgresql" and config["NAME"] == "concord"
    environ.setenv("DATABASE_URL", "mysql://nope")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.env_database("DATABASE_URL", tmp_path / "x")


def test_redis_url_must_be_redis(environ):
    environ.setenv("REDIS_URL", "http://127.0.0.1")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env.env_redis_url("REDIS_URL")


def _settings_in_fresh_process(**overrides):
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(overrides)
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','concord.settings');"
        "from django.conf import settings as s;"
        "print(s.CELERY_TASK_ALWAYS_EAGER, s.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True
    )


def test_embedded_default_uses_sqlite_and_eager_tasks():
    done = _settings_in_fresh_process()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "django.db.backends.sqlite3"]


def test_redis_url_switches_celery_to_the_broker():
    done = _settings_in_fresh_process(REDIS_URL="redis://127.0.0.1:6379/9")
    assert done.stdout.split()[0] == "False"


def test_bad_value_stops_start_up_naming_the_variable():
    done = _settings_in_fresh_process(UPLOAD_MAX_PIXELS="many")
    assert done.returncode != 0
    assert "UPLOAD_MAX_PIXELS" in done.stderr


def test_production_without_secret_key_refuses_to_start():
    done = _settings_in_fresh_process(DEBUG="0", SECRET_KEY="")
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr


S3_VARIABLES = (
    "MEDIA_STORAGE",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_ADDRESSING_STYLE",
    "MEDIA_PUBLIC_ENDPOINT_URL",
)


@pytest.fixture
def s3_environ(environ):
    for name in S3_VARIABLES:
        environ.delenv(name, raising=False)
    return environ


def test_media_stays_on_the_local_disk_by_default(s3_environ):
    assert env.env_media_storage(url_seconds=300) is None
    s3_environ.setenv("MEDIA_STORAGE", "local")
    assert env.env_media_storage(url_seconds=300) is None


def test_s3_media_is_configured_with_django_storages_names(s3_environ):
    s3_environ.setenv("MEDIA_STORAGE", "s3")
    s3_environ.setenv("AWS_STORAGE_BUCKET_NAME", "team-images")
    s3_environ.setenv("AWS_S3_ENDPOINT_URL", "http://127.0.0.1:9000/")
    s3_environ.setenv("AWS_S3_REGION_NAME", "eu-west-1")
    s3_environ.setenv("AWS_ACCESS_KEY_ID", "key")
    s3_environ.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    s3_environ.setenv("AWS_S3_ADDRESSING_STYLE", "path")
    storage = env.env_media_storage(url_seconds=120)
    options = storage["OPTIONS"]
    assert storage["BACKEND"] == "projects.storage.MediaS3Storage"
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "team-images",
        "http://127.0.0.1:9000",
        "eu-west-1",
    )
    assert (options["access_key"], options["secret_key"]) == ("key", "secret")
    assert options["addressing_style"] == "path"
    assert options["public_endpoint_url"] == "http://127.0.0.1:9000"
    # Never public: signed URLs only, no ACL that would open an object to everyone.
    assert options["querystring_auth"] is True and options["default_acl"] is None
    assert options["querystring_expire"] == 120
    assert options["client_config"].retries["mode"] == "standard"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"MEDIA_STORAGE": "gcs"}, "MEDIA_STORAGE must be local or s3"),
        ({"MEDIA_STORAGE": "s3"}, "needs AWS_STORAGE_BUCKET_NAME"),
        (
            {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_ACCESS_KEY_ID": "k"},
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ADDRESSING_STYLE": "x"},
            "AWS_S3_ADDRESSING_STYLE must be auto, path or virtual",
        ),
        (
            {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ENDPOINT_URL": "minio"},
            "AWS_S3_ENDPOINT_URL must be an http:// or https:// URL",
        ),
    ],
)
def test_a_bad_media_setting_names_the_variable(s3_environ, variables, message):
    for name, value in variables.items():
        s3_environ.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        env.env_media_storage(url_seconds=300)
