"""What every writer shares: coalescing small pieces into large chunks, and image bytes."""

from collections.abc import Iterable, Iterator

from django.core.files.storage import default_storage

CHUNK_BYTES = 1 << 16


def coalesce(pieces: Iterable[str | bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Join small str/bytes pieces into chunks of about `size` bytes (fewer, larger writes)."""
    buffer: list[bytes] = []
    held = 0
    for piece in pieces:
        if isinstance(piece, str):
            piece = piece.encode("utf-8")
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield b"".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield b"".join(buffer)


def image_bytes(storage_name: str) -> bytes:
    """The stored image file (at most UPLOAD_MAX_BYTES), for include_images=1."""
    with default_storage.open(storage_name, "rb") as handle:
        return handle.read()


def stem(file_name: str) -> str:
    return file_name.rpartition(".")[0] or file_name
