"""Carrying out an import run (created by imports.runs, started by imports.enqueue, run by
imports.tasks) and reporting on every file. Its progress is at /api/runs/{id}/: done of total
label units, the report in params["report"].

1. image files of the upload are ingested as uploads are (projects.ingest): new ones added,
   ones whose bytes the project already has found by their SHA-256, never duplicated;
2. each label unit (a file, or a YOLO/VOC dataset) is read, then written in a transaction of
   its own, all or nothing: its classes mapped (unknown ones refused, added or ignored, as the
   lead chose), its raters found or made (imports.raters), its label sets written as submitted
   annotations (imports.writer); label sets on unknown images or already imported are left
   out and counted;
3. the labels written are assessed by a project recompute (the run's id in the report), which
   flags, reports and exports them like any labels; a model's predictions are compared with
   the consensus at once (quality.services.model_comparison).

A re-run of the same import (a worker died, the same files uploaded again) writes nothing
twice: label sets a rater already has on an image are skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from annotations.models import Annotation
from imports.classes import UnknownClasses, classes_resolve
from imports.formats.types import LabelFileError
from imports.gold import GoldRefused, gold_sets_write
from imports.matching import ProjectImages, project_images_index
from imports.models import ImportedRater
from imports.raters import RaterRefused, rater_resolve
from imports.sources import LabelUnit, UploadRefused, upload_files, upload_plan
from imports.writer import Skipped, label_sets_write
from projects.ingest import RefusedFile, image_ingest_bytes
from projects.models import Image, Project
from quality.enqueue import project_figures_stale, recompute_start
from quality.models import AgreementRun
from quality.services.assessment import image_open_flag_counts_refresh
from quality.services.model_comparison import model_comparisons_refresh

log = logging.getLogger(__name__)

LISTED = 50  # refused files listed by name in a report; the rest are counted
COMPARE_CHUNK = 500


def import_execute(*, run_id: int, uploads: list | None = None) -> AgreementRun:
    """Carry out the import run. ``uploads``: open (name, file) pairs to read instead of the
    stored files (manage.py import reads the caller's files in place)."""
    run = AgreementRun.objects.select_related("project", "requested_by").get(pk=run_id)
    if run.state in (AgreementRun.State.SUCCEEDED, AgreementRun.State.FAILED):
        return run
    now = timezone.now()
    AgreementRun.objects.filter(pk=run_id).update(
        state=AgreementRun.State.RUNNING, started_at=now, heartbeat_at=now
    )
    options = run.params
    try:
        with ExitStack() as stack:
            if uploads is None:
                uploads = [
                    (f["name"], stack.enter_context(default_storage.open(f["stored"], "rb")))
                    for f in options.get("files", [])
                ]
            report = _import(run, uploads, options)
    except UploadRefused as exc:
        _finish(run, state=AgreementRun.State.FAILED, error=str(exc))
        return run
    except (OperationalError, InterfaceError):
        raise  # the task retries: the run goes on, skipping what was written
    except Exception as exc:
        log.exception("import run %s failed", run_id)
        _finish(run, state=AgreementRun.State.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(run, state=AgreementRun.State.SUCCEEDED, report=report)
    return run


def _finish(run: AgreementRun, *, state: str, error: str = "", report: dict | None = None):
    params = dict(AgreementRun.objects.get(pk=run.pk).params)
    params["phase"] = "done" if state == AgreementRun.State.SUCCEEDED else "failed"
    if report is not None:
        params["report"] = report
    AgreementRun.objects.filter(pk=run.pk).update(
        state=state, error=error[:2000], finished_at=timezone.now(), params=params
    )
    for f in params.get("files", []):
        try:
            default_storage.delete(f["stored"])
        except OSError:
            log.warning("could not remove the uploaded %s", f["stored"])


def _progress(run: AgreementRun, **fields) -> None:
    run.params = {**run.params, **fields.pop("params", {})}
    for name, value in fields.items():
        setattr(run, name, value)
    run.heartbeat_at = timezone.now()
    AgreementRun.objects.filter(pk=run.pk).update(
        params=run.params, done=run.done, total=run.total, heartbeat_at=run.heartbeat_at
    )


def _import(run: AgreementRun, uploads: list, options: dict) -> dict:
    project = run.project
    folders = [Path(f) for f in [options.get("folder"), *options.get("folders", [])] if f]
    files, refused_members = upload_files(uploads, folders)
    _progress(run, params={"phase": "images"})
    index = project_images_index(project=project)
    images = _images_ingest(project, [f for f in files if f.is_image], index)
    images["refused"] += [{"name": n, "reason": r} for n, r in refused_members]
    fmt = options["format"]
    plan_options = dict(options)
    if fmt == "predictions":
        plan_options["categories"] = {
            k + 1: name
            for k, name in enumerate(
                project.classes.order_by("order", "id").values_list("name", flat=True)
            )
        }
    gold = options.get("target") == "gold"
    units = upload_plan(
        fmt=fmt,
        files=files,
        labeler="gold" if gold else options.get("labeler", ""),
        options=plan_options,
    )
    _progress(run, total=len(units), done=0, params={"phase": "labels"})
    entries = []
    labeled: set[int] = set()
    unit_import = _gold_unit_import if gold else _unit_import
    for done, unit in enumerate(units, start=1):
        entry, image_ids = unit_import(project, unit, index, options, run.requested_by)
        entries.append(entry)
        labeled.update(image_ids)
        _progress(run, done=done, params={"report": _report(images, entries)})
    report = _report(images, entries)
    if labeled:
        report["assessment_run"] = _assess(project, sorted(labeled), fmt, run)
    return report


def _images_ingest(project: Project, files, index: ProjectImages) -> dict:
    added = matched = 0
    refused = []
    for f in files:
        try:
            data = f.read(settings.UPLOAD_MAX_BYTES)
        except RefusedFile as exc:
            refused.append({"name": f.path, "reason": str(exc)})
            continue
        result = image_ingest_bytes(project=project, name=f.path, data=data)
        if result.status == "added":
            added += 1
            image_id = result.image_id
            image = Image.objects.only("width", "height").get(pk=image_id)
            index.ids.add(image_id)
            index.size[image_id] = (image.width, image.height)
        elif result.status == "duplicate":
            matched += 1
            image_id = _by_content(project, data)
        else:
            refused.append({"name": f.path, "reason": result.reason})
            continue
        if image_id is not None:
            index.uploaded(f.path, image_id)
    return {"added": added, "matched": matched, "refused": refused}


def _by_content(project: Project, data: bytes) -> int | None:
    sha256 = hashlib.sha256(data).hexdigest()
    return Image.objects.filter(project=project, sha256=sha256).values_list("pk", flat=True).first()


def _unit_import(project, unit: LabelUnit, index, options, requested_by) -> tuple[dict, list]:
    entry: dict = {"name": unit.name, "rater": unit.rater, "status": "refused"}
    sets = _unit_read(unit, entry)
    if sets is None:
        return entry, []
    model = options["format"] == "predictions"
    threshold = options.get("score_threshold")
    below = Skipped("predictions below the score threshold")
    if model and threshold is not None and sets.box_count:
        keep = sets.score >= threshold
        below.add(f"under {threshold:g}", int((~keep).sum()))
        sets = sets.boxes_kept(keep)
    counts = _class_counts(sets)
    try:
        with transaction.atomic():
            class_map, added = classes_resolve(
                project=project, counts=counts, unknown=options["unknown_classes"]
            )
            kind = ImportedRater.Kind.MODEL if model else ImportedRater.Kind.LABELER
            names = list(sets.raters) + ([unit.rater] if unit.rater else [])
            users, made = {}, []
            for name in names:
                users[name], created = rater_resolve(
                    project=project,
                    name=name,
                    kind=kind,
                    created_by=requested_by,
                    score_threshold=threshold if model else None,
                )
                if created:
                    made.append(name)
            if (sets.set_rater < 0).any() and not unit.rater:
                raise RaterRefused("name the labeler these labels are from.")
            by_code = np.array(
                [users[n] for n in sets.raters] + [users.get(unit.rater, -1)], dtype=np.int64
            )
            set_users = by_code[np.where(sets.set_rater < 0, len(sets.raters), sets.set_rater)]
            class_ids = np.array(
                [-1 if class_map.get(n) is None else class_map[n] for n in sets.labels],
                dtype=np.int64,
            )
            written = label_sets_write(
                sets=sets,
                images=index,
                set_users=set_users,
                user_names={uid: name for name, uid in users.items()},
                class_ids=class_ids,
                kind=Annotation.Kind.MODEL if model else Annotation.Kind.LABEL,
            )
    except UnknownClasses as exc:
        entry.update(reason=str(exc), unknown_classes=exc.counts)
        return entry, []
    except (RaterRefused, ValidationError) as exc:
        entry["reason"] = _message(exc)
        return entry, []
    except DatabaseError as exc:
        entry["reason"] = f"the database refused the file's labels, nothing was written ({exc})"
        return entry, []
    skipped = ([below] if below.count else []) + written.skipped
    entry.update(
        status="imported" if written.label_sets else "nothing",
        label_sets=written.label_sets,
        empty_label_sets=written.empty_label_sets,
        boxes=written.boxes,
        images=len(written.image_ids),
        raters=sorted(users),
        raters_created=made,
        classes_added=added,
        skipped=[s.as_dict() for s in skipped],
    )
    if not written.label_sets:
        entry["reason"] = "no label set of this file could be imported (see skipped)"
    return entry, written.image_ids


def _gold_unit_import(project, unit: LabelUnit, index, options, requested_by) -> tuple[dict, list]:
    """The unit's images made gold with its boxes (imports.gold), all or nothing. Nothing to
    assess after: gold answers are re-scored as the gold changes, and gold counts toward no
    agreement."""
    entry: dict = {"name": unit.name, "status": "refused"}
    if requested_by is None:
        entry["reason"] = "gold is set by a lead: name who imports it (manage.py import --user)."
        return entry, []
    sets = _unit_read(unit, entry)
    if sets is None:
        return entry, []
    counts = _class_counts(sets)
    try:
        with transaction.atomic():
            class_map, added = classes_resolve(
                project=project, counts=counts, unknown=options["unknown_classes"]
            )
            class_ids = np.array(
                [-1 if class_map.get(n) is None else class_map[n] for n in sets.labels],
                dtype=np.int64,
            )
            written = gold_sets_write(
                project=project, sets=sets, images=index, class_ids=class_ids, user=requested_by
            )
    except UnknownClasses as exc:
        entry.update(reason=str(exc), unknown_classes=exc.counts)
        return entry, []
    except GoldRefused as exc:
        entry["reason"] = f"nothing of this file was imported: {exc}"
        return entry, []
    except DatabaseError as exc:
        entry["reason"] = f"the database refused the file's gold, nothing was written ({exc})"
        return entry, []
    images = len(written.image_ids)
    entry.update(
        status="imported" if images else "nothing",
        gold_images=images,
        gold_created=written.created,
        gold_changed=written.changed,
        gold_unchanged=written.unchanged,
        boxes=written.boxes,
        images=images,
        classes_added=added,
        skipped=[s.as_dict() for s in written.skipped],
    )
    if not images:
        entry["reason"] = "no image of this file could be made gold (see skipped)"
    return entry, []


def _unit_read(unit: LabelUnit, entry: dict):
    """The unit's label sets, with what was refused of it noted in ``entry``; None (and the
    reason in ``entry``) if the file cannot be read at all."""
    try:
        sets, refused_files = unit.read()
    except (LabelFileError, RefusedFile) as exc:
        entry["reason"] = str(exc)
        return None
    entry["refused_files"] = [{"name": n, "reason": r} for n, r in refused_files[:LISTED]]
    entry["refused_file_count"] = len(refused_files)
    entry["notes"] = sets.notes
    return sets


def _class_counts(sets) -> dict[str, int]:
    """Boxes per class name in the file (what classes_resolve asks about unknown ones)."""
    if not sets.box_count:
        return {}
    return dict(Counter(np.array(sets.labels, dtype=object)[sets.box_label].tolist()))


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _report(images: dict, entries: list[dict]) -> dict:
    imported = [e for e in entries if e["status"] == "imported"]
    return {
        "images": {
            "added": images["added"],
            "matched": images["matched"],
            "refused": images["refused"][:LISTED],
            "refused_count": len(images["refused"]),
        },
        "units": entries,
        "totals": {
            "units": len(entries),
            "imported": len(imported),
            "refused": sum(e["status"] == "refused" for e in entries),
            "label_sets": sum(e.get("label_sets", 0) for e in entries),
            "empty_label_sets": sum(e.get("empty_label_sets", 0) for e in entries),
            "boxes": sum(e.get("boxes", 0) for e in entries),
            "classes_added": sorted({c for e in entries for c in e.get("classes_added", [])}),
            "raters_created": sorted({r for e in entries for r in e.get("raters_created", [])}),
            "gold_images": sum(e.get("gold_images", 0) for e in entries),
            "gold_created": sum(e.get("gold_created", 0) for e in entries),
            "gold_changed": sum(e.get("gold_changed", 0) for e in entries),
        },
    }


def _assess(project: Project, image_ids: list[int], fmt: str, run: AgreementRun) -> int | None:
    """Assess what was imported: labels through a project recompute (its run id returned);
    a model's predictions compared with the stored consensus now, chunk by chunk."""
    if fmt != "predictions":
        with transaction.atomic():
            assessment = recompute_start(
                project=project,
                requested_by=run.requested_by,
                reason=f"Assess the labels of import {run.pk}",
            )
        return assessment.pk
    _progress(run, params={"phase": "comparing"})
    for start in range(0, len(image_ids), COMPARE_CHUNK):
        with transaction.atomic():
            touched = model_comparisons_refresh(
                project_id=project.pk, image_ids=image_ids[start : start + COMPARE_CHUNK]
            )
            image_open_flag_counts_refresh(image_ids=sorted(touched))
    with transaction.atomic():
        project_figures_stale(project_id=project.pk)
    return None
