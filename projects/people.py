"""Who is in a project: removing members, finding users to add, and invitations.

An invitation is a one-time link a lead hands to someone who has no account yet: whoever opens it
chooses a username and a password and joins the project with the invitation's role. The link's
token is shown once, when the lead creates it; only its digest is stored, so a database read
gives no working link. The link works once and expires after settings.INVITATION_HOURS.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from projects.models import Invitation, Membership, Project
from projects.services import membership_set

User = get_user_model()

USER_SEARCH_MIN_CHARS = 2
USER_SEARCH_LIMIT = 8


@transaction.atomic
def membership_remove(*, project: Project, membership: Membership) -> None:
    """Take the member out of the project; their submitted labels stay (they are data)."""
    others_leading = project.memberships.filter(role=Membership.Role.LEAD).exclude(pk=membership.pk)
    if membership.role == Membership.Role.LEAD and not others_leading.exists():
        raise ValidationError(
            f"{membership.user.username} is the project's only lead; make someone else lead first."
        )
    membership.delete()


def users_matching(*, project: Project, prefix: str) -> list[dict]:
    """At most USER_SEARCH_LIMIT users whose username or first/last name starts with ``prefix``
    (at least USER_SEARCH_MIN_CHARS characters), for a lead's member picker. A prefix, a
    minimum length and a small limit: the picker finds a person, it does not list everyone."""
    prefix = prefix.strip()
    if len(prefix) < USER_SEARCH_MIN_CHARS:
        return []
    members = set(project.memberships.values_list("user_id", flat=True))
    users = (
        User.objects.filter(is_active=True)
        .filter(
            Q(username__istartswith=prefix)
            | Q(first_name__istartswith=prefix)
            | Q(last_name__istartswith=prefix)
        )
        .order_by("username")
        .values("pk", "username", "first_name", "last_name")[:USER_SEARCH_LIMIT]
    )
    return [
        {
            "username": u["username"],
            "name": f"{u['first_name']} {u['last_name']}".strip(),
            "member": u["pk"] in members,
        }
        for u in users
    ]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *, project: Project, created_by, role: str, note: str = ""
) -> tuple[Invitation, str]:
    """A new invitation and its token (shown once: only the digest is stored)."""
    if role not in Membership.Role.values:
        raise ValidationError(f"Role must be one of {', '.join(Membership.Role.values)}.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        project=project,
        role=role,
        note=note.strip()[:200],
        token_digest=_digest(token),
        created_by=created_by,
        expires_at=timezone.now() + timedelta(hours=settings.INVITATION_HOURS),
    )
    return invitation, token


def invitations_pending(*, project: Project):
    return project.invitations.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("created_by")


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    if invitation.used_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])


class InvitationUnusable(Exception):
    """The link was used, revoked, has expired or never existed; the message says which."""


def invitation_for_token(token: str, *, for_update: bool = False) -> Invitation:
    """The usable invitation of this token, or InvitationUnusable saying why not."""
    rows = Invitation.objects.select_related("project")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(token_digest=_digest(token or "")).first()
    if invitation is None:
        raise InvitationUnusable(
            "This invitation link is not valid. Ask the project lead for a new one."
        )
    if invitation.used_at is not None:
        raise InvitationUnusable(
            "This invitation link has been used already; it works only once. "
            "Log in with the account created with it, or ask the project lead for a new link."
        )
    if invitation.revoked_at is not None:
        raise InvitationUnusable("The project lead withdrew this invitation.")
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(
            "This invitation link has expired. Ask the project lead for a new one."
        )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, username: str = "", password: str = "", user=None):
    """Use the invitation: create the account (``username``, ``password``) or, given ``user``
    (someone logged in), add that account; either joins the project with the invitation's role.
    Returns the user. Raises InvitationUnusable or ValidationError (a message per problem)."""
    invitation = invitation_for_token(token, for_update=True)
    if user is None:
        user = _account_create(username=username, password=password)
    membership_set(project=invitation.project, user=user, role=invitation.role)
    invitation.used_at = timezone.now()
    invitation.used_by = user
    invitation.save(update_fields=["used_at", "used_by"])
    return user


def _account_create(*, username: str, password: str):
    username = username.strip()
    candidate = User(username=username)
    errors = []
    try:
        User._meta.get_field("username").run_validators(username)
        if not username:
            raise ValidationError("Choose a username.")
    except ValidationError as error:
        errors += error.messages
    if username and User.objects.filter(username__iexact=username).exists():
        errors.append(f"The username “{username}” is taken; choose another.")
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        errors += error.messages
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, password=password)
    except IntegrityError:
        raise ValidationError(f"The username “{username}” is taken; choose another.") from None
