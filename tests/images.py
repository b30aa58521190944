"""Real image bytes for ingest tests, made with Pillow."""

import io
import zipfile

from PIL import Image


def jpeg_bytes(width=64, height=48, color=(200, 30, 30), exif_orientation=None) -> bytes:
    image = Image.new("RGB", (width, height), color)
    # A distinct pattern so perceptual hashes differ between test images.
    for x in range(0, width, 8):
        for y in range(0, height, 8):
            if (x // 8 + y // 8) % 2:
                image.putpixel((x, y), (0, 0, 0))
    buffer = io.BytesIO()
    if exif_orientation is None:
        image.save(buffer, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png_bytes(width=32, height=32, color=(0, 128, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
