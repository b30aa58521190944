"""Logging filters named in settings.LOGGING."""

import logging

# Answers the app gives on purpose (a member without the role, a project hidden from an
# outsider): one line each, not a traceback that looks like a crash.
EXPECTED_STATUSES = frozenset({403, 404})


class ExpectedErrorWithoutTraceback(logging.Filter):
    """On django.request: drop the traceback Django attaches to a 403 (PermissionDenied) or 404."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in EXPECTED_STATUSES:
            record.exc_info = None
            record.exc_text = None
        return True
