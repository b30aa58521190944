"""Celery task of an import: the run's id in, the service called (imports.services)."""

from celery import shared_task
from django.conf import settings

from imports.services import import_execute
from quality.tasks import TRANSIENT


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=settings.IMPORT_SOFT_TIME_LIMIT,
    time_limit=settings.IMPORT_TIME_LIMIT,
)
def import_task(run_id: int) -> None:
    """Idempotent: a redelivered or retried import skips the label sets written already."""
    import_execute(run_id=run_id)
