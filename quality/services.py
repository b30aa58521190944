"""Services of the agreement pipeline: run the engine on stored labels and save its results."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from projects.models import Project
from quality.models import AgreementRun


@transaction.atomic
def project_recompute_start(
    *, project: Project, requested_by=None, reason: str = ""
) -> AgreementRun:
    """Create a run and, once the caller's transaction commits, enqueue its chord of chunks."""
    from quality.selectors import project_image_ids_to_assess

    image_ids = project_image_ids_to_assess(project_id=project.pk)
    run = AgreementRun.objects.create(
        project=project,
        requested_by=requested_by,
        reason=reason[:200],
        total=len(image_ids),
        params=project_params(project=project),
    )
    transaction.on_commit(lambda: _enqueue_run(run_id=run.pk, image_ids=image_ids))
    return run


def project_params(*, project: Project) -> dict:
    return {"match_iou": project.match_iou, "low_iou": project.low_iou}


def _enqueue_run(*, run_id: int, image_ids: list[int]) -> None:
    from celery import chord

    from quality import tasks

    size = settings.AGREEMENT_CHUNK_SIZE
    chunks = [image_ids[i : i + size] for i in range(0, len(image_ids), size)]
    AgreementRun.objects.filter(pk=run_id).update(
        state=AgreementRun.State.RUNNING, started_at=timezone.now()
    )
    header = [tasks.assess_chunk_task.si(run_id, chunk) for chunk in chunks]
    body = tasks.finish_run_task.s(run_id=run_id)
    if not header:
        tasks.finish_run_task.delay(None, run_id=run_id)
        return
    chord(header)(body.on_error(tasks.fail_run_task.s(run_id=run_id)))
