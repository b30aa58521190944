"""Image ingest: single files or zips in, stored upright images out, with a result per file.

Every file is checked by Pillow (JPEG, PNG and WebP only), bounded in bytes and pixels, turned
upright by its EXIF orientation (so width/height are what the labeler sees), and stored with its
SHA-256 and perceptual hash. A refused file leaves nothing behind: the file on disk is removed if
its row cannot be written.
"""

import hashlib
import io
import logging
import posixpath
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

import imagehash
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from projects.models import Image, Project
from quality.enqueue import project_figures_stale

log = logging.getLogger(__name__)

ACCEPTED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class IngestResult:
    name: str
    status: str  # "added", "duplicate" or "refused"
    reason: str = ""
    image_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "added"


class RefusedFile(Exception):
    """A file that cannot be ingested; the message says why, in words a person can act on."""


def images_ingest(*, project: Project, files: Iterable[tuple[str, BinaryIO]]) -> list[IngestResult]:
    """Ingest (name, file object) pairs; zips are opened and each entry ingested on its own.

    Returns one result per image file (and per refused zip entry) in input order.
    """
    results: list[IngestResult] = []
    for name, fileobj in files:
        if name.lower().endswith(".zip"):
            results.extend(_ingest_zip(project, name, fileobj))
            continue
        try:
            data = read_bounded(fileobj, settings.UPLOAD_MAX_BYTES)
        except RefusedFile as refused:
            results.append(IngestResult(name, "refused", str(refused)))
            continue
        results.append(image_ingest_bytes(project=project, name=name, data=data))
    if any(result.ok for result in results):
        project_figures_stale(project_id=project.pk)  # the report's progress counts them
    return results


def image_ingest_bytes(*, project: Project, name: str, data: bytes) -> IngestResult:
    """Check, orient, hash and store one image file's bytes."""
    try:
        prepared = _prepare(data)
    except RefusedFile as refused:
        return IngestResult(name, "refused", str(refused))
    sha256 = hashlib.sha256(data).hexdigest()
    existing = (
        Image.objects.filter(project=project, sha256=sha256).values_list("original_name", flat=True)
    ).first()
    if existing is not None:
        return IngestResult(
            name, "duplicate", f"the same file is already in the project as {existing}"
        )
    image = Image(
        project=project,
        original_name=name[:500],
        width=prepared.width,
        height=prepared.height,
        sha256=sha256,
        phash=prepared.phash,
    )
    try:
        with transaction.atomic():
            image.file.save(f"{sha256}{prepared.extension}", ContentFile(prepared.data), save=False)
            image.save()
    except IntegrityError:
        _delete_stored(image)
        return IngestResult(name, "duplicate", "the same file was uploaded twice at once")
    except Exception:
        _delete_stored(image)
        raise
    return IngestResult(name, "added", image_id=image.pk)


@dataclass(frozen=True)
class _Prepared:
    data: bytes
    extension: str
    width: int
    height: int
    phash: int


def image_file_check(data: bytes) -> _Prepared:
    """Check and orient one image file's bytes as an upload into the project would (raises
    RefusedFile with the reason): for images that are not labeled, such as instruction assets."""
    return _prepare(data)


def _prepare(data: bytes) -> _Prepared:
    if not data:
        raise RefusedFile("the file is empty")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise RefusedFile(_too_big(len(data)))
    max_pixels = settings.UPLOAD_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow warns past ~89 MP; Concord's own limit (checked below, from the header only,
            # before any pixel is decoded) decides, and says the size and the limit.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            probe = PILImage.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise RefusedFile(
                    f"{probe.format or 'this'} files are not accepted; use JPEG, PNG or WebP"
                )
            pixels = probe.width * probe.height
            if pixels > max_pixels:
                raise RefusedFile(
                    f"the image is {probe.width}x{probe.height} ({pixels / 1e6:.1f} megapixels); "
                    f"the limit is {max_pixels / 1e6:.1f} megapixels"
                )
            probe.verify()
            image = PILImage.open(io.BytesIO(data))
            image.load()
    except RefusedFile:
        raise
    except PILImage.DecompressionBombError:
        limit = max_pixels / 1e6
        raise RefusedFile(
            f"the image has more than {2 * PILImage.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, far over "
            f"the limit of {limit:.1f} megapixels (refused as a decompression bomb)"
        ) from None
    except UnidentifiedImageError:
        raise RefusedFile("this is not an image Concord can read; use JPEG, PNG or WebP") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise RefusedFile(f"the image is damaged or truncated ({exc})") from None

    file_format = image.format
    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    if orientation not in (1, None):
        # Store the image upright so every pixel coordinate means what the labeler saw.
        image = ImageOps.exif_transpose(image)
        data = _encode(image, file_format)
    hash_bits = imagehash.phash(image).hash.flatten()
    unsigned = int("".join("1" if bit else "0" for bit in hash_bits), 2)
    signed = unsigned - (1 << 64) if unsigned >= (1 << 63) else unsigned
    return _Prepared(data, ACCEPTED_FORMATS[file_format], image.width, image.height, signed)


def _encode(image: PILImage.Image, file_format: str) -> bytes:
    buffer = io.BytesIO()
    if file_format == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=95)
    else:
        image.save(buffer, file_format)
    return buffer.getvalue()


def _ingest_zip(project: Project, name: str, fileobj: BinaryIO) -> list[IngestResult]:
    try:
        archive = zipfile.ZipFile(fileobj)
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        return [IngestResult(name, "refused", f"not a readable zip file ({exc})")]
    if len(entries) > settings.UPLOAD_ZIP_MAX_FILES:
        return [
            IngestResult(
                name,
                "refused",
                f"the zip holds {len(entries)} files; the limit is {settings.UPLOAD_ZIP_MAX_FILES}",
            )
        ]
    results = []
    unpacked = 0
    for info in entries:
        entry_name = f"{name}/{info.filename}"
        if is_junk_file(info.filename):
            continue
        if not zip_member_is_safe(info.filename):
            results.append(
                IngestResult(entry_name, "refused", "unsafe path in the zip (absolute or with ..)")
            )
            continue
        if info.file_size > settings.UPLOAD_MAX_BYTES:
            results.append(IngestResult(entry_name, "refused", _too_big(info.file_size)))
            continue
        if unpacked + info.file_size > settings.UPLOAD_ZIP_MAX_BYTES:
            results.append(
                IngestResult(entry_name, "refused", "the zip unpacks to more than the size limit")
            )
            continue
        try:
            with archive.open(info) as member:
                # Never trust the declared size: read at most the limit plus one byte.
                data = read_bounded(member, settings.UPLOAD_MAX_BYTES)
        except RefusedFile as refused:
            results.append(IngestResult(entry_name, "refused", str(refused)))
            continue
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            results.append(
                IngestResult(entry_name, "refused", f"cannot be read from the zip ({exc})")
            )
            continue
        unpacked += len(data)
        results.append(image_ingest_bytes(project=project, name=entry_name, data=data))
    return results


def read_bounded(fileobj: BinaryIO, limit: int) -> bytes:
    data = fileobj.read(limit + 1)
    if len(data) > limit:
        raise RefusedFile(_too_big(len(data), at_least=True))
    return data


def _too_big(size: int, *, at_least: bool = False) -> str:
    limit_mb = settings.UPLOAD_MAX_BYTES / (1024 * 1024)
    prefix = "more than " if at_least else ""
    return f"the file is {prefix}{size / (1024 * 1024):.1f} MB; the limit is {limit_mb:.1f} MB"


def zip_member_is_safe(filename: str) -> bool:
    if filename.startswith(("/", "\\")) or (len(filename) > 1 and filename[1] == ":"):
        return False
    parts = posixpath.normpath(filename.replace("\\", "/")).split("/")
    return ".." not in parts and ".." not in filename.replace("\\", "/").split("/")


def is_junk_file(filename: str) -> bool:
    base = posixpath.basename(filename)
    return filename.startswith("__MACOSX/") or base.startswith(".")


def _delete_stored(image: Image) -> None:
    if image.file and image.file.name:
        try:
            image.file.storage.delete(image.file.name)
        except OSError:
            log.warning("could not remove %s after a failed ingest", image.file.name)
