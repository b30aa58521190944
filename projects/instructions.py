"""Reads of a project's instructions: the version in force, and what a labeler has yet to read.

The version in force is the highest-numbered one; instructions_current is the one place that
says so (pages, the review, the queue, exports and the data card all ask it).
"""

from django.db.models import Exists, OuterRef

from projects.models import InstructionAcknowledgement, InstructionVersion, Project


def instructions_current(*, project: Project, reader=None) -> InstructionVersion | None:
    """The instructions in force (None before the first version). With `reader`, the version
    says in `acknowledged` whether that user has read it, from the same query."""
    versions = InstructionVersion.objects.filter(project=project)
    if reader is not None:
        read = InstructionAcknowledgement.objects.filter(user=reader, version=OuterRef("pk"))
        versions = versions.annotate(acknowledged=Exists(read))
    return versions.order_by("-number").first()


def instructions_pending_for(*, user, project: Project) -> InstructionVersion | None:
    """The current version if the user has not acknowledged it yet, else None."""
    current = instructions_current(project=project, reader=user)
    return current if current is not None and not current.acknowledged else None


def last_acknowledged_version(*, user, project: Project) -> InstructionVersion | None:
    return (
        InstructionVersion.objects.filter(project=project, acknowledgements__user=user)
        .order_by("-number")
        .first()
    )
