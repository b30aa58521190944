"""The agreement pipeline's front door: what other apps (and quality's own services) call when
something changes; each function enqueues the pipeline's tasks once the caller's transaction
commits.

Callers never import quality.tasks directly: the rules for *when* an image needs assessing
live here, next to the pipeline. This module imports the tasks; tasks and services never import
it back, so there is no import circle.
"""

import logging

from django.db import transaction
from django.db.models import Exists, OuterRef
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from projects.models import Image, Project
from quality import tasks
from quality.models import AgreementRun, ImageAgreement
from quality.services.runs import run_chunks, run_create

log = logging.getLogger(__name__)


def _image_state(*, image_id: int) -> tuple[int, int, int, bool]:
    """(labelers_per_image, label sets with drafts, submitted label sets, assessed) in one query
    of the image's own rows (the counts are kept by triggers)."""
    return (
        Image.objects.filter(pk=image_id)
        .annotate(assessed=Exists(ImageAgreement.objects.filter(image=OuterRef("pk"))))
        .values_list(
            "project__labelers_per_image", "label_set_count", "submitted_count", "assessed"
        )
        .get()
    )


def image_labels_changed(*, image_id: int) -> None:
    """Call inside the transaction that changed an image's submitted labels.

    That is a submit, or an edit of an already submitted annotation. Once the transaction commits,
    the image's assessment is enqueued if the image is complete (its N submitted label sets) or
    was assessed before (a change to a complete image, or a withdrawn submission, must refresh
    the stored agreement). Nothing is enqueued if the transaction rolls back.

    Completeness is decided after the commit: two labelers submitting an image's last two label
    sets at once each see only their own submission inside their transaction (the other's is
    still a draft), so neither would enqueue it. Inside the transaction, drafts count as
    possibly submitted, which only decides whether the check after the commit is needed.
    """
    needed, label_sets, _, assessed = _image_state(image_id=image_id)
    if not (label_sets >= needed or assessed):
        return
    # robust: the labels are committed whatever happens next (an eager assessment racing
    # another one, the broker down); Django logs the error and the sweep catches up.
    transaction.on_commit(lambda: _assessment_enqueue(image_id=image_id), robust=True)


def _assessment_enqueue(*, image_id: int) -> None:
    """Enqueue the image's assessment if it needs one; never fails the committed request.

    A broker that cannot be reached is logged and left to the periodic sweep
    (sweep_unassessed_task), which finds complete images without a current assessment: the
    labels are committed already, and the labeler must not see an error for them. No result is
    read back, so the result backend (whose reconnect loop would hold the request for about
    20 s while Redis is down) is never contacted.
    """
    needed, _, submitted, assessed = _image_state(image_id=image_id)
    if not (submitted >= needed or assessed):
        return
    try:
        tasks.assess_image_task.apply_async((image_id,), ignore_result=True)
    except (KombuOperationalError, RedisError, OSError) as exc:
        log.warning("assessment of image %s not enqueued (%s); the sweep will do it", image_id, exc)


def images_relabeled(*, project_id: int, image_ids: list[int]) -> None:
    """Call inside a transaction that changed many images' submitted boxes at once (a class
    merge). Once it commits, the images are assessed again in bounded batches; the ones not
    complete are left as they are. A broker that cannot be reached leaves them to the sweep
    (the caller stamped their label sets as changed)."""
    if image_ids:
        transaction.on_commit(
            lambda: _images_enqueue(project_id=project_id, image_ids=image_ids), robust=True
        )


def _images_enqueue(*, project_id: int, image_ids: list[int]) -> None:
    for chunk in run_chunks(sorted(image_ids)):
        try:
            tasks.assess_images_task.apply_async((project_id, chunk), ignore_result=True)
        except (KombuOperationalError, RedisError, OSError) as exc:
            log.warning("reassessment of %d images not enqueued (%s)", len(chunk), exc)
            return


def project_figures_stale(*, project_id: int) -> None:
    """Call inside a transaction that changed what the report counts without changing an
    image's labels (images uploaded or removed, a lead's decision): once it commits, the
    project's summary and report figures are refreshed, a few seconds later, as after a submit."""
    transaction.on_commit(lambda: _summary_enqueue(project_id=project_id), robust=True)


def _summary_enqueue(*, project_id: int) -> None:
    try:
        tasks.summary_schedule(project_id)
    except (KombuOperationalError, RedisError, OSError) as exc:
        log.warning("summary of project %s not enqueued (%s)", project_id, exc)


def recompute_start(*, project: Project, requested_by=None, reason: str = "") -> AgreementRun:
    """Start a full recompute of the project (thresholds changed, engine upgraded, or asked).

    Call it inside the transaction that changed the thresholds: the run's chunks are enqueued
    on commit. Returns the AgreementRun whose done/total the pages show as progress.
    """
    run, image_ids = run_create(project=project, requested_by=requested_by, reason=reason)
    transaction.on_commit(lambda: tasks.run_dispatch(run.pk, image_ids))
    return run
