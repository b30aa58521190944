"""Project recompute runs: start one, assess its chunks, finish it, record failure.

A run is a Celery chord: one chunk task per AGREEMENT_CHUNK_SIZE image ids, then a final task
with every chunk's partial figures. Progress is recounted under a row lock from the set of
chunks done, so a chunk delivered twice is not counted twice; images already assessed with the
same digest are not written again, so a run started again after a killed one finishes the job.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from projects.models import Project
from quality.engine import near_duplicate_conflicts
from quality.models import AgreementRun
from quality.selectors import (
    params_as_dict,
    project_image_ids_to_assess,
    project_near_duplicate_items,
    project_params,
)
from quality.services import images_assess, near_duplicates_store
from quality.services_summary import labels_partial, project_summarize


@transaction.atomic
def run_start(*, project: Project, requested_by=None, reason: str = "") -> AgreementRun:
    """Create a run and enqueue its chord once the caller's transaction commits.

    Runs of the project still pending or running are marked failed: the new run redoes
    whatever they left undone.
    """
    image_ids = project_image_ids_to_assess(project_id=project.pk)
    AgreementRun.objects.filter(
        project=project, state__in=[AgreementRun.State.PENDING, AgreementRun.State.RUNNING]
    ).update(
        state=AgreementRun.State.FAILED,
        finished_at=timezone.now(),
        error="Replaced by a newer recompute of the project.",
    )
    run = AgreementRun.objects.create(
        project=project,
        requested_by=requested_by,
        reason=reason[:200],
        total=len(image_ids),
        params=params_as_dict(project_params(project)),
    )
    transaction.on_commit(lambda: _run_enqueue(run_id=run.pk, image_ids=image_ids))
    return run


def run_chunks(image_ids: list[int]) -> list[list[int]]:
    size = settings.AGREEMENT_CHUNK_SIZE
    return [image_ids[i : i + size] for i in range(0, len(image_ids), size)]


def _run_enqueue(*, run_id: int, image_ids: list[int]) -> None:
    from celery import chord

    from quality import tasks

    AgreementRun.objects.filter(pk=run_id).update(
        state=AgreementRun.State.RUNNING, started_at=timezone.now()
    )
    header = [tasks.assess_chunk_task.si(run_id, chunk) for chunk in run_chunks(image_ids)]
    if not header:
        tasks.finish_run_task.delay([], run_id=run_id)
        return
    body = tasks.finish_run_task.s(run_id=run_id)
    chord(header)(body.on_error(tasks.fail_run_task.s(run_id=run_id)))


@transaction.atomic
def run_chunk_assess(*, run_id: int, image_ids: list[int]) -> dict:
    """Assess one chunk of a run and record it as done, in one transaction (one commit);
    returns its partial project figures."""
    partial: dict = {}
    for labels, result in images_assess(image_ids=image_ids):
        partial = labels_partial(labels, result, np.flatnonzero(labels.complete))
    _run_chunk_done(run_id=run_id, image_ids=image_ids)
    return partial


def _run_chunk_done(*, run_id: int, image_ids: list[int]) -> None:
    run = AgreementRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None:
        return
    done = dict(run.params.get("chunks_done", {}))
    done[str(image_ids[0]) if image_ids else "0"] = len(image_ids)
    run.params = {**run.params, "chunks_done": done}
    run.done = min(sum(done.values()), run.total)
    run.save(update_fields=["params", "done"])


def run_finish(*, run_id: int, partials: list[dict] | None) -> None:
    """Near-duplicate conflicts across the project, project figures, and the run succeeded."""
    run = AgreementRun.objects.select_related("project").get(pk=run_id)
    project = run.project
    items = project_near_duplicate_items(project_id=project.pk)
    near_duplicates_store(
        project_id=project.pk, image_ids=None, found=near_duplicate_conflicts(items), items=items
    )
    project_summarize(project=project, partials=[p for p in partials or [] if p] or None)
    AgreementRun.objects.filter(pk=run_id).update(
        state=AgreementRun.State.SUCCEEDED, done=run.total, finished_at=timezone.now(), error=""
    )


def run_fail(*, run_id: int, error: str) -> None:
    AgreementRun.objects.filter(pk=run_id).exclude(state=AgreementRun.State.SUCCEEDED).update(
        state=AgreementRun.State.FAILED, finished_at=timezone.now(), error=error[:2000]
    )
