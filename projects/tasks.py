"""Celery tasks of image registration (projects.registration): ids in, a service called, and
what it found sent on.

Listing goes a few pages per task and enqueues its next part, each page's objects going to
register_chunk_task in chunks that the workers take in parallel. Storage errors that pass
botocore's own retries (a connection refused, a 5xx) retry the task with a backoff; every task is
idempotent, so acks_late re-delivery after a lost worker is safe.
"""

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from projects import registration
from quality.services.runs import run_fail

TRANSIENT = (OperationalError, InterfaceError, BotoCoreError)
LIST_PAGES_PER_TASK = 10

_common = {
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": settings.REGISTER_CHUNK_SOFT_TIME_LIMIT,
    "time_limit": settings.REGISTER_CHUNK_TIME_LIMIT,
}


def _server_error(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500 or error.response.get("Error", {}).get("Code") == "SlowDown"


def _fail(run_id: int, error: BaseException) -> None:
    run_fail(run_id=run_id, error=f"{type(error).__name__}: {error}")


def _chunks_send(run_id: int, object_ids: list[int]) -> None:
    for first, last in registration.object_chunks(object_ids):
        register_chunk_task.delay(run_id, first, last)


@shared_task(bind=True, **_common)
def register_list_task(self, run_id: int) -> None:
    try:
        listed = registration.registration_list(run_id=run_id, pages=LIST_PAGES_PER_TASK)
    except ClientError as error:
        if _server_error(error):
            raise self.retry(exc=error) from None
        _fail(run_id, error)  # no such bucket, access denied: retrying changes nothing
        return
    except registration.RegistrationRefused as error:  # the manifest went away or changed
        _fail(run_id, error)
        return
    except TRANSIENT:
        raise
    except Exception as error:
        _fail(run_id, error)
        raise
    _chunks_send(run_id, listed.pending)
    if listed.more:
        register_list_task.delay(run_id)


@shared_task(bind=True, **_common)
def register_chunk_task(self, run_id: int, first_id: int, last_id: int) -> int:
    try:
        return registration.registration_chunk(run_id=run_id, first_id=first_id, last_id=last_id)
    except ClientError as error:
        if _server_error(error):
            raise self.retry(exc=error) from None
        _fail(run_id, error)
        raise


@shared_task(acks_late=True, ignore_result=True)
def registrations_resume_task() -> int:
    """Celery beat: send again the work of registrations whose workers went silent; returns
    how many registrations were resumed."""
    resumed = registration.registrations_resume_claim()
    for work in resumed:
        if work.list_again:
            register_list_task.delay(work.run_id)
        _chunks_send(work.run_id, work.pending)
    return len(resumed)
