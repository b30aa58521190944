"""Objects put straight into the test bucket, as a team's own pipeline would have left them."""

import io

from PIL import Image as PILImage

from tests.images import jpeg_bytes
from tests.s3_server import BUCKET


def put(s3_media, key: str, data: bytes) -> None:
    s3_media.put_object(Bucket=BUCKET, Key=key, Body=data)


def distinct_jpeg(n: int, width: int = 96, height: int = 64) -> bytes:
    """A JPEG unlike the others (its own pattern, so hashes and perceptual hashes differ)."""
    image = PILImage.new("RGB", (width, height), ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
    for x in range(0, width, 4):
        for y in range(0, height, 4):
            if (x * (n + 3) + y * (n + 7)) % 11 < 4:
                image.putpixel((x, y), (255 - x % 256, y % 256, (x * y) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("P", (20, 20)).save(buffer, "GIF")
    return buffer.getvalue()


__all__ = ["put", "distinct_jpeg", "gif_bytes", "jpeg_bytes"]
