"""Project recompute runs: start one, assess its chunks, finish it, record failure.

A run is a Celery chord: one chunk task per AGREEMENT_CHUNK_SIZE image ids, then a final task
(near duplicates, the summary folding the figures each chunk stored with its images). Progress is recounted under a row lock from the set of
chunks done, so a chunk delivered twice is not counted twice; images already assessed with the
same digest are not written again, so a run started again after a killed one finishes the job.

A chunk whose worker died (kill -9, a lost machine) would wait for Redis's visibility timeout
(an hour) before it is delivered again, and the chord's final task with it. So each chunk claims
itself on the run when it starts (params["claimed"], and the run's heartbeat_at); the sweep
(runs_stalled_claim, then the sweep task) sends again every chunk claimed longer ago than a chunk can run
(AGREEMENT_CHUNK_STALLED_SECONDS, above the chunk's hard time limit) and not done, and the chunks
of a run that has shown no sign of life for that long. Once a chunk was sent again the chord
may never fire: the chunk that completes the run then enqueues the final task itself, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from projects.models import Project
from quality.engine import near_duplicate_conflicts
from quality.models import AgreementRun
from quality.selectors.labels import (
    params_as_dict,
    project_image_ids_to_assess,
    project_near_duplicate_items,
    project_params,
)
from quality.services.assessment import images_assess, near_duplicates_store
from quality.services.summary import project_summarize


@transaction.atomic
def run_create(
    *, project: Project, requested_by=None, reason: str = ""
) -> tuple[AgreementRun, list[int]]:
    """Create a pending run and return it with the ids of the images it will assess; the
    caller dispatches it once its transaction commits (quality.enqueue.recompute_start).

    Runs of the project still pending or running are marked failed: the new run redoes
    whatever they left undone.
    """
    image_ids = project_image_ids_to_assess(project_id=project.pk)
    AgreementRun.objects.filter(
        project=project,
        kind=AgreementRun.Kind.RECOMPUTE,
        state__in=[AgreementRun.State.PENDING, AgreementRun.State.RUNNING],
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
    return run, image_ids


def run_chunks(image_ids: list[int]) -> list[list[int]]:
    size = settings.AGREEMENT_CHUNK_SIZE
    return [image_ids[i : i + size] for i in range(0, len(image_ids), size)]


@transaction.atomic
def run_chunks_plan(*, run_id: int, image_ids: list[int]) -> list[list[int]]:
    """Record the run's chunks and mark it running; returns the chunks to dispatch."""
    chunks = run_chunks(image_ids)
    now = timezone.now()
    run = AgreementRun.objects.select_for_update().get(pk=run_id)
    run.params = {
        **run.params,
        # key -> [first id, last id, images]: enough to send a stalled chunk again.
        "chunks": {_chunk_key(chunk): [chunk[0], chunk[-1], len(chunk)] for chunk in chunks},
    }
    run.state, run.started_at, run.heartbeat_at = AgreementRun.State.RUNNING, now, now
    run.save(update_fields=["params", "state", "started_at", "heartbeat_at"])
    return chunks


def _chunk_key(image_ids: list[int]) -> str:
    return str(image_ids[0]) if image_ids else "0"


@transaction.atomic
def run_chunk_claim(*, run_id: int, image_ids: list[int], chunk_key: str | None = None) -> None:
    """Record that a worker started this chunk (its own short transaction, committed before
    the chunk's work): the sweep sends it again if it is not done in time."""
    run = AgreementRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.state != AgreementRun.State.RUNNING:
        return
    now = timezone.now()
    claimed = {**run.params.get("claimed", {}), chunk_key or _chunk_key(image_ids): now.isoformat()}
    run.params = {**run.params, "claimed": claimed}
    run.heartbeat_at = now
    run.save(update_fields=["params", "heartbeat_at"])


@transaction.atomic
def run_chunk_assess(*, run_id: int, image_ids: list[int], chunk_key: str | None = None) -> dict:
    """Assess one chunk of a run and record it as done, in one transaction (one commit);
    returns {"finish": True} when this chunk completed a run whose chord may never fire (a
    chunk was sent again): the caller enqueues the final task. The chunk's figures are stored
    with its images (quality.figures), for the summary to fold."""
    images_assess(image_ids=image_ids)
    return {"finish": _run_chunk_done(run_id=run_id, image_ids=image_ids, chunk_key=chunk_key)}


def _run_chunk_done(*, run_id: int, image_ids: list[int], chunk_key: str | None) -> bool:
    run = AgreementRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None:
        return False
    key = chunk_key or _chunk_key(image_ids)
    planned = run.params.get("chunks", {}).get(key)
    done = dict(run.params.get("chunks_done", {}))
    done[key] = planned[2] if planned else len(image_ids)
    run.params = {**run.params, "chunks_done": done}
    run.done = min(sum(done.values()), run.total)
    run.heartbeat_at = timezone.now()
    finish = (
        run.state == AgreementRun.State.RUNNING
        and run.params.get("redispatched")
        and not run.params.get("finishing")
        and set(run.params.get("chunks", {})) <= set(done)
    )
    if finish:
        run.params["finishing"] = True
    run.save(update_fields=["params", "done", "heartbeat_at"])
    return bool(finish)


class StalledWork(NamedTuple):
    """What the sweep sends again: chunks (run id, image ids, chunk key) and runs to finish."""

    chunks: list[tuple[int, list[int], str]]
    finish: list[int]


def runs_stalled_claim(*, now=None) -> StalledWork:
    """Claim anew the chunks of running recomputes whose worker went silent, for the caller
    (the sweep task) to send again once this returns (each run's claim is committed).

    A chunk claimed longer ago than AGREEMENT_CHUNK_STALLED_SECONDS and not done lost its
    worker (its hard time limit is shorter). Chunks not even claimed are sent again only when
    the whole run has been silent that long (no worker took anything: the messages are lost
    or stuck unacknowledged). Each chunk sent is claimed anew, so the next sweep leaves it be.
    """
    now = now or timezone.now()
    stalled_before = now - timedelta(seconds=settings.AGREEMENT_CHUNK_STALLED_SECONDS)
    work = StalledWork([], [])
    run_ids = AgreementRun.objects.filter(
        state=AgreementRun.State.RUNNING, kind=AgreementRun.Kind.RECOMPUTE
    ).values_list("pk", flat=True)
    for run_id in run_ids:
        _run_stalled_claim(run_id=run_id, now=now, stalled_before=stalled_before, work=work)
    return work


@transaction.atomic
def _run_stalled_claim(*, run_id: int, now, stalled_before, work: StalledWork) -> None:
    run = (
        AgreementRun.objects.select_for_update(skip_locked=True)
        .filter(pk=run_id, state=AgreementRun.State.RUNNING)
        .first()
    )
    if run is None:
        return
    chunks, done = run.params.get("chunks", {}), run.params.get("chunks_done", {})
    claimed = dict(run.params.get("claimed", {}))
    silent = run.heartbeat_at is None or run.heartbeat_at < stalled_before
    stalled = [
        key
        for key in chunks
        if key not in done
        and (datetime.fromisoformat(claimed[key]) < stalled_before if key in claimed else silent)
    ]
    if not stalled:
        if silent and chunks and set(chunks) <= set(done) and not run.params.get("finishing"):
            # Every chunk is done but the chord never fired: a worker died after a chunk's
            # commit and before its result was recorded. Finish from the stored figures.
            run.params = {**run.params, "redispatched": True, "finishing": True}
            run.heartbeat_at = now
            run.save(update_fields=["params", "heartbeat_at"])
            work.finish.append(run_id)
        return
    for key in stalled:
        claimed[key] = now.isoformat()
    run.params = {**run.params, "claimed": claimed, "redispatched": True}
    run.heartbeat_at = now
    run.save(update_fields=["params", "heartbeat_at"])
    visited = project_image_ids_to_assess(project_id=run.project_id)
    for key in stalled:
        first, last, _count = chunks[key]
        work.chunks.append((run_id, [i for i in visited if first <= i <= last], key))


def run_finish(*, run_id: int) -> None:
    """Near-duplicate conflicts across the project, project figures, and the run succeeded."""
    run = AgreementRun.objects.select_related("project").get(pk=run_id)
    if run.state == AgreementRun.State.SUCCEEDED:
        return  # finished already (by the chunk that completed it, or the chord arriving late)
    project = run.project
    items = project_near_duplicate_items(project_id=project.pk)
    near_duplicates_store(
        project_id=project.pk, image_ids=None, found=near_duplicate_conflicts(items), items=items
    )
    project_summarize(project=project)
    AgreementRun.objects.filter(pk=run_id).update(
        state=AgreementRun.State.SUCCEEDED, done=run.total, finished_at=timezone.now(), error=""
    )


def run_fail(*, run_id: int, error: str) -> None:
    AgreementRun.objects.filter(pk=run_id).exclude(state=AgreementRun.State.SUCCEEDED).update(
        state=AgreementRun.State.FAILED, finished_at=timezone.now(), error=error[:2000]
    )
