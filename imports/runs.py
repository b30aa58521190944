"""An import run before it runs: its options checked, its uploaded files stored, the run
(an AgreementRun of kind "import") created. imports.enqueue starts it; imports.services
carries it out."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from imports.classes import UNKNOWN_CHOICES
from imports.gold import GOLD_FORMATS, TARGETS
from imports.sources import FORMATS
from projects.models import Project
from quality.models import AgreementRun


class ImportRefused(ValueError):
    """The import cannot start as asked; the message says why (a bad option, a folder)."""


def import_options_clean(
    *,
    fmt: str,
    labeler: str = "",
    unknown_classes: str = "refuse",
    score_threshold: float | None = None,
    voc_coordinates: str = "one-based",
    folder: str = "",
    trusted_folder: bool = False,
    target: str = "labels",
) -> dict:
    """The run's options, checked. ``trusted_folder``: any server folder (manage.py import);
    otherwise only one under IMPORT_FOLDER_ROOT. ``target``: "labels" (a rater's label sets)
    or "gold" (the true boxes of the images the file names: imports.gold)."""
    if fmt not in FORMATS:
        raise ImportRefused(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    if target not in TARGETS:
        raise ImportRefused(f"target must be one of {', '.join(TARGETS)}; got {target!r}.")
    if target == "gold":
        if fmt not in GOLD_FORMATS:
            raise ImportRefused(
                f"gold can be imported from {', '.join(GOLD_FORMATS)} files; got {fmt!r}."
            )
        labeler = ""  # gold has no rater
    if unknown_classes not in UNKNOWN_CHOICES:
        raise ImportRefused(f"unknown_classes must be one of {', '.join(UNKNOWN_CHOICES)}.")
    if voc_coordinates not in ("one-based", "zero-based"):
        raise ImportRefused("voc_coordinates must be one-based or zero-based.")
    if score_threshold is not None and not 0 <= score_threshold <= 1:
        raise ImportRefused("score_threshold must be between 0 and 1.")
    if fmt == "predictions" and score_threshold is None:
        score_threshold = 0.5
    if folder:
        folder = _folder_checked(folder, trusted=trusted_folder)
    return {
        "format": fmt,
        "labeler": labeler.strip()[:150],
        "unknown_classes": unknown_classes,
        "score_threshold": score_threshold if fmt == "predictions" else None,
        "voc_coordinates": voc_coordinates,
        "folder": folder,
        "target": target,
    }


def _folder_checked(folder: str, *, trusted: bool) -> str:
    path = Path(folder).expanduser().resolve()
    if not trusted:
        root = settings.IMPORT_FOLDER_ROOT
        if not root:
            raise ImportRefused(
                "importing from a server folder is off: set IMPORT_FOLDER_ROOT to the folder "
                "imports may read, or upload the files."
            )
        root_path = Path(root).resolve()
        if path != root_path and root_path not in path.parents:
            raise ImportRefused(f"the folder must be inside {root_path} (IMPORT_FOLDER_ROOT).")
    if not path.is_dir():
        raise ImportRefused(f"{folder} is not a folder on the server.")
    return str(path)


@transaction.atomic
def import_create(*, project: Project, uploads: list, options: dict, requested_by) -> AgreementRun:
    """Store the uploaded files and create the import run (imports.enqueue.import_start
    starts it once the caller's transaction commits).

    ``uploads``: (name, file object) pairs; ``options``: from import_options_clean.
    """
    if not uploads and not options.get("folder"):
        raise ImportRefused("send the label files (and images, or a zip) in files.")
    run = import_run_create(
        project=project,
        options=options,
        requested_by=requested_by,
        names=[name for name, _ in uploads],
    )
    stored = []
    prefix = f"imports/{project.pk}/{run.pk}-{uuid.uuid4().hex[:8]}"
    for name, handle in uploads:
        base = Path(name).name or "upload"
        stored.append({"name": base, "stored": default_storage.save(f"{prefix}/{base}", handle)})
    run.params = {**options, "files": stored}
    run.save(update_fields=["params"])
    return run


def import_run_create(
    *, project: Project, options: dict, requested_by, names: list[str]
) -> AgreementRun:
    """The import's run, pending (import_execute carries it out)."""
    return AgreementRun.objects.create(
        project=project,
        kind=AgreementRun.Kind.IMPORT,
        requested_by=requested_by,
        reason=_reason(options, names),
        params=options,
        total=1,  # the upload, until its label units are counted
    )


def _reason(options: dict, names: list[str]) -> str:
    what = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    what = what or options.get("folder", "")
    kind = "Gold import" if options.get("target") == "gold" else "Import"
    return f"{kind} ({options['format']}) of {what}"[:200]
