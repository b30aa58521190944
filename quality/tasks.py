"""Celery tasks of the agreement pipeline: ids in, a service called, retries on transient errors.

A recompute is a chord: one ``assess_chunk_task`` per bounded chunk of image ids, then
``finish_run_task`` (near-duplicate conflicts, project and labeler summary, run state).
Every task is idempotent, so acks_late re-delivery or a re-run after a killed worker is safe.
``sweep_unassessed_task`` (Celery beat, every AGREEMENT_SWEEP_SECONDS) catches up on what a lost
message left undone: complete images without a current assessment.
"""

import time
from datetime import timedelta

from celery import chord, shared_task
from celery.signals import task_prerun
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, InterfaceError, OperationalError, connections
from django.utils import timezone

from projects.models import Image, Project
from quality.models import AgreementRun
from quality.selectors.figures import summary_key as _summary_key
from quality.selectors.sweep import sweep_find
from quality.services import assessment, runs
from quality.services.patterns import patterns_refresh
from quality.services.summary import project_summarize

# IntegrityError: two assessments of one image at once (a submit's task and a run's chunk, or
# the sweep); the later insert loses on a unique key. Its retry finds the image current.
TRANSIENT = (OperationalError, InterfaceError, IntegrityError)


@task_prerun.connect
def _database_connections_check(task=None, **kwargs) -> None:
    """Before each task on a worker: close a connection that broke (the database restarted)
    or outlived CONN_MAX_AGE, as Django does between requests, plus a health check (one round
    trip). Celery keeps connections between tasks (CELERY_DB_REUSE_MAX) instead of opening one
    per task. Not for tasks run eagerly: they run inside the caller's request or transaction."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        connection.close_if_unusable_or_obsolete()
        if connection.connection is not None and not connection.is_usable():
            connection.close()


_common = {
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(
    **_common,
    soft_time_limit=settings.AGREEMENT_IMAGE_SOFT_TIME_LIMIT,
    time_limit=settings.AGREEMENT_IMAGE_TIME_LIMIT,
)
def assess_image_task(image_id: int) -> None:
    assessment.image_assess(image_id=image_id)
    project_id = Image.objects.filter(pk=image_id).values_list("project_id", flat=True).first()
    if project_id is not None:
        summary_schedule(project_id)


# A summary waits at least this many times the last one's duration after the one before, so that
# summaries never take more than a fifth of a worker (they fold stored rows: well under a second
# at 100,000 images, but they grow with the project).
SUMMARY_SPACING = 4


def summary_schedule(project_id: int) -> None:
    """Refresh the project's report figures a little after labels change, at most once per wait.

    Submissions arrive in bursts; one summary a few seconds after the first of them covers the
    burst. The cache key (shared through Redis with the web processes) keeps it to one pending
    summary per project; the wait grows with the time the last summary took.
    """
    wait = _summary_wait(project_id)
    if cache.add(_summary_key(project_id), 1, timeout=wait * 10 + 60):
        summarize_project_task.apply_async((project_id,), countdown=wait)


def _summary_wait(project_id: int) -> int:
    last = cache.get(_summary_key(project_id, "seconds")) or 0
    return max(settings.AGREEMENT_SUMMARY_DELAY_SECONDS, round(SUMMARY_SPACING * last))


@shared_task(
    **_common,
    soft_time_limit=settings.AGREEMENT_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.AGREEMENT_CHUNK_TIME_LIMIT,
)
def assess_images_task(project_id: int, image_ids: list[int]) -> None:
    """Assess a batch of one project's images the sweep found missing or stale."""
    assessment.images_refresh(image_ids=image_ids, touch=True)
    summary_schedule(project_id)


# What the sweep remembers between runs, in the cache (Redis, beside the queue): until when it
# has looked at label changes, and the projects whose thresholds it found current. When Redis
# loses them it has likely lost queued messages too, and the sweep looks at everything once.
SWEEP_SWEPT_UNTIL_KEY = "concord:sweep:swept-until"
SWEEP_THRESHOLDS_KEY = "concord:sweep:thresholds-current"
SWEEP_KEYS = (SWEEP_SWEPT_UNTIL_KEY, SWEEP_THRESHOLDS_KEY)
# Label changes are looked at again for this long after a complete pass: a change committed
# late, or an assessment the sweep enqueued that a broker lost, is still found.
SWEEP_LOOKBACK = timedelta(minutes=15)
# Projects found with current thresholds are looked at again after this long.
SWEEP_THRESHOLDS_RECHECK_SECONDS = 3600


@shared_task(acks_late=True, ignore_result=True)
def sweep_unassessed_task() -> int:
    """Enqueue the assessment of images whose assessment is missing or stale (bounded batch),
    and send again the chunks of recompute runs whose worker went silent.

    Only images whose labels last changed over a sweep interval ago: a fresh submit's own task
    comes first. A project whose run shows signs of life (a chunk started or finished within
    AGREEMENT_CHUNK_STALLED_SECONDS) is left to that run. Incremental: it reads the images whose
    labels changed since its last complete pass (less SWEEP_LOOKBACK), not the project.
    Returns the number of images enqueued.
    """
    now = timezone.now()
    stalled = runs.runs_stalled_claim(now=now)
    for run_id, image_ids, chunk_key in stalled.chunks:
        assess_chunk_task.apply_async((run_id, image_ids), {"chunk_key": chunk_key})
    for run_id in stalled.finish:
        finish_run_task.delay(None, run_id=run_id)
    swept_until = cache.get(SWEEP_SWEPT_UNTIL_KEY)
    thresholds = cache.get(SWEEP_THRESHOLDS_KEY)
    settled_before = now - timedelta(seconds=max(settings.AGREEMENT_SWEEP_SECONDS, 30))
    found = sweep_find(
        limit=settings.AGREEMENT_SWEEP_BATCH,
        settled_before=settled_before,
        runs_after=now - timedelta(seconds=settings.AGREEMENT_CHUNK_STALLED_SECONDS),
        changed_after=swept_until - SWEEP_LOOKBACK if swept_until else None,
        thresholds_current=thresholds,
    )
    for project_id, image_ids in found.images.items():
        for chunk in runs.run_chunks(image_ids):
            assess_images_task.delay(project_id, chunk)
    if found.complete:
        cache.set(SWEEP_SWEPT_UNTIL_KEY, settled_before, timeout=None)
    if found.thresholds_current != thresholds:
        cache.set(
            SWEEP_THRESHOLDS_KEY,
            found.thresholds_current,
            timeout=SWEEP_THRESHOLDS_RECHECK_SECONDS,
        )
    return sum(len(ids) for ids in found.images.values())


@shared_task(
    **_common,
    soft_time_limit=settings.AGREEMENT_SUMMARY_SOFT_TIME_LIMIT,
    time_limit=settings.AGREEMENT_SUMMARY_TIME_LIMIT,
)
def summarize_project_task(project_id: int) -> None:
    # Cleared first: labels changing while this runs schedule the next summary.
    cache.delete(_summary_key(project_id))
    outcome = _one_at_a_time(project_id, "", "seconds", project_summarize)
    if outcome == "again":
        summary_schedule(project_id)
    elif outcome == "done":
        patterns_schedule(project_id)


def _one_at_a_time(project_id: int, prefix: str, seconds_key: str, work) -> str:
    """Run ``work(project=...)`` for the project unless another process is running it (then it
    is remembered, and "busy" returned); its duration is kept under ``seconds_key`` for the
    spacing. Returns "again" when it was asked meanwhile (the caller schedules it once more),
    "done", or "gone" (the project was deleted)."""
    running, again = (
        _summary_key(project_id, f"{prefix}running"),
        _summary_key(project_id, f"{prefix}again"),
    )
    if not cache.add(running, 1, timeout=settings.AGREEMENT_SUMMARY_TIME_LIMIT):
        cache.set(again, 1, timeout=settings.AGREEMENT_SUMMARY_TIME_LIMIT)
        return "busy"
    try:
        project = Project.objects.filter(pk=project_id).first()
        if project is not None:
            started = time.monotonic()
            work(project=project)
            seconds = time.monotonic() - started
            cache.set(_summary_key(project_id, seconds_key), seconds, timeout=24 * 3600)
    finally:
        cache.delete(running)
    if cache.delete(again):
        return "again"
    return "done" if project is not None else "gone"


def patterns_schedule(project_id: int) -> None:
    """Refresh the project's habits after its summary, at most once per wait.

    Habits fold every evidence row of the project (tens per image), far more than the summary
    reads, and they are statistics over hundreds of objects: they need not follow each submit.
    One refresh is pending per project at a time; it waits SUMMARY_SPACING times the last one's
    duration after the one before, so refreshes never take more than a fifth of a worker.
    """
    last = cache.get(_summary_key(project_id, "patterns-seconds")) or 0
    wait = round(SUMMARY_SPACING * last)
    if cache.add(_summary_key(project_id, "patterns"), 1, timeout=wait * 10 + 60):
        refresh_patterns_task.apply_async((project_id,), countdown=wait)


@shared_task(
    **_common,
    soft_time_limit=settings.AGREEMENT_SUMMARY_SOFT_TIME_LIMIT,
    time_limit=settings.AGREEMENT_SUMMARY_TIME_LIMIT,
)
def refresh_patterns_task(project_id: int) -> None:
    cache.delete(_summary_key(project_id, "patterns"))  # changes from now on schedule the next
    # One refresh of a project at a time (two would insert the same new habits): asked while
    # one runs, it is done after that one.
    if _one_at_a_time(project_id, "patterns-", "patterns-seconds", patterns_refresh) == "again":
        patterns_schedule(project_id)


@shared_task(
    **_common,
    soft_time_limit=settings.AGREEMENT_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.AGREEMENT_CHUNK_TIME_LIMIT,
)
def assess_chunk_task(run_id: int, image_ids: list[int], chunk_key: str | None = None) -> dict:
    """One chunk of a recompute; ``chunk_key`` is given when the sweep sends a stalled one again."""
    try:
        runs.run_chunk_claim(run_id=run_id, image_ids=image_ids, chunk_key=chunk_key)
        done = runs.run_chunk_assess(run_id=run_id, image_ids=image_ids, chunk_key=chunk_key)
    except TRANSIENT:
        raise
    except Exception as exc:
        runs.run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    if done["finish"]:
        # A chunk was sent again: the chord may never fire, so this last chunk finishes the run
        # (the figures are stored with the images, so nothing is lost without the chord).
        finish_run_task.delay(None, run_id=run_id)
    return {}


@shared_task(
    **_common,
    soft_time_limit=settings.AGREEMENT_SUMMARY_SOFT_TIME_LIMIT,
    time_limit=settings.AGREEMENT_SUMMARY_TIME_LIMIT,
)
def finish_run_task(_chunk_results, run_id: int) -> None:
    try:
        runs.run_finish(run_id=run_id)
    except TRANSIENT:
        raise
    except Exception as exc:
        runs.run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    # The habits after the run, by their own task: a run's success never waits for their fold.
    project_id = AgreementRun.objects.filter(pk=run_id).values_list("project_id", flat=True).first()
    if project_id is not None:
        patterns_schedule(project_id)


def run_dispatch(run_id: int, image_ids: list[int]) -> None:
    """Send a recompute run's chunks as a chord whose final task finishes the run."""
    chunks = runs.run_chunks_plan(run_id=run_id, image_ids=image_ids)
    if not chunks:
        finish_run_task.delay([], run_id=run_id)
        return
    header = [assess_chunk_task.si(run_id, chunk) for chunk in chunks]
    body = finish_run_task.s(run_id=run_id)
    chord(header)(body.on_error(fail_run_task.s(run_id=run_id)))


@shared_task(acks_late=True)
def fail_run_task(*args, run_id: int) -> None:
    """Error callback of the chord: records the failure on the run (args vary by Celery path)."""
    runs.run_fail(run_id=run_id, error=_describe_failure(args))


def _describe_failure(args) -> str:
    for arg in args:
        if isinstance(arg, BaseException):
            return f"{type(arg).__name__}: {arg}"
    return "A chunk of the recompute failed; see the worker log. Start the recompute again."
