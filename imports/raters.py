"""Who an imported label set belongs to: an existing labeler, or a rater made for the import.

A name is matched, in order, to a rater an earlier import of this project made under that name
(of the same kind), then to a labeler of the project with that username. Otherwise a user is
made for it: inactive, without a password and without membership, so it can never log in or
take an image from the queue, and marked by an ImportedRater row. Its username is the name
(made a valid username) or, when that is taken by someone else, the name with "@<project slug>".
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model

from imports.models import ImportedRater
from projects.models import Membership, Project

_INVALID = re.compile(r"[^\w.@+-]")


class RaterRefused(ValueError):
    """The name cannot be used for this rater; the message says why and what to do."""


def rater_resolve(
    *, project: Project, name: str, kind: str, created_by=None, score_threshold=None
) -> tuple[int, bool]:
    """(user id, made now) for the rater ``name`` of ``kind`` (ImportedRater.Kind).

    Call inside the transaction that writes the rater's labels: a refused file leaves no user.
    """
    name = name.strip()
    if not name:
        raise RaterRefused("a rater has an empty name.")
    existing = ImportedRater.objects.filter(project=project, name=name).first()
    if existing is not None:
        if existing.kind != kind:
            raise RaterRefused(
                f"{name} is already an imported {existing.get_kind_display().lower()} of this "
                "project; give the "
                f"{'model' if kind == ImportedRater.Kind.MODEL else 'labeler'} another name."
            )
        if score_threshold is not None and existing.score_threshold != score_threshold:
            existing.score_threshold = score_threshold
            existing.save(update_fields=["score_threshold"])
        return existing.user_id, False
    User = get_user_model()
    member = Membership.objects.filter(project=project, user__username=name).first()
    if member is not None:
        if kind == ImportedRater.Kind.MODEL or member.role != Membership.Role.LABELER:
            raise RaterRefused(
                f"{name} is a {member.get_role_display().lower()} of this project; "
                + (
                    "name the model otherwise."
                    if kind == ImportedRater.Kind.MODEL
                    else "only labelers' labels can be imported under a member's name."
                )
            )
        return member.user_id, False
    username = _INVALID.sub("_", name)[:150]
    if User.objects.filter(username=username).exists():
        username = f"{username[: 149 - len(project.slug)]}@{project.slug}"
        if User.objects.filter(username=username).exists():
            raise RaterRefused(f"the usernames {name} and {username} are both taken.")
    user = User(username=username, is_active=False)
    user.set_unusable_password()
    user.save()
    ImportedRater.objects.create(
        user=user,
        project=project,
        name=name,
        kind=kind,
        score_threshold=score_threshold,
        created_by=created_by,
    )
    return user.pk, True
