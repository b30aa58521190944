import io

import pytest
from PIL import Image as PILImage

from projects.ingest import images_ingest
from projects.models import Image
from tests.images import jpeg_bytes, png_bytes, zip_bytes


def ingest(project, *named_bytes):
    return images_ingest(project=project, files=[(n, io.BytesIO(b)) for n, b in named_bytes])


def test_good_jpeg_is_stored_with_size_hashes_and_file(project):
    (result,) = ingest(project, ("street.jpg", jpeg_bytes(64, 48)))
    assert result.status == "added"
    image = Image.objects.get(pk=result.image_id)
    assert (image.width, image.height) == (64, 48)
    assert len(image.sha256) == 64 and image.phash is not None
    assert image.original_name == "street.jpg"
    with image.file.open("rb") as stored:
        assert PILImage.open(stored).size == (64, 48)


def test_exif_rotated_jpeg_is_stored_upright_with_swapped_size(project):
    # Orientation 6: the camera was turned 90 degrees; the labeler sees a 48x64 portrait.
    (result,) = ingest(project, ("portrait.jpg", jpeg_bytes(64, 48, exif_orientation=6)))
    assert result.ok
    image = Image.objects.get(pk=result.image_id)
    assert (image.width, image.height) == (48, 64)
    with image.file.open("rb") as stored:
        pil = PILImage.open(stored)
        assert pil.size == (48, 64)
        assert pil.getexif().get(0x0112, 1) == 1


def test_png_and_webp_are_accepted(project):
    buffer = io.BytesIO()
    PILImage.new("RGB", (20, 10), (1, 2, 3)).save(buffer, "WEBP")
    results = ingest(project, ("a.png", png_bytes()), ("b.webp", buffer.getvalue()))
    assert [r.status for r in results] == ["added", "added"]


def test_truncated_jpeg_is_refused_and_nothing_is_stored(project, settings):
    data = jpeg_bytes(256, 256)
    (result,) = ingest(project, ("cut.jpg", data[: len(data) // 2]))
    assert result.status == "refused"
    assert "truncated" in result.reason or "damaged" in result.reason
    assert not Image.objects.exists()
    assert (
        not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))
        if settings.MEDIA_ROOT.exists()
        else True
    )


def test_text_file_named_jpg_is_refused_with_reason(project):
    (result,) = ingest(project, ("notes.jpg", b"this is not an image at all"))
    assert result.status == "refused"
    assert "not an image" in result.reason
    assert not Image.objects.exists()


def test_empty_file_is_refused(project):
    (result,) = ingest(project, ("empty.png", b""))
    assert result.status == "refused" and "empty" in result.reason


def test_gif_is_refused_as_unsupported_format(project):
    buffer = io.BytesIO()
    PILImage.new("P", (8, 8)).save(buffer, "GIF")
    (result,) = ingest(project, ("anim.gif", buffer.getvalue()))
    assert result.status == "refused" and "GIF" in result.reason


def test_decompression_bomb_is_refused_before_decoding(project, settings):
    settings.UPLOAD_MAX_PIXELS = 10_000
    (result,) = ingest(project, ("huge.png", png_bytes(200, 200)))
    assert result.status == "refused"
    assert "megapixels" in result.reason
    assert not Image.objects.exists()


def test_file_over_the_byte_limit_is_refused(project, settings):
    settings.UPLOAD_MAX_BYTES = 2048
    (result,) = ingest(project, ("big.jpg", jpeg_bytes(400, 400)))
    assert result.status == "refused" and "limit" in result.reason


def test_same_file_twice_is_reported_as_duplicate_not_added(project):
    data = jpeg_bytes()
    first, second = ingest(project, ("one.jpg", data), ("again.jpg", data))
    assert first.status == "added"
    assert second.status == "duplicate"
    assert "one.jpg" in second.reason
    assert Image.objects.count() == 1


def test_zip_entries_are_ingested_each_with_a_result(project):
    archive = zip_bytes(
        {
            "frames/a.jpg": jpeg_bytes(color=(10, 10, 10)),
            "frames/b.png": png_bytes(),
            "frames/readme.txt": b"hello",
            "__MACOSX/._a.jpg": b"junk",
        }
    )
    results = ingest(project, ("batch.zip", archive))
    by_name = {r.name: r.status for r in results}
    assert by_name == {
        "batch.zip/frames/a.jpg": "added",
        "batch.zip/frames/b.png": "added",
        "batch.zip/frames/readme.txt": "refused",
    }
    assert Image.objects.count() == 2


@pytest.mark.parametrize("evil", ["../escape.jpg", "a/../../escape.jpg", "/etc/escape.jpg"])
def test_zip_with_path_traversal_entries_is_refused(project, evil):
    archive = zip_bytes({evil: jpeg_bytes(), "ok.jpg": png_bytes()})
    results = ingest(project, ("evil.zip", archive))
    statuses = {r.name: (r.status, r.reason) for r in results}
    assert statuses[f"evil.zip/{evil}"][0] == "refused"
    assert "unsafe path" in statuses[f"evil.zip/{evil}"][1]
    assert statuses["evil.zip/ok.jpg"][0] == "added"
    assert Image.objects.count() == 1


def test_zip_bomb_entry_is_refused_without_unpacking_it_all(project, settings):
    settings.UPLOAD_MAX_BYTES = 100_000
    archive = zip_bytes({"bomb.png": b"\0" * 5_000_000})  # compresses to a few KB
    assert len(archive) < 50_000
    (result,) = ingest(project, ("bomb.zip", archive))
    assert result.status == "refused" and "limit" in result.reason


def test_corrupt_zip_is_refused(project):
    (result,) = ingest(project, ("broken.zip", b"PK\x03\x04 not really a zip"))
    assert result.status == "refused" and "zip" in result.reason
