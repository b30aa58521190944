"""Celery task of the gold checks: an answer's id in, scored (gold.scoring)."""

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError

from gold.scoring import gold_answer_score_by_id


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, IntegrityError),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def score_gold_answer_task(annotation_id: int) -> None:
    """Idempotent: scoring an answer again gives the same row."""
    gold_answer_score_by_id(annotation_id=annotation_id)
