"""Settings of the servers and workers the hardening tests start: production (DEBUG off), except
static files, named from the source folders since no collectstatic runs for a test."""

from concord.settings import *  # noqa: F403
from concord.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
