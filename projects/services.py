"""Services that write project configuration: projects, classes, instructions, members.

Views and API views call these; they hold the rules (numbering, uniqueness, who acknowledges what).
"""

import hashlib
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

from projects.ingest import RefusedFile, image_file_check
from projects.instructions import instructions_current
from projects.models import (
    InstructionAcknowledgement,
    InstructionAsset,
    InstructionVersion,
    LabelClass,
    Membership,
    Project,
)
from projects.palette import class_color_unused
from quality.enqueue import recompute_start

User = get_user_model()

# Page addresses under /projects/ that a project slug must not shadow.
RESERVED_SLUGS = frozenset({"new"})


@transaction.atomic
def project_create(
    *,
    creator,
    name: str,
    description: str = "",
    labelers_per_image: int = 3,
    instructions: str = "",
) -> Project:
    """Create a project with its creator as lead and, if given, instructions version 1.

    The slug is the name's, numbered (-2, -3, ...) when taken, also by a project being created
    at the same moment: see _project_insert.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the project a name."})
    project = Project(
        name=name,
        slug=slugify(name)[:180] or "project",
        description=description,
        labelers_per_image=labelers_per_image,
        created_by=creator,
    )
    project.full_clean(validate_unique=False)  # the slug is made unique below
    _project_insert(project)
    Membership.objects.create(project=project, user=creator, role=Membership.Role.LEAD)
    if instructions.strip():
        instruction_version_publish(
            project=project, author=creator, body=instructions, summary="First version."
        )
    return project


@transaction.atomic
def project_update(*, project: Project, user, **changes) -> Project:
    """Save name, description, archived; thresholds and overlap go through
    project_settings_update (which starts a recompute when a threshold changes)."""
    for field in ("name", "description", "archived"):
        if field in changes:
            setattr(project, field, changes[field].strip() if field == "name" else changes[field])
    if not project.name:
        raise ValidationError({"name": ["Give the project a name."]})
    project.save(update_fields=["name", "description", "archived"])
    if {"labelers_per_image", "match_iou", "low_iou"} & changes.keys():
        project_settings_update(
            project=project,
            user=user,
            labelers_per_image=changes.get("labelers_per_image", project.labelers_per_image),
            match_iou=changes.get("match_iou", project.match_iou),
            low_iou=changes.get("low_iou", project.low_iou),
        )
    return project


@transaction.atomic
def project_settings_update(
    *, project: Project, user, labelers_per_image: int, match_iou: float, low_iou: float
):
    """Save overlap and thresholds; a threshold change starts a recompute (returned), else None."""
    changed = (project.match_iou, project.low_iou) != (match_iou, low_iou)
    project.labelers_per_image = labelers_per_image
    project.match_iou, project.low_iou = match_iou, low_iou
    if low_iou < match_iou:
        raise ValidationError(
            {"low_iou": "The low-overlap threshold must be at least the match threshold."}
        )
    project.full_clean()
    project.save(update_fields=["labelers_per_image", "match_iou", "low_iou"])
    if not changed:
        return None
    return recompute_start(
        project=project, requested_by=user, reason="Thresholds changed in settings."
    )


def _project_insert(project: Project) -> None:
    """Insert the project under the first free slug of base, base-2, base-3, ...

    Checking that a slug is free and inserting it are two statements: a request creating a
    project of the same name in between takes it first, and the insert fails on the unique
    index (on PostgreSQL it waits for the other transaction and fails when it commits). The
    insert runs in a savepoint so that such a collision moves on to the next number instead of
    failing the request.
    """
    base, n = project.slug, 1
    while True:
        slug = base if n == 1 else f"{base}-{n}"
        n += 1
        if slug in RESERVED_SLUGS or Project.objects.filter(slug=slug).exists():
            continue
        project.slug = slug
        try:
            with transaction.atomic():
                project.save()
        except IntegrityError:
            if not Project.objects.filter(slug=slug).exists():
                raise  # not the slug: a real error
            project.pk = None
            continue
        return


@transaction.atomic
def instruction_version_publish(
    *, project: Project, author, body: str, summary: str = ""
) -> InstructionVersion:
    """Publish the next instruction version. Labelers must acknowledge it before their next image.

    Numbering is taken under a row lock on the project, so two leads publishing at once get
    consecutive numbers instead of a collision.
    """
    body = _unix_newlines(body)
    if not body.strip():
        raise ValidationError({"body": "The instructions cannot be empty."})
    Project.objects.select_for_update().filter(pk=project.pk).first()
    last = project.instruction_versions.aggregate(n=Max("number"))["n"] or 0
    return InstructionVersion.objects.create(
        project=project, number=last + 1, body=body, summary=summary.strip()[:500], author=author
    )


@transaction.atomic
def instructions_edit_publish(
    *, project: Project, author, body: str, summary: str, based_on: int
) -> InstructionVersion:
    """Publish what the lead wrote in the editor as the next version.

    `based_on` is the version number the editor opened (0 for none): if someone published after
    it, nothing is published, so their version is not silently overwritten. A new version must
    change the text and say what changed (labelers read that summary first).
    """
    Project.objects.select_for_update().filter(pk=project.pk).first()
    current = instructions_current(project=project)
    if (current.number if current else 0) != based_on:
        raise ValidationError(
            {
                "based_on": f"{current.author} published version {current.number} while you were "
                "editing. Your text is kept below: compare it with theirs in the history, then "
                "publish again."
            }
        )
    if current is not None:
        if _unix_newlines(body).strip() == _unix_newlines(current.body).strip():
            raise ValidationError(
                {"body": f"Nothing changed since version {current.number}; edit the text first."}
            )
        if not summary.strip():
            raise ValidationError(
                {"summary": "Say what changed and why: labelers read this before the new text."}
            )
    return instruction_version_publish(
        project=project,
        author=author,
        body=body,
        summary=summary if current else (summary or "First version."),
    )


class AssetRefused(ValueError):
    """An instruction image that cannot be stored; the message says why."""


def instruction_asset_add(
    *, project: Project, user, name: str, fileobj: BinaryIO
) -> InstructionAsset:
    """Store an image for the instructions (JPEG, PNG or WebP, checked as image uploads are).

    The same file uploaded twice gives the one stored asset back."""
    data = fileobj.read(settings.UPLOAD_MAX_BYTES + 1)
    try:
        if len(data) > settings.UPLOAD_MAX_BYTES:
            limit = settings.UPLOAD_MAX_BYTES / (1024 * 1024)
            raise RefusedFile(f"the file is more than {limit:.1f} MB, the limit")
        prepared = image_file_check(data)
    except RefusedFile as refused:
        raise AssetRefused(f"{name}: {refused}.") from None
    sha256 = hashlib.sha256(prepared.data).hexdigest()
    existing = InstructionAsset.objects.filter(project=project, sha256=sha256).first()
    if existing is not None:
        return existing
    asset = InstructionAsset(
        project=project,
        original_name=name[:500],
        width=prepared.width,
        height=prepared.height,
        sha256=sha256,
        uploaded_by=user,
    )
    asset.file.save(f"{sha256}{prepared.extension}", ContentFile(prepared.data), save=False)
    try:
        with transaction.atomic():
            asset.save()
    except IntegrityError:  # the same file, uploaded twice at once
        asset.file.storage.delete(asset.file.name)
        return InstructionAsset.objects.get(project=project, sha256=sha256)
    return asset


def _unix_newlines(text: str) -> str:
    """Browsers post textareas with CRLF line ends; versions are stored and compared with LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def instruction_acknowledge(*, user, version: InstructionVersion) -> InstructionAcknowledgement:
    """Record that the user read this version; acknowledging twice is harmless."""
    acknowledgement, _ = InstructionAcknowledgement.objects.get_or_create(
        user=user, version=version
    )
    return acknowledgement


@transaction.atomic
def label_class_save(
    *,
    project: Project,
    name: str,
    color: str | None = None,
    hotkey: str = "",
    guidance: str = "",
    label_class: LabelClass | None = None,
) -> LabelClass:
    """Create a class, or update `label_class`; names and hotkeys stay unique in the project."""
    if label_class is None:
        label_class = LabelClass(project=project)
        last = project.classes.aggregate(n=Max("order"))["n"]
        label_class.order = 0 if last is None else last + 1
    label_class.name = name.strip()
    if color is None:  # a new class without a colour gets one no other class of the project has
        color = (
            label_class.color
            if label_class.pk
            else class_color_unused(project.classes.values_list("color", flat=True))
        )
    label_class.color = color
    label_class.hotkey = (hotkey or "").strip().lower()
    label_class.guidance = guidance
    label_class.full_clean(validate_unique=False, validate_constraints=False)
    clashes = project.classes.exclude(pk=label_class.pk)
    if clashes.filter(name__iexact=label_class.name).exists():
        raise ValidationError(
            {"name": f"The project already has a class named {label_class.name}."}
        )
    if label_class.hotkey and clashes.filter(hotkey=label_class.hotkey).exists():
        taken = clashes.get(hotkey=label_class.hotkey)
        raise ValidationError(
            {"hotkey": f"Hotkey {label_class.hotkey} is already used by {taken.name}."}
        )
    try:
        with transaction.atomic():
            label_class.save()
    except IntegrityError:
        raise ValidationError(
            {"name": "That class name or hotkey was just taken; try again."}
        ) from None
    return label_class


@transaction.atomic
def membership_set(*, project: Project, user, role: str) -> Membership:
    """Give the user this role in the project (adding them if needed)."""
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Role must be one of {', '.join(Membership.Role.values)}."})
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    if (
        role != Membership.Role.LEAD
        and not project.memberships.filter(role=Membership.Role.LEAD).exists()
    ):
        raise ValidationError({"role": "A project needs at least one lead."})
    return membership
