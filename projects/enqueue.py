"""Registration's front door: what views and API views call to start a registration; its
listing is enqueued once the caller's transaction commits.

This module imports projects.tasks; tasks and services never import it back (as quality.enqueue
does for the agreement pipeline).
"""

from django.db import transaction

from projects import tasks
from projects.models import Project
from projects.registration import registration_start


def registration_enqueue(*, project: Project, requested_by, prefix: str, manifest: str = ""):
    """Start registering the bucket's objects under ``prefix`` (or those ``manifest`` names)
    into the project; returns the run (quality.AgreementRun, kind "register"). Raises
    RegistrationRefused with a reason when it cannot start."""
    with transaction.atomic():
        run = registration_start(
            project=project, requested_by=requested_by, prefix=prefix, manifest=manifest
        )
        transaction.on_commit(lambda: tasks.register_list_task.delay(run.pk))
    return run
