"""The front door of imports: create an import run and start its task once the caller's
transaction commits. Views and the API call this; the task and the services never import it."""

from django.db import transaction

from imports import tasks
from imports.runs import import_create
from projects.models import Project
from quality.models import AgreementRun


def import_start(*, project: Project, uploads: list, options: dict, requested_by) -> AgreementRun:
    """Store the upload, create the run, and enqueue the import once this commits."""
    run = import_create(
        project=project, uploads=uploads, options=options, requested_by=requested_by
    )
    transaction.on_commit(lambda: tasks.import_task.delay(run.pk))
    return run
