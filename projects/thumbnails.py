"""Small JPEG previews of project images for the image browser, made on first request and kept
in the media storage beside the images (thumbs/<project>/<sha256>.jpg). Images are immutable
(stored by content hash), so a thumbnail never goes stale; deleting an image deletes it."""

import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from PIL import ImageOps

from projects.models import Image
from projects.storage import media_delete_quietly

THUMBNAIL_SIZE = 320  # pixels, the longer side; the browser shows them at up to ~220 px wide


def thumbnail_name(*, project_id: int, sha256: str) -> str:
    return f"thumbs/{project_id}/{sha256[:2]}/{sha256}_{THUMBNAIL_SIZE}.jpg"


def thumbnail_ensure(*, image: Image) -> str:
    """The storage name of the image's thumbnail, made now if missing (from the image file,
    wherever it is stored)."""
    name = thumbnail_name(project_id=image.project_id, sha256=image.sha256)
    if not default_storage.exists(name):
        with image.file.open("rb") as source:
            data = _thumbnail_bytes(source)
        if not default_storage.exists(name):  # another request may have made it meanwhile
            default_storage.save(name, ContentFile(data))
    return name


def _thumbnail_bytes(source) -> bytes:
    with PILImage.open(source) as picture:
        picture.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))  # JPEG: decode at a lower scale
        # Uploads are stored upright; an image registered in place may still carry its EXIF
        # orientation, which browsers apply: so does its thumbnail.
        picture = ImageOps.exif_transpose(picture).convert("RGB")
        picture.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=78, optimize=True)
    return out.getvalue()


def thumbnail_delete(*, project_id: int, sha256: str) -> None:
    media_delete_quietly(thumbnail_name(project_id=project_id, sha256=sha256))
