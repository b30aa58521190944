"""Registering images already in the bucket, in place: nothing is copied, an image's file is the
object's own key.

A registration is a run (quality.AgreementRun of kind "register") whose progress reads at
/api/runs/{id}/. A listing task takes the prefix (or the manifest) a page at a time
(registration_list_page): each candidate object becomes a RegistrationObject, pending, and
chunks of REGISTER_CHUNK_SIZE of them go to the workers, which examine objects in parallel
(registration_chunk): the size from the listing, the format and dimensions from the first
HEAD_BYTES (a ranged GET; a file too big, of another format or over the pixel limit is refused
without reading the rest), then the rest of the bytes for the SHA-256 and the checks and
perceptual hash of an upload (projects.ingest.image_file_check): what an upload refuses, a
registration refuses, with the same reason.

Resumable: the listing stores the last key it took (S3 lists in key order) in the run, and
objects are pending until a worker stores their outcome under a row lock, so a chunk delivered
twice does nothing twice, and registrations_resume_claim (Celery beat) finds the work of a run
that went silent (a killed worker, a lost message) for projects.tasks to send again. Services
here enqueue nothing: projects.enqueue starts a registration, projects.tasks send the rest. Registering the same prefix again later skips
what the project already has and takes the rest.
"""

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image as PILImage
from storages.utils import clean_name

from projects import storage
from projects.ingest import ACCEPTED_FORMATS, RefusedFile, image_file_check
from projects.manifest import ManifestError, manifest_keys
from projects.models import Image, Project, RegistrationObject

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# Enough for the header of nearly every JPEG (EXIF before the frame header), PNG and WebP: the
# format and dimensions are read from it; the rest of the object is one more ranged GET.
HEAD_BYTES = 64 * 1024
LIST_PAGE = 1000  # S3's largest page
MANIFEST_MAX_BYTES = 32 * 1024 * 1024
COUNTS = ("added", "duplicate", "refused", "skipped", "already")


class RegistrationRefused(ValueError):
    """A registration that cannot start; the message says why, in words a person can act on."""


class BucketUnavailable(RegistrationRefused):
    """The bucket could not be read (unreachable, credentials refused, no such bucket)."""


def _run_model():
    from quality.models import AgreementRun

    return AgreementRun


def registration_start(*, project: Project, requested_by, prefix: str, manifest: str = ""):
    """Check the request against the bucket and create a registration run (its listing is
    enqueued by projects.enqueue.registration_enqueue). A registration of the project still
    running is replaced (its objects not yet examined are left: the new run lists them again)."""
    AgreementRun = _run_model()
    if not storage.media_is_remote():
        raise RegistrationRefused(
            "Registering images in place needs object storage: start Concord with "
            "MEDIA_STORAGE=s3 and the bucket's AWS_* settings."
        )
    prefix = (prefix or "").lstrip("/")
    manifest = (manifest or "").lstrip("/")
    if prefix.startswith(storage.OWN_FOLDERS):
        raise RegistrationRefused(
            f"{prefix} is inside Concord's own folders ({', '.join(storage.OWN_FOLDERS)}); "
            "register the images where your team keeps them."
        )
    bucket = storage.bucket_name()
    total_hint = None
    try:
        if manifest:
            total_hint = len(_manifest_read(manifest))
        elif not storage.objects_page(prefix=prefix, limit=1)[0]:
            where = f"under {prefix}" if prefix else "in it"
            raise RegistrationRefused(f"The bucket {bucket} has no objects {where}.")
    except storage.STORAGE_ERRORS as error:
        raise BucketUnavailable(f"Concord could not read the bucket {bucket}: {error}") from None
    now = timezone.now()
    with transaction.atomic():
        AgreementRun.objects.filter(
            project=project,
            kind=AgreementRun.Kind.REGISTER,
            state__in=[AgreementRun.State.PENDING, AgreementRun.State.RUNNING],
        ).update(
            state=AgreementRun.State.FAILED,
            finished_at=now,
            error="Replaced by a newer registration of the project.",
        )
        source = f"{manifest} in " if manifest else ""
        run = AgreementRun.objects.create(
            project=project,
            kind=AgreementRun.Kind.REGISTER,
            requested_by=requested_by,
            reason=f"Register {source}s3://{bucket}/{prefix}"[:200],
            state=AgreementRun.State.RUNNING,
            started_at=now,
            heartbeat_at=now,
            params={
                "bucket": bucket,
                "prefix": prefix,
                "manifest": manifest,
                "manifest_keys": total_hint,
                "after": 0 if manifest else "",
                "listed": False,
                "counts": dict.fromkeys(COUNTS, 0),
            },
        )
    return run


def _manifest_read(manifest: str) -> list[str]:
    try:
        data = storage.object_read(manifest, limit=MANIFEST_MAX_BYTES)
    except FileNotFoundError:
        raise RegistrationRefused(f"The manifest {manifest} is not in the bucket.") from None
    except ValueError as error:
        raise RegistrationRefused(f"The manifest is too large: {error}.") from None
    try:
        return manifest_keys(manifest, data)
    except ManifestError as error:
        raise RegistrationRefused(f"{error}.") from None


def _key_under(prefix: str, entry: str) -> str:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix + entry


def _name_of(prefix: str, key: str) -> str:
    """The image's name: the key below the prefix's folder."""
    folder = prefix.rpartition("/")[0]
    name = key[len(folder) + 1 :] if folder and key.startswith(folder + "/") else key
    return name[:500]


# Listing


@dataclass
class Listed:
    """What listing found: the new pending objects (their ids, for the workers), and whether
    more remain to be listed."""

    pending: list[int]
    more: bool


def registration_list(*, run_id: int, pages: int) -> Listed:
    """List up to ``pages`` pages of the run's objects (registration_list_page)."""
    manifest: list[str] = []
    listed = Listed([], True)
    for _ in range(pages):
        page = registration_list_page(run_id=run_id, manifest=manifest)
        listed.pending += page.pending
        listed.more = page.more
        if not page.more:
            break
    return listed


def registration_list_page(*, run_id: int, manifest: list[str] | None = None) -> Listed:
    """List one page of the run's objects and store them as pending (its own transaction).
    ``manifest``: the manifest's keys when read already (an empty list is filled). The caller
    sends the pending objects to the workers in chunks."""
    AgreementRun = _run_model()
    run = AgreementRun.objects.filter(pk=run_id, kind=AgreementRun.Kind.REGISTER).first()
    if run is None or run.state != AgreementRun.State.RUNNING or run.params.get("listed"):
        return Listed([], False)
    params = run.params
    after = params["after"]
    if params["manifest"]:
        if not manifest:
            manifest = manifest if manifest is not None else []
            manifest.extend(_manifest_read(params["manifest"]))
        keys = manifest
        page = [(_key_under(params["prefix"], k), None) for k in keys[after : after + LIST_PAGE]]
        more, next_after = after + LIST_PAGE < len(keys), after + len(page)
    else:
        page, more = storage.objects_page(
            prefix=params["prefix"], start_after=after, limit=LIST_PAGE
        )
        next_after = page[-1][0] if page else after
    candidates, refused, skipped = _candidates(params, page)
    have = set(
        Image.objects.filter(
            project_id=run.project_id, file__in=[key for key, _ in candidates]
        ).values_list("file", flat=True)
    )
    with transaction.atomic():
        run = AgreementRun.objects.select_for_update().get(pk=run_id)
        if run.state != AgreementRun.State.RUNNING or run.params.get("after") != after:
            return Listed([], False)  # replaced, or listed meanwhile by a copy of this task
        room = settings.REGISTER_MAX_OBJECTS - run.total
        rows = [
            RegistrationObject(run=run, key=key, name=_name_of(params["prefix"], key), size=size)
            for key, size in candidates
            if key not in have
        ] + [
            RegistrationObject(
                run=run,
                key=key,
                name=_name_of(params["prefix"], key),
                size=size,
                status=RegistrationObject.Status.REFUSED,
                reason=reason,
            )
            for key, size, reason in refused
        ]
        if len(rows) > room:
            rows, more = rows[: max(room, 0)], False
            run.params["limit_reached"] = settings.REGISTER_MAX_OBJECTS
        created = RegistrationObject.objects.bulk_create(rows)
        counts = run.params["counts"]
        counts["skipped"] += skipped
        counts["already"] += len(candidates) - sum(1 for key, _ in candidates if key not in have)
        counts["refused"] += len(refused)
        run.params.update(after=next_after, listed=not more)
        run.total += len(created)
        run.done += len(refused)
        run.heartbeat_at = timezone.now()
        _finish_if_complete(run)
        run.save(update_fields=["params", "total", "done", "heartbeat_at", "state", "finished_at"])
    pending = [row.pk for row in created if row.status == RegistrationObject.Status.PENDING]
    return Listed(pending, more)


def _candidates(params: dict, page: list[tuple[str, int | None]]):
    """(candidates [(key, size)], refused at listing [(key, size, reason)], skipped count)."""
    from_manifest = bool(params["manifest"])
    candidates, refused, skipped = [], [], 0
    for key, size in page:
        if key.endswith("/") or key.startswith(storage.OWN_FOLDERS):
            skipped += 1  # a folder marker, or Concord's own files
        elif not from_manifest and not key.lower().endswith(IMAGE_SUFFIXES):
            skipped += 1  # labels, notes and the like beside the images
        elif len(key.encode()) > 1024 or clean_name(key) != key:
            refused.append(
                (key, size, "its key has empty, . or .. parts, which Concord cannot serve")
            )
        else:
            candidates.append((key, size))
    return candidates, refused, skipped


def _finish_if_complete(run) -> None:
    """Mark the run succeeded once everything is listed and examined (run locked by caller)."""
    if run.params.get("listed") and run.done >= run.total:
        run.state = run.State.SUCCEEDED
        run.finished_at = timezone.now()


def object_chunks(object_ids: list[int]) -> list[tuple[int, int]]:
    """[first id, last id] of each chunk of REGISTER_CHUNK_SIZE objects, for the workers."""
    size = settings.REGISTER_CHUNK_SIZE
    return [
        (object_ids[i], object_ids[min(i + size, len(object_ids)) - 1])
        for i in range(0, len(object_ids), size)
    ]


# Examining objects (workers)


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str = ""
    width: int = 0
    height: int = 0
    sha256: str = ""
    phash: int | None = None


def _refused(reason: str) -> Outcome:
    return Outcome(RegistrationObject.Status.REFUSED, reason)


def object_examine(key: str, size: int | None) -> Outcome:
    """Read and check one object as an upload is checked. Raises on a transient storage error
    (after retries) so the chunk is retried; anything about the object itself is a refusal."""
    limit = settings.UPLOAD_MAX_BYTES
    if size is not None and size > limit:
        return _refused(_too_big(size))
    try:
        head, total = storage.object_range(key, start=0, limit=HEAD_BYTES)
    except FileNotFoundError:
        return _refused("the object is no longer in the bucket")
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
        if status >= 500:
            raise
        return _refused(f"the bucket refused to give it ({error.response['Error'].get('Code')})")
    if not head:
        return _refused("the file is empty")
    if total > limit:
        return _refused(_too_big(total))
    refusal = _header_refusal(head)
    if refusal:
        return _refused(refusal)
    data = head
    if total > len(head):
        rest, _ = storage.object_range(key, start=len(head), limit=total - len(head))
        data = head + rest
    try:
        prepared = image_file_check(data)
    except RefusedFile as refused:
        return _refused(str(refused))
    except Exception as error:  # noqa: BLE001 - a decoder's own error: this file, not the run
        log.warning("registration: %s could not be decoded", key, exc_info=True)
        return _refused(f"the image could not be read ({type(error).__name__})")
    return Outcome(
        RegistrationObject.Status.ADDED,
        width=prepared.width,
        height=prepared.height,
        sha256=hashlib.sha256(data).hexdigest(),
        phash=prepared.phash,
    )


def _too_big(size: int) -> str:
    limit = settings.UPLOAD_MAX_BYTES / (1024 * 1024)
    return f"the file is {size / (1024 * 1024):.1f} MB; the limit is {limit:.1f} MB"


def _header_refusal(head: bytes) -> str | None:
    """What the header alone refuses (format, pixels), or None: also when the header does not
    fit in HEAD_BYTES, and the whole file's check decides."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            probe = PILImage.open(io.BytesIO(head))
            if probe.format not in ACCEPTED_FORMATS:
                return f"{probe.format or 'this'} files are not accepted; use JPEG, PNG or WebP"
            pixels, limit = probe.width * probe.height, settings.UPLOAD_MAX_PIXELS
            if pixels > limit:
                return (
                    f"the image is {probe.width}x{probe.height} ({pixels / 1e6:.1f} megapixels); "
                    f"the limit is {limit / 1e6:.1f} megapixels"
                )
    except PILImage.DecompressionBombError:
        return None  # the whole file's check says it, in an upload's words
    except Exception:  # noqa: BLE001 - a header cut short: the whole file decides
        return None
    return None


def registration_chunk(*, run_id: int, first_id: int, last_id: int) -> int:
    """Examine the run's pending objects with ids in [first_id, last_id] and store the
    outcomes; returns how many this call settled (0 when a copy of the chunk did them)."""
    AgreementRun = _run_model()
    updated = AgreementRun.objects.filter(
        pk=run_id, kind=AgreementRun.Kind.REGISTER, state=AgreementRun.State.RUNNING
    ).update(heartbeat_at=timezone.now())
    if not updated:
        return 0
    rows = list(
        RegistrationObject.objects.filter(
            run_id=run_id,
            pk__gte=first_id,
            pk__lte=last_id,
            status=RegistrationObject.Status.PENDING,
        ).values_list("pk", "key", "size")
    )
    outcomes = {pk: object_examine(key, size) for pk, key, size in rows}
    return _outcomes_store(run_id=run_id, outcomes=outcomes)


@transaction.atomic
def _outcomes_store(*, run_id: int, outcomes: dict[int, Outcome]) -> int:
    AgreementRun = _run_model()
    run = AgreementRun.objects.select_for_update().get(pk=run_id)
    if run.state != AgreementRun.State.RUNNING:
        return 0
    rows = list(
        RegistrationObject.objects.select_for_update().filter(
            pk__in=list(outcomes), status=RegistrationObject.Status.PENDING
        )
    )
    added = [o.sha256 for o in outcomes.values() if o.status == RegistrationObject.Status.ADDED]
    known = dict(
        Image.objects.filter(project_id=run.project_id, sha256__in=added).values_list(
            "sha256", "original_name"
        )
    )
    counts = run.params["counts"]
    for row in sorted(rows, key=lambda r: r.pk):
        outcome = outcomes[row.pk]
        row.status, row.reason = outcome.status, outcome.reason[:500]
        if outcome.status == RegistrationObject.Status.ADDED:
            if outcome.sha256 in known:
                row.status = RegistrationObject.Status.DUPLICATE
                row.reason = f"the same file is already in the project as {known[outcome.sha256]}"
            else:
                row.image = _image_insert(run.project_id, row, outcome)
                if row.image is None:
                    row.status = RegistrationObject.Status.DUPLICATE
                    row.reason = "the same file was registered twice at once"
                else:
                    known[outcome.sha256] = row.name
        counts[row.status] += 1
    RegistrationObject.objects.bulk_update(rows, ["status", "reason", "image"])
    run.done = F("done") + len(rows)
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["params", "done", "heartbeat_at"])
    run.refresh_from_db(fields=["done"])
    _finish_if_complete(run)
    if run.state == AgreementRun.State.SUCCEEDED:
        run.save(update_fields=["state", "finished_at"])
    return len(rows)


def _image_insert(project_id: int, row: RegistrationObject, outcome: Outcome) -> Image | None:
    image = Image(
        project_id=project_id,
        original_name=row.name,
        width=outcome.width,
        height=outcome.height,
        sha256=outcome.sha256,
        phash=outcome.phash,
    )
    image.file.name = row.key
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        return None
    return image


# Resuming


@dataclass
class Resumed:
    """A silent registration's work to send again: its listing if unfinished, and its pending
    objects."""

    run_id: int
    list_again: bool
    pending: list[int]


def registrations_resume_claim(*, now=None) -> list[Resumed]:
    """The work of registrations silent for REGISTER_STALLED_SECONDS (a killed worker, a lost
    message), each claimed (heartbeat now) so the next call leaves it to what is sent now. The
    caller sends it."""
    AgreementRun = _run_model()
    now = now or timezone.now()
    stalled = AgreementRun.objects.filter(
        kind=AgreementRun.Kind.REGISTER,
        state=AgreementRun.State.RUNNING,
        heartbeat_at__lt=now - timedelta(seconds=settings.REGISTER_STALLED_SECONDS),
    ).values_list("pk", flat=True)
    return [work for run_id in stalled if (work := _run_resume_claim(run_id=run_id, now=now))]


@transaction.atomic
def _run_resume_claim(*, run_id: int, now) -> Resumed | None:
    AgreementRun = _run_model()
    run = (
        AgreementRun.objects.select_for_update(skip_locked=True)
        .filter(pk=run_id, state=AgreementRun.State.RUNNING)
        .first()
    )
    if run is None:
        return None
    run.heartbeat_at = now
    run.save(update_fields=["heartbeat_at"])
    pending = list(
        RegistrationObject.objects.filter(
            run_id=run_id, status=RegistrationObject.Status.PENDING
        ).values_list("pk", flat=True)
    )
    log.info("resuming registration %s: %s objects pending", run_id, len(pending))
    return Resumed(run_id, not run.params.get("listed"), pending)
